"""Assembly gathers pages in any order, ignores duplicates, and completes exactly once."""

from __future__ import annotations

from pagestream.agents.assemble.core import add_page, assembled_record, document_status, is_complete, tombstone
from pagestream.agents.common.records import without_text


def page(no: int, status: str = "OK", count: int = 3) -> dict:
    return {
        "doc_id": "d",
        "tenant": "t",
        "page_no": no,
        "page_count": count,
        "status": status,
        "word_count": 10 * no,
        "mean_confidence": 0.9,
        "text_source": "OCR",
        "engine": "tesseract",
        "engine_version": "5.5.4",
        "result_uri": f"s3://b/t/d/results/page-{no}.json",
        "error_message": None if status == "OK" else "bad",
    }


def test_pages_in_any_order_with_duplicates_complete_once() -> None:
    state, completions = None, 0
    for no in (3, 1, 3, 1, 2, 2):
        state, new = add_page(state, page(no))
        if new and is_complete(state):
            completions += 1
            record = assembled_record(
                "d",
                state,
                {1: "one", 2: "two", 3: "three"},
                filename="f.pdf",
                submitted_at_ms=1,
                result_uri="s3://b/doc.json",
                versions={},
                now_ms=2,
            )
            state = tombstone(state)
    assert completions == 1
    assert [p["page_no"] for p in record["pages"]] == [1, 2, 3]
    assert [p["text"] for p in record["pages"]] == ["one", "two", "three"]
    assert record["status"] == "OK" and record["error_code"] is None
    # A late duplicate cannot reopen a finished document.
    assert add_page(state, page(2)) == (state, False)


def test_out_of_range_page_is_ignored() -> None:
    state, _ = add_page(None, page(1))
    assert add_page(state, page(7))[1] is False


def test_partial_and_failed_documents() -> None:
    state = None
    for no, status in ((1, "OK"), (2, "FAILED"), (3, "OK")):
        state, _ = add_page(state, page(no, status))
    assert document_status(state) == "PARTIAL"
    record = assembled_record(
        "d", state, {1: "a", 3: "c"}, filename=None, submitted_at_ms=None, result_uri=None, versions={}, now_ms=1
    )
    assert record["error_message"] == "pages without a result: [2]" and record["pages"][1]["text"] is None
    assert without_text(record)["text_inline"] is False
    state = None
    for no in (1, 2, 3):
        state, _ = add_page(state, page(no, "FAILED"))
    assert document_status(state) == "FAILED"
