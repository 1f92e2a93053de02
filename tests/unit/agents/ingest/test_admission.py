"""The duplicate rule: one doc_id names one document."""

from __future__ import annotations

from pagestream.agents.ingest.core.admission import admit, rejected

FIRST = {"doc_id": "d1", "tenant": "acme", "sha256": "a" * 64}


def test_first_submission_is_recorded_and_its_redelivery_processed() -> None:
    new = admit(None, FIRST, "0:10", attempt=1)
    assert (new.verdict, new.accepted, new.entry) == (
        "new", True, {"tenant": "acme", "sha256": "a" * 64, "position": "0:10", "failed": False}
    )  # fmt: skip
    again = admit(new.entry, FIRST, "0:10", attempt=1)  # the same message after a crash
    assert (again.verdict, again.accepted, again.entry) == ("redelivery", True, None)
    retry = admit(new.entry, FIRST, "0:57", attempt=2)  # re-delivered by the retry agent
    assert (retry.verdict, retry.accepted) == ("retry", True)


def test_same_content_is_idempotent_other_content_is_refused() -> None:
    entry = admit(None, FIRST, "0:10", attempt=1).entry
    same = admit(entry, FIRST, "0:11", attempt=1)
    assert (same.verdict, same.accepted, same.entry) == ("duplicate", False, None)
    assert "same content" in same.reason
    other = admit(entry, {**FIRST, "sha256": "b" * 64}, "0:12", attempt=1)
    assert (other.verdict, other.accepted) == ("conflict", False)
    assert "already names another document" in other.reason and "new doc_id" in other.reason
    foreign = admit(entry, {**FIRST, "tenant": "other"}, "0:13", attempt=1)
    assert foreign.verdict == "conflict" and "acme" not in foreign.reason  # nothing about the first owner


def test_after_a_rejection_the_doc_id_may_be_submitted_again() -> None:
    entry = rejected(admit(None, FIRST, "0:10", attempt=1).entry)
    fixed = admit(entry, {**FIRST, "sha256": "c" * 64}, "0:20", attempt=1)
    assert (fixed.verdict, fixed.accepted, fixed.entry["sha256"], fixed.entry["failed"]) == (
        "resubmission", True, "c" * 64, False
    )  # fmt: skip
    assert admit(fixed.entry, FIRST, "0:21", attempt=1).verdict == "conflict"
    assert rejected(None) is None
