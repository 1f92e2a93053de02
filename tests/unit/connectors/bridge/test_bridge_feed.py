"""The bridge's pure parts: the document index, stream cursors and ids, SSE framing, overflow."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from pagestream.connectors.bridge.feed import DocumentIndex, FeedEvent, Subscriber
from pagestream.connectors.bridge.sse import cursor_id, message, parse_cursor, parse_position
from pagestream.connectors.problems import Problem

AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
PARTITIONS = {"docs.progress": 4, "docs.completed": 4}
POSITIONS = {(t, p): 10 for t in PARTITIONS for p in range(4)}


def progress(doc: str, offset: int, stage: str, status: str, page: int | None = None, **more) -> FeedEvent:
    record = {"doc_id": doc, "tenant": "acme", "stage": stage, "status": status, "page_no": page, "at": AT}
    return FeedEvent("docs.progress", 1, offset, record | {"page_count": 2, "duration_ms": 100} | more)


def completed(doc: str, offset: int, status: str = "OK") -> FeedEvent:
    record = {"doc_id": doc, "tenant": "acme", "status": status, "page_count": 2, "pages": [], "completed_at": AT}
    return FeedEvent("docs.completed", 1, offset, record | {"filename": "a.pdf", "error_code": None})


def test_index_follows_a_document_from_submission_to_result() -> None:
    index = DocumentIndex(capacity=10)
    index.apply(
        FeedEvent("docs.submitted", 1, 0, {"doc_id": "d", "tenant": "acme", "filename": "a.pdf", "submitted_at": AT})
    )
    assert index.get("d").status == "SUBMITTED" and index.get("d").first_progress_offset is None
    index.apply(progress("d", 5, "INGEST", "STARTED"))
    for offset, page in ((6, 1), (7, 2), (8, 1)):  # a duplicate page counts once
        index.apply(progress("d", offset, "OCR", "PAGE_DONE", page))
    index.apply(progress("d", 9, "ASSEMBLE", "COMPLETED", pages_done=2))
    state = index.get("d")
    assert state.status == "RUNNING" and state.first_progress_offset == 5 and state.page_count == 2
    summary = state.summary()
    assert summary["stages"]["OCR"] == {"status": "RUNNING", "pages_done": 2, "seconds": 0.3}
    assert summary["stages"]["ASSEMBLE"]["pages_done"] == 2 and summary["filename"] == "a.pdf"
    index.apply(completed("d", 3, "PARTIAL"))
    assert index.get("d").status == "PARTIAL" and index.get("d").result_offset == 3


def test_a_rejected_document_is_failed_before_any_result() -> None:
    index = DocumentIndex(capacity=10)
    index.apply(progress("d", 1, "INGEST", "FAILED", message="not a document"))
    assert index.get("d").status == "FAILED"


def test_index_evicts_the_least_recently_active_and_lists_newest_first() -> None:
    index = DocumentIndex(capacity=2)
    index.apply(progress("a", 1, "INGEST", "STARTED"))
    index.apply(progress("b", 2, "INGEST", "STARTED"))
    index.apply(progress("a", 3, "OCR", "PAGE_DONE", 1))  # a is active again
    index.apply(progress("c", 4, "INGEST", "STARTED"))  # b goes
    assert index.get("b") is None and len(index) == 2
    assert [s.doc_id for s in index.latest(10)] == ["c", "a"]
    assert index.latest(10, tenant="other") == []


def test_positions_and_cursors_are_checked_against_what_the_feed_saw() -> None:
    assert parse_position("docs.progress:2:9", PARTITIONS, POSITIONS, "x") == (("docs.progress", 2), 9)
    for bad, says in (
        ("docs.progress:2", "topic:partition:offset"),
        ("docs.submitted:0:1", "names topic"),
        ("docs.progress:4:1", "partition 4"),
        ("docs.progress:1:10", "cannot have sent"),
        ("docs.progress:1:-2", "cannot have sent"),
        ("docs.progress:one:1", "not an integer"),
    ):
        with pytest.raises(Problem) as caught:
            parse_position(bad, PARTITIONS, POSITIONS, bad)
        assert caught.value.status == 400 and says in caught.value.detail
    cursor = {("docs.progress", 0): 3, ("docs.completed", 1): -1}
    assert parse_cursor(cursor_id(cursor), PARTITIONS, POSITIONS) == cursor
    assert cursor_id(cursor) == "docs.completed:1:-1,docs.progress:0:3"


def test_sse_messages_are_framed_on_one_data_line() -> None:
    framed = message("docs.progress:1:5", "progress", {"text": "two\nlines", "at": AT}).decode()
    assert framed == (
        'id: docs.progress:1:5\nevent: progress\ndata: {"text": "two\\nlines", "at": "2026-01-02T03:04:05Z"}\n\n'
    )


def test_a_slow_subscriber_is_cut_off_instead_of_buffering_without_bound() -> None:
    async def run() -> tuple[list, bool]:
        subscriber = Subscriber(lambda e: e.doc_id == "d", asyncio.get_running_loop(), limit=3)
        for offset in range(5):
            subscriber.offer(progress("d", offset, "OCR", "PAGE_DONE", 1))
        subscriber.offer(progress("other", 9, "OCR", "PAGE_DONE", 1))
        await asyncio.sleep(0)
        items = [subscriber.queue.get_nowait() for _ in range(subscriber.queue.qsize())]
        return items, subscriber.overflowed

    items, overflowed = asyncio.run(run())
    assert overflowed and [e.offset for e in items[:-1]] == [0, 1, 2] and items[-1] is None
