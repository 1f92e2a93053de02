"""When a failed message is retried, when it is quarantined: the pure rules, no Kafka.

A stage that fails on a message asks ``decide``: permanent errors (bad input, named by the
``PagestreamError`` hierarchy) go to the dead-letter topic at once, as before; transient ones
(object store or registry unreachable, an engine that crashed or timed out, or an unexpected
exception, which may be one) are re-delivered after a backoff until ``max_attempts`` attempts
were made, then quarantined. The attempt number travels in a Kafka header of the re-delivered
message, so a first delivery (or a replay from the dead-letter topic) starts at attempt 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pagestream.streams.errors import InjectedFault, PagestreamError, TransientError
from pagestream.streams.settings import Settings
from pagestream.streams.topics import RETRY_TIERS, TopicSpec

ATTEMPT_HEADER = "pagestream-attempt"

# Object-store error codes (S3) that say "try again later" rather than "this is wrong".
_TRANSIENT_S3_CODES = {
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "RequestTimeout",
    "XMinioServerNotInitialized",
}
# Error codes of our own errors that depend on a dependency being up, not on the input.
_TRANSIENT_CODES = {"transient", "injected_fault"}


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff delays (one retry topic each) and the attempts allowed in all."""

    delays_s: tuple[float, ...]
    max_attempts: int

    def __post_init__(self) -> None:
        if not 1 <= len(self.delays_s) <= len(RETRY_TIERS) or any(d <= 0 for d in self.delays_s):
            raise ValueError(
                f"retry delays {self.delays_s}: give 1 to {len(RETRY_TIERS)} positive delays in seconds, e.g. 2,15,60"
            )
        if self.max_attempts < 1:
            raise ValueError(f"retry_max_attempts must be at least 1, not {self.max_attempts}")

    @classmethod
    def of(cls, settings: Settings) -> RetryPolicy:
        return cls(settings.retry_delays, settings.retry_max_attempts)

    def tier(self, attempt: int) -> int:
        """Index of the retry topic (and delay) after failed attempt ``attempt`` (1-based)."""
        return min(attempt, len(self.delays_s)) - 1

    def schedule(self) -> list[float]:
        """The delays before attempts 2..max_attempts (what an always-failing message waits)."""
        return [self.delays_s[self.tier(a)] for a in range(1, self.max_attempts)]


@dataclass(frozen=True)
class Decision:
    """What to do with a failed message: ``dead_letter`` (permanent, at once), ``retry`` (to
    ``topic`` until ``not_before``), or ``quarantine`` (transient, but out of attempts)."""

    action: str
    attempt: int
    retryable: bool
    topic: TopicSpec | None = None
    delay_ms: int = 0
    not_before_ms: int = 0


def is_retryable(error: BaseException) -> bool:
    """Whether an error may pass by itself. Our own errors are permanent unless they say
    otherwise; anything else (a connection error, a crashed pool, a timeout, a bug we do not
    know yet) is tried again, within the attempts allowed."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TransientError) or getattr(current, "code", None) in _TRANSIENT_CODES:
            return True
        if type(current).__name__ == "S3Error":
            return getattr(current, "code", None) in _TRANSIENT_S3_CODES
        current = current.__cause__
    # Our own errors name bad input; cancellation and exits are not failures of the message.
    return isinstance(error, Exception) and not isinstance(error, PagestreamError)


def decide(policy: RetryPolicy, error: BaseException, attempt: int, now_ms: int) -> Decision:
    """The fate of a message whose ``attempt``-th attempt failed with ``error``."""
    if not is_retryable(error):
        return Decision("dead_letter", attempt, False)
    if attempt >= policy.max_attempts:
        return Decision("quarantine", attempt, True)
    tier = policy.tier(attempt)
    delay_ms = int(policy.delays_s[tier] * 1000)
    return Decision("retry", attempt, True, RETRY_TIERS[tier], delay_ms, now_ms + delay_ms)


def attempt_of(headers: Mapping[str, Any] | None) -> int:
    """The attempt a delivered message is (1 without the header: a first delivery or a replay)."""
    raw = (headers or {}).get(ATTEMPT_HEADER)
    try:
        return max(1, int(raw.decode() if isinstance(raw, bytes) else raw))
    except (TypeError, ValueError):
        return 1


def is_due(not_before_ms: int, now_ms: int) -> bool:
    return not_before_ms <= now_ms


def inject_fault(settings: Settings, stage: str, tenant: str, attempt: int) -> None:
    """Fail on purpose when the ``faults`` setting asks for it: ``{"OCR:drill": 2}`` makes the
    first 2 attempts of every OCR message of tenant ``drill`` fail with a transient error."""
    failing = settings.faults.get(f"{stage}:{tenant}", 0)
    if attempt <= failing:
        raise InjectedFault(
            f"fault injected at {stage} for tenant {tenant} (setting faults): attempt {attempt} of {failing} failing"
        )
