"""Records that more than one stage builds, with the typed builders of ``streams.records``.

A page's text reaches pages.ocr from two stages (ingest's text-layer fast path and OCR), a failed
page from both too, and a DocumentCompleted from three (ingest rejecting a submission, assembly
giving up, validation): each record is built here once, so the stages cannot drift apart, and the
stages send a DocumentCompleted through one call (``StageContext.complete``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import fields as dataclass_fields
from typing import Any

from pagestream.agents.common.ocr_result import OcrPage
from pagestream.streams.records import DocumentCompleted, PageOcr


def now_ms() -> int:
    return int(time.time() * 1000)


def lines_of(page: OcrPage) -> list[dict]:
    """The lines of a result as PageOcr records them."""
    return [
        {
            "text": line.text,
            "bbox": list(line.bbox),
            "confidence": line.confidence,
            "words": [{"text": w.text, "bbox": list(w.bbox), "confidence": w.confidence} for w in line.words],
        }
        for line in page.lines
    ]


def page_ocr_record(page: dict, result: OcrPage, text_source: str, lines: list[dict], lines_uri: str | None) -> dict:
    """The PageOcr event of a page read by an engine (OCR) or taken from its text layer."""
    return PageOcr(
        doc_id=page["doc_id"],
        tenant=page["tenant"],
        page_no=page["page_no"],
        page_count=page["page_count"],
        image_uri=page["image_uri"],
        width=result.width or page["width"],
        height=result.height or page["height"],
        status="OK",
        text_source=text_source,
        engine=result.engine,
        engine_version=result.engine_version,
        model=result.model,
        lines=lines,
        lines_uri=lines_uri,
        orientation=result.orientation,
        skew=result.skew,
        mean_confidence=result.mean_confidence,
        duration_ms=result.duration_ms,
        produced_at=now_ms(),
    ).to_dict()


def failed_page_record(page: dict, page_no: int, page_count: int, exc: BaseException) -> dict:
    """A PageOcr with status FAILED: the page travels on as data so its document still completes."""
    return PageOcr(
        doc_id=page["doc_id"],
        tenant=page["tenant"],
        page_no=page_no,
        page_count=page_count,
        image_uri=page.get("image_uri") or "",
        width=page.get("width") or 0,
        height=page.get("height") or 0,
        status="FAILED",
        text_source="OCR",
        engine=page.get("ocr_engine") or "",
        engine_version="",
        model="",
        lines=[],
        mean_confidence=0.0,
        duration_ms=0,
        error_code=getattr(exc, "code", "internal_error"),
        error_message=str(exc) or type(exc).__name__,
        produced_at=now_ms(),
    ).to_dict()


def completed_record(document: Mapping[str, Any], completed_at: int, **outcome: Any) -> dict[str, Any]:
    """The DocumentCompleted of a document, the one place it is built: what the document's earlier
    record (a submission, an assembled document) has of it, then ``outcome`` (status, pages,
    errors, verdict)."""
    kept = {name: document[name] for name in _COMPLETED_FIELDS if name in document}
    return DocumentCompleted(**(kept | outcome), completed_at=completed_at).to_dict()


_COMPLETED_FIELDS = [f.name for f in dataclass_fields(DocumentCompleted) if f.name != "completed_at"]


def rejected_record(
    submission: dict[str, Any], code: str, message: str, versions: dict[str, str], now_ms: int, page_count: int = 0
) -> dict[str, Any]:
    """DocumentCompleted for a document that failed as a whole (rejected before it was split into
    pages, or given up by assembly): no pages, only the reason."""
    return completed_record(
        {"doc_id": submission["doc_id"], "tenant": submission["tenant"]}
        | {k: submission.get(k) for k in ("filename", "submitted_at")},
        now_ms,
        status="FAILED", page_count=page_count, pages=[], error_code=code, error_message=message, versions=versions,
    )  # fmt: skip


def without_text(record: dict[str, Any]) -> dict[str, Any]:
    """The same document event with page texts left out (readers use result_uri), for huge documents."""
    return {**record, "text_inline": False, "pages": [{**p, "text": None} for p in record["pages"]]}
