"""Assembly: gather a document's pages, in any order and ignoring duplicates, until all are there.

The state of one document is a small JSON-able dict kept in a Faust table keyed by doc_id (page
summaries and claim checks, never page text, so the changelog stays small); when the last page
arrives the agent reads the page results from the object store and emits DocumentCompleted.
A finished document keeps a tombstone so a late duplicate cannot reopen it. Pages come from
pages.classified; the document type they carry (the classify stage's votes) goes into the result.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import faust

from pagestream.agents.context import StageContext, each_record, now_ms
from pagestream.agents.layout import LAYOUT_MODEL
from pagestream.agents.retry import attempt_of_event, retry_or_dead_letter
from pagestream.connectors.objectstore import document_prefix
from pagestream.connectors.results import store_results
from pagestream.streams import topics
from pagestream.streams.retry_policy import inject_fault
from pagestream.streams.topics import ASSEMBLY_TABLE, SCHEMA_VERSION

State = dict[str, Any]


def summary_of(event: dict[str, Any]) -> dict[str, Any]:
    """What assembly keeps of a PageLayout event."""
    return {
        "status": event["status"],
        "word_count": event["word_count"],
        "mean_confidence": event["mean_confidence"],
        "text_source": event["text_source"],
        "engine": f"{event['engine']} {event['engine_version']}".strip(),
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
    return {
        "doc_id": doc_id,
        "tenant": state["tenant"],
        "filename": filename,
        "status": status,
        "page_count": state["page_count"],
        "pages": pages,
        "text_inline": True,
        "result_uri": result_uri,
        **{k: verdict.get(k) for k in ("doc_type", "doc_type_confidence", "doc_type_reason", "classifier_version")},
        "error_code": None if status == "OK" else "pages_quarantined" if quarantined else "pages_failed",
        "error_message": None if status == "OK" else f"pages without a result: {failed}{reasons}",
        "versions": versions,
        "submitted_at": submitted_at_ms,
        "assembled_at": now_ms,
    }


def without_text(record: dict[str, Any]) -> dict[str, Any]:
    """The same event with page texts left out (readers use result_uri), for huge documents."""
    return {**record, "text_inline": False, "pages": [{**p, "text": None} for p in record["pages"]]}


def rejected_record(
    submission: dict[str, Any], code: str, message: str, versions: dict[str, str], now_ms: int
) -> dict[str, Any]:
    """DocumentCompleted for a submission rejected before it was split into pages."""
    return {
        "doc_id": submission["doc_id"],
        "tenant": submission["tenant"],
        "filename": submission.get("filename"),
        "status": "FAILED",
        "page_count": 0,
        "pages": [],
        "text_inline": True,
        "result_uri": None,
        "error_code": code,
        "error_message": message,
        "versions": versions,
        "submitted_at": submission.get("submitted_at"),
        "completed_at": now_ms,
    }


# --- Faust agent: pages.layout (key doc) -> docs.assembled, with the assembly table ----------


def register(app: faust.App, ctx: StageContext) -> faust.types.AgentT:
    """The assembly agent and its table (one partition of state per document key)."""
    table = app.Table(ASSEMBLY_TABLE, default=None, partitions=ctx.settings.topic_partitions)

    async def handle(event: faust.types.EventT, page: dict) -> None:
        doc_id = page["doc_id"]
        attempt = attempt_of_event(event)
        state, new = add_page(table.get(doc_id), page)
        if not new and not (attempt > 1 and is_complete(state)):
            return  # duplicate or late page of a finished document (a retry of its last page goes on)
        if is_complete(state):
            try:
                inject_fault(ctx.settings, "ASSEMBLE", state["tenant"], attempt)
                await finish(ctx, doc_id, state)
            except Exception as failure:  # e.g. the object store is down: retried, then the document fails
                exc = await retry_or_dead_letter(ctx, "ASSEMBLE", failure, event, doc_id=doc_id,
                                                 tenant=state["tenant"])  # fmt: skip
                if exc is None:  # the last page comes back when due; the complete state waits for it
                    table[doc_id] = state
                    return
                await fail_document(ctx, doc_id, state, exc)
            state = tombstone(state)
        table[doc_id] = state
        if not state["completed"]:
            await ctx.progress(
                doc_id,
                page["tenant"],
                "ASSEMBLE",
                "PAGE_DONE",
                page_no=page["page_no"],
                page_count=state["page_count"],
                pages_done=len(state["pages"]),
            )

    @app.agent(ctx.topic(topics.PAGES_CLASSIFIED), name="assemble")
    async def assemble(stream: faust.StreamT) -> None:
        await each_record(ctx, stream, topics.PAGES_CLASSIFIED, "ASSEMBLE", handle)

    return assemble


async def fail_document(ctx: StageContext, doc_id: str, state: State, exc: BaseException) -> None:
    """A document assembly gave up on (dead-lettered already): a FAILED DocumentCompleted."""
    message = str(exc) or type(exc).__name__
    failure = rejected_record(
        {"doc_id": doc_id, "tenant": state["tenant"]}, "assembly_failed", message, {"schema": SCHEMA_VERSION}, now_ms()
    )
    await ctx.emit(topics.DOCS_COMPLETED, {**failure, "page_count": state["page_count"]}, doc_id, durable=True)
    await ctx.progress(doc_id, state["tenant"], "ASSEMBLE", "FAILED", page_count=state["page_count"], message=message)


async def finish(ctx: StageContext, doc_id: str, state: State) -> None:
    """Read the page results, store document.json, emit DocumentAssembled and progress."""
    prefix = document_prefix(state["tenant"], doc_id)
    manifest_uri = f"s3://{ctx.store.bucket}/{prefix}/manifest.json"
    manifest, results = await asyncio.gather(
        ctx.run_io(_read_json, ctx, manifest_uri),
        asyncio.gather(
            *(
                ctx.run_io(_read_json, ctx, p["result_uri"])
                for p in state["pages"].values()
                if p["status"] == "OK" and p["result_uri"]
            )
        ),
    )
    texts = {r["page_no"]: r["text"] for r in results}
    regions = {r["page_no"]: r.get("regions", []) for r in results}
    versions = {
        "schema": SCHEMA_VERSION,
        "ocr": ", ".join(sorted({p["engine"] for p in state["pages"].values() if p["engine"]})),
        "layout": LAYOUT_MODEL,
        "renderer": manifest.get("renderer", ""),
        "classifier": state.get("classification", {}).get("classifier_version") or "",
    }
    document = {
        **{k: manifest.get(k) for k in ("doc_id", "tenant", "filename", "sha256", "size_bytes", "kind")},
        "page_count": state["page_count"],
        "status": document_status(state),
        **{k: v for k, v in state.get("classification", {}).items() if k != "pages"},
        "versions": versions,
        "pages": sorted(results, key=lambda r: r["page_no"]),
    }
    stored = await ctx.run_io(store_results, ctx.store, prefix, document)
    record = assembled_record(
        doc_id,
        state,
        texts,
        regions=regions,
        filename=manifest.get("filename"),
        submitted_at_ms=manifest.get("submitted_at_ms"),
        result_uri=stored.uri,
        versions=versions,
        now_ms=now_ms(),
    )
    if len(ctx.codecs.encode(topics.DOCS_ASSEMBLED, record)) > ctx.settings.max_event_bytes:
        record = without_text(record)
    await ctx.emit(topics.DOCS_ASSEMBLED, record, doc_id, durable=True)  # before the tombstone is written
    await ctx.progress(
        doc_id, state["tenant"], "ASSEMBLE", "COMPLETED", page_count=state["page_count"], pages_done=state["page_count"]
    )


def _read_json(ctx: StageContext, uri: str) -> dict:
    return json.loads(ctx.store.get(uri))
