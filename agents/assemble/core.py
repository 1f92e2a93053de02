"""Assembly's pure core: a document's pages gathered, in any order and ignoring duplicates, into
its DocumentAssembled record.

The state of one document is a small JSON-able dict (page summaries and claim checks, never page
text, so the table's changelog stays small); a finished document keeps a tombstone so a late
duplicate cannot reopen it. The document type the classified pages carry goes into the result.
"""

from __future__ import annotations

from typing import Any

from pagestream.streams.records import DocumentAssembled

State = dict[str, Any]


def summary_of(event: dict[str, Any]) -> dict[str, Any]:
    """What assembly keeps of a PageLayout event."""
    return {
        "status": event["status"],
        "word_count": event["word_count"],
        "mean_confidence": event["mean_confidence"],
        "text_source": event["text_source"],
        "engine": f"{event['engine']} {event['engine_version']}".strip(),
        "layout_model": event.get("layout_model"),
        "result_uri": event.get("result_uri"),
        "error_message": event.get("error_message"),
        "error_code": event.get("error_code"),
    }


def classification_of(event: dict[str, Any]) -> dict[str, Any]:
    """The document type a classified page carries (the classify stage's verdict so far)."""
    return {
        "doc_type": event.get("doc_type"),
        "doc_type_confidence": event.get("doc_type_confidence"),
        "doc_type_reason": event.get("doc_type_reason"),
        "classifier_version": event.get("classifier_version"),
        "pages": event.get("doc_type_pages") or 0,
    }


def add_page(state: State | None, event: dict[str, Any]) -> tuple[State, bool]:
    """Add a page to a document's state; returns the new state and whether the page was new.

    The document type kept is the one resting on the most classified pages (the last verdict)."""
    if state is None:
        state = {"tenant": event["tenant"], "page_count": event["page_count"], "pages": {}, "completed": False}
    key = str(event["page_no"])
    if state["completed"] or key in state["pages"] or not 1 <= event["page_no"] <= state["page_count"]:
        return state, False
    pages = {**state["pages"], key: summary_of(event)}
    verdict = classification_of(event)
    if verdict["doc_type"] and verdict["pages"] >= state.get("classification", {}).get("pages", 0):
        return {**state, "pages": pages, "classification": verdict}, True
    return {**state, "pages": pages}, True


def is_complete(state: State) -> bool:
    return not state["completed"] and len(state["pages"]) == state["page_count"]


def tombstone(state: State) -> State:
    """The finished document's state: page summaries dropped, duplicates still recognised."""
    return {**state, "pages": {}, "completed": True}


def document_status(state: State) -> str:
    statuses = [p["status"] for p in state["pages"].values()]
    if all(s == "OK" for s in statuses):
        return "OK"
    return "FAILED" if not any(s == "OK" for s in statuses) else "PARTIAL"


def assembled_record(
    doc_id: str,
    state: State,
    texts: dict[int, str],
    *,
    regions: dict[int, list[dict]] | None = None,
    filename: str | None,
    submitted_at_ms: int | None,
    result_uri: str | None,
    versions: dict[str, str],
    now_ms: int,
) -> dict[str, Any]:
    """The DocumentAssembled event of a complete document, pages in page order with their layout
    regions (kind, box, order). The document type is whatever classification left in the state."""
    pages = []
    for page_no in range(1, state["page_count"] + 1):
        summary = state["pages"][str(page_no)]
        pages.append(
            {
                "page_no": page_no,
                "status": summary["status"],
                "text": texts.get(page_no) if summary["status"] == "OK" else None,
                "word_count": summary["word_count"],
                "mean_confidence": summary["mean_confidence"],
                "text_source": summary["text_source"],
                "engine": summary["engine"],
                "result_uri": summary["result_uri"],
                "error_message": summary["error_message"],
                "regions": [
                    {"kind": r["kind"], "bbox": list(r["bbox"]), "order": r["order"]}
                    for r in (regions or {}).get(page_no, [])
                ],
            }
        )
    status = document_status(state)
    failed = [p["page_no"] for p in pages if p["status"] != "OK"]
    # Pages given up after every retry: their reason goes into the document's reason.
    quarantined = [(n, s["error_message"]) for n, s in state["pages"].items() if s.get("error_code") == "quarantined"]
    reasons = "".join(f"; page {n}: {message}" for n, message in sorted(quarantined, key=lambda q: int(q[0])))
    verdict = state.get("classification", {})
    return DocumentAssembled(
        doc_id=doc_id,
        tenant=state["tenant"],
        filename=filename,
        status=status,
        page_count=state["page_count"],
        pages=pages,
        result_uri=result_uri,
        **{k: verdict.get(k) for k in ("doc_type", "doc_type_confidence", "doc_type_reason", "classifier_version")},
        error_code=None if status == "OK" else "pages_quarantined" if quarantined else "pages_failed",
        error_message=None if status == "OK" else f"pages without a result: {failed}{reasons}",
        versions=versions,
        submitted_at=submitted_at_ms,
        assembled_at=now_ms,
    ).to_dict()
