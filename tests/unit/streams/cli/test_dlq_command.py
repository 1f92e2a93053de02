"""``pagestream dlq``: the listing's columns, and which letters a replay re-publishes."""

from __future__ import annotations

import datetime as dt

from pagestream.streams.cli import dlq


def _letter(dlq_id: str, code: str, retryable: bool | None, **extra: object) -> dict:
    return {"dlq_id": dlq_id, "at": dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC), "stage": "INGEST",
            "error_code": code, "tenant": "acme", "doc_id": "d1", "page_no": None, "attempts": 1,
            "retryable": retryable, "quarantined": None, "message": f"{code} happened",
            "raw_value": b"\0", "source_topic": "docs.submitted", **extra}  # fmt: skip


def test_the_listing_has_column_headers_and_the_tenant() -> None:
    lines = dlq.table([_letter("0:12", "file_too_large", False), _letter("3:4", "timeout", True, page_no=2,
                                                                           attempts=4, quarantined=True)])  # fmt: skip
    assert lines[0].split() == ["ID", "AT", "(UTC)", "STAGE", "CODE", "TENANT", "DOCUMENT", "PAGE", "TRIES", "RETRY",
                                "MESSAGE"]  # fmt: skip
    assert lines[1].split() == ["0:12", "2026-12-02", "10:00:00", "INGEST", "file_too_large", "acme", "d1", "-", "1",
                                "no", "file_too_large", "happened"]  # fmt: skip
    assert lines[2].split()[7:11] == ["2", "4", "quarantined", "yes"]
    assert lines[0].index("CODE") == lines[1].index("file_too_large") == lines[2].index("timeout")


def test_letters_that_are_not_retryable_are_replayed_only_when_forced() -> None:
    assert dlq.held(_letter("0:1", "timeout", True), force=False) is None
    assert dlq.held(_letter("0:2", "internal_error", None), force=False) is None  # the stage could not tell
    refused = dlq.held(_letter("0:3", "file_too_large", False), force=False)
    assert refused is not None and "not retryable" in refused and "--force" in refused
    assert dlq.held(_letter("0:3", "file_too_large", False), force=True) is None
    missing = _letter("0:4", "bad_event", False, raw_value=None)
    assert dlq.held(missing, force=True) == "no original message to replay (bad_event)"
