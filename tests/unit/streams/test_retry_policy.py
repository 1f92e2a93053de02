"""The retry rules: which errors are retried, the backoff schedule, when a message is quarantined."""

from __future__ import annotations

import pytest
import urllib3
from minio.error import S3Error

from pagestream.connectors.objectstore import ObjectStoreError
from pagestream.streams import topics
from pagestream.streams.errors import InjectedFault, InvalidDocument, Quarantined, TransientError
from pagestream.streams.retry_policy import (
    ATTEMPT_HEADER,
    RetryPolicy,
    attempt_of,
    decide,
    inject_fault,
    is_retryable,
)
from pagestream.streams.settings import Settings

POLICY = RetryPolicy((2.0, 15.0, 60.0), max_attempts=4)


def s3_error(code: str) -> S3Error:
    return S3Error(None, code, "message", "resource", "request", "host")


def wrapped(cause: BaseException) -> ObjectStoreError:
    try:
        raise ObjectStoreError("cannot store s3://b/k") from cause
    except ObjectStoreError as exc:
        return exc


def test_bad_input_is_permanent_and_outages_are_transient() -> None:
    assert not is_retryable(InvalidDocument("corrupt", code="corrupt_pdf"))
    assert not is_retryable(ObjectStoreError("cannot read", code="object_missing"))
    assert not is_retryable(wrapped(s3_error("NoSuchKey")))
    assert not is_retryable(Quarantined("OCR", TransientError("down"), 4))
    assert is_retryable(wrapped(s3_error("ServiceUnavailable")))
    assert is_retryable(urllib3.exceptions.MaxRetryError(None, "http://127.0.0.1:9000/b", "refused"))
    assert is_retryable(TransientError("engine timed out"))
    assert is_retryable(InjectedFault("drill"))
    assert is_retryable(RuntimeError("engine crashed"))  # unknown: tried again, within the attempts


def test_backoff_schedule_uses_one_tier_per_delay_and_the_last_tier_after() -> None:
    assert POLICY.schedule() == [2.0, 15.0, 60.0]
    assert RetryPolicy((1.0,), max_attempts=4).schedule() == [1.0, 1.0, 1.0]
    assert RetryPolicy((1.0, 5.0, 9.0), max_attempts=6).schedule() == [1.0, 5.0, 9.0, 9.0, 9.0]
    first = decide(POLICY, TransientError("down"), attempt=1, now_ms=1_000)
    assert (first.action, first.topic, first.delay_ms, first.not_before_ms) == (
        "retry", topics.RETRY_TIERS[0], 2_000, 3_000
    )  # fmt: skip
    third = decide(POLICY, TransientError("down"), attempt=3, now_ms=1_000)
    assert (third.topic, third.not_before_ms) == (topics.RETRY_TIERS[2], 61_000)


def test_quarantine_after_the_last_attempt_and_bad_input_at_once() -> None:
    assert decide(POLICY, TransientError("down"), attempt=4, now_ms=0).action == "quarantine"
    assert decide(POLICY, TransientError("down"), attempt=9, now_ms=0).action == "quarantine"
    assert decide(RetryPolicy((1.0,), 1), TransientError("down"), attempt=1, now_ms=0).action == "quarantine"
    permanent = decide(POLICY, InvalidDocument("empty", code="empty_file"), attempt=1, now_ms=0)
    assert (permanent.action, permanent.retryable) == ("dead_letter", False)
    reason = Quarantined("OCR", TransientError("store down"), 4)
    assert (reason.code, str(reason)) == (
        "quarantined",
        "quarantined after 4 attempts at OCR: TransientError: store down",
    )


def test_policy_refuses_nonsense() -> None:
    for delays, attempts in [((), 3), ((1.0, 2.0, 3.0, 4.0), 3), ((0.0,), 3), ((1.0,), 0)]:
        with pytest.raises(ValueError):
            RetryPolicy(delays, attempts)


def test_attempt_header_and_settings() -> None:
    assert attempt_of(None) == attempt_of({}) == attempt_of({ATTEMPT_HEADER: b"junk"}) == 1
    assert attempt_of({ATTEMPT_HEADER: b"3"}) == 3
    settings = Settings(retry_backoff_seconds="1, 5", faults={"OCR:drill": 2})
    assert RetryPolicy.of(settings).schedule() == [1.0, 5.0, 5.0]
    with pytest.raises(InjectedFault, match="attempt 2 of 2"):
        inject_fault(settings, "OCR", "drill", 2)
    inject_fault(settings, "OCR", "drill", 3)
    inject_fault(settings, "INGEST", "drill", 1)
    inject_fault(settings, "OCR", "acme", 1)
