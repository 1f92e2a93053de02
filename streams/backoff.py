"""The one backoff policy: wait longer after each failure in a row, up to a ceiling.

Used wherever the project waits for something to come back (ClickHouse refusing writes, the sink
or the retry agent starting again after an error, a partition sought back to a message no stream
took), so every such wait grows the same way and can be reasoned about in one place. A message's
own retries follow ``retry_policy`` instead: a schedule of retry topics, one delay each.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    """Delays ``first``, ``first * factor``, ... capped at ``ceiling``; ``reset`` after a success."""

    first: float = 0.5
    factor: float = 2.0
    ceiling: float = 30.0
    attempts: int = 0

    def next(self) -> float:
        """The delay before the next attempt (and count this failure)."""
        delay = min(self.ceiling, self.first * self.factor**self.attempts)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0
