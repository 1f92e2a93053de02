"""The assembly agent: pages.classified (key doc) → docs.assembled, with the assembly table.

Pages are added to their document's state (``core``) in a Faust table keyed by doc_id; when the
last page arrives the agent reads the page results from the object store, stores the document's
result files and emits DocumentAssembled before the tombstone is written. A document it must give
up on completes as FAILED.
"""

from __future__ import annotations

import asyncio
import json

import faust

from pagestream.agents.assemble.core import State, add_page, assembled_record, document_status, is_complete, tombstone
from pagestream.agents.common.records import now_ms, rejected_record, without_text
from pagestream.agents.runtime.context import StageContext, each_record
from pagestream.agents.runtime.retry import attempt_of_event, retry_or_dead_letter
from pagestream.connectors.objectstore import document_prefix
from pagestream.connectors.results import store_results
from pagestream.streams import topics
from pagestream.streams.retry_policy import inject_fault
from pagestream.streams.topics import ASSEMBLY_TABLE, SCHEMA_VERSION


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
    await ctx.complete(
        rejected_record({"doc_id": doc_id, "tenant": state["tenant"]}, "assembly_failed", message,
                        {"schema": SCHEMA_VERSION}, now_ms(), page_count=state["page_count"])
    )  # fmt: skip
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
        "layout": ", ".join(sorted({p["layout_model"] for p in state["pages"].values() if p.get("layout_model")})),
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
