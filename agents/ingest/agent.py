"""The ingest agent: docs.submitted → pages.raw, one submission split and rasterised at a time.

The agent admits a submission by the duplicate-submission rule (``core.admission``), downloads it
from the object store once into a temporary file, checks and renders it in the process pool
(``core.document``), stores every page image (claim check) and emits one PageRendered per page,
keyed by page so that a document's pages spread over partitions. A born-digital page with a
usable text layer skips OCR: its text goes straight to pages.ocr.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import faust

from pagestream.agents.common.ocr_result import engine_parts
from pagestream.agents.common.records import failed_page_record, now_ms, rejected_record
from pagestream.agents.ingest.core.admission import Admission, admit, rejected
from pagestream.agents.ingest.core.document import (
    DocumentFacts,
    Limits,
    check_dpi,
    inspect_file,
    limits_of,
    manifest,
    render_page,
    spool,
)
from pagestream.agents.runtime.context import SourceInfo, StageContext, each_record
from pagestream.agents.runtime.ocr_lines import emit_page_result
from pagestream.agents.runtime.retry import attempt_of_event, on_failure
from pagestream.connectors.objectstore import document_prefix
from pagestream.streams import topics
from pagestream.streams.errors import DuplicateDocument, PagestreamError
from pagestream.streams.records import PageRendered
from pagestream.streams.retry_policy import inject_fault, is_retryable
from pagestream.streams.topics import SCHEMA_VERSION, SUBMISSIONS_TABLE

log = logging.getLogger(__name__)


def register(app: faust.App, ctx: StageContext) -> faust.types.AgentT:
    """The ingest agent: one submission at a time per agent instance, pages emitted as rendered."""
    limits = limits_of(ctx.settings)

    submissions = app.Table(SUBMISSIONS_TABLE, default=None, partitions=ctx.settings.topic_partitions)

    async def handle(event: faust.types.EventT, submission: dict) -> None:
        doc_id, source, attempt = submission["doc_id"], SourceInfo.of(event), attempt_of_event(event)
        # Read and write the entry with no await in between: concurrent actors see one or the other.
        admission = admit(submissions.get(doc_id), submission, f"{source.partition}:{source.offset}",
                                     attempt)  # fmt: skip
        if admission.entry is not None:
            submissions[doc_id] = admission.entry
        if not admission.accepted:
            await answer_duplicate(ctx, submission, admission, source)
            return
        try:
            inject_fault(ctx.settings, "INGEST", submission["tenant"], attempt)
            if await ingest_document(ctx, submission, limits, source):
                return
        except Exception as exc:  # a bug must not stop the stream: it becomes data
            error = await on_failure(ctx, "INGEST", exc, event, doc_id=doc_id, tenant=submission["tenant"],
                                     input_ref=submission.get("source_uri"))  # fmt: skip
            if error is None:
                return  # re-delivered later by the retry agent
            if not isinstance(error, PagestreamError):
                log.exception("ingest failed for %s", doc_id)
            await reject(ctx, submission, error, source)
        submissions[doc_id] = rejected(submissions.get(doc_id))

    @app.agent(ctx.topic(topics.DOCS_SUBMITTED), name="ingest", concurrency=ctx.settings.pool_processes)
    async def ingest(stream: faust.StreamT) -> None:
        await each_record(ctx, stream, topics.DOCS_SUBMITTED, "INGEST", handle)

    return ingest


async def answer_duplicate(ctx: StageContext, submission: dict, admission: Admission, source: SourceInfo) -> None:
    """A duplicate is answered with a progress note; a conflicting one with an ErrorEvent (the
    first document's result stands, so no second DocumentCompleted either way)."""
    doc_id, tenant = submission["doc_id"], submission["tenant"]
    if admission.verdict == "duplicate":
        await ctx.progress(doc_id, tenant, "INGEST", "STARTED", message=admission.reason)
        return
    await ctx.dead_letter(
        "INGEST", DuplicateDocument(admission.reason or ""), doc_id=doc_id, tenant=tenant,
        input_ref=submission.get("source_uri"), source=source,
    )  # fmt: skip


async def ingest_document(ctx: StageContext, submission: dict, limits: Limits, source: SourceInfo) -> bool:
    """Split and rasterise a submission; False when it was rejected (bad input)."""
    doc_id, tenant = submission["doc_id"], submission["tenant"]
    dpi = submission.get("render_dpi") or limits.dpi
    limits = replace(limits, dpi=dpi, text_layer=None if submission.get("force_ocr") else limits.text_layer)
    started = time.perf_counter()
    await ctx.progress(doc_id, tenant, "INGEST", "STARTED")
    path: Path | None = None
    try:
        check_dpi(dpi, ctx.settings.max_render_dpi)
        engine = ctx.settings.ocr_engine_for(tenant, submission.get("ocr_engine"))
        engine_parts(engine)  # an unknown engine rejects the document now, not each page later
        submission = {**submission, "ocr_engine": engine}
        prefix = document_prefix(tenant, doc_id)
        path = spool(await ctx.run_io(ctx.store.get, submission["source_uri"]))
        facts = await ctx.run_cpu(inspect_file, path, limits)
    except PagestreamError as exc:
        if path:
            path.unlink(missing_ok=True)
        if is_retryable(exc):
            raise
        await reject(ctx, submission, exc, source)
        return False
    try:
        await ctx.run_io(ctx.store.put, f"{prefix}/manifest.json", manifest(submission, facts), "application/json")
        for page_no in range(1, facts.page_count + 1):
            await _ingest_page(ctx, submission, facts, path, page_no, limits, prefix)
    finally:
        path.unlink(missing_ok=True)
    await ctx.progress(
        doc_id,
        tenant,
        "INGEST",
        "COMPLETED",
        page_count=facts.page_count,
        pages_done=facts.page_count,
        duration_ms=int((time.perf_counter() - started) * 1000),
    )
    return True


async def _ingest_page(
    ctx: StageContext, submission: dict, facts: DocumentFacts, path: Path, page_no: int, limits: Limits, prefix: str
) -> None:
    doc_id, tenant = submission["doc_id"], submission["tenant"]
    started = time.perf_counter()
    try:
        page = await ctx.run_cpu(render_page, path, facts.kind, page_no - 1, limits)
        stored = await ctx.run_io(ctx.store.put, f"{prefix}/pages/{page_no:04d}.png", page.png, "image/png")
    except PagestreamError as exc:
        if is_retryable(exc):
            raise  # the whole submission is retried
        # The page is carried on as a failed result so the document still completes (PARTIAL).
        await ctx.dead_letter(
            "INGEST",
            exc,
            doc_id=doc_id,
            tenant=tenant,
            page_no=page_no,
            input_ref=submission["source_uri"],
            versions={"renderer": facts.renderer},
        )
        await ctx.emit(
            topics.PAGES_OCR, failed_page_record(submission, page_no, facts.page_count, exc), doc_id, page_no
        )
        return
    elapsed = int((time.perf_counter() - started) * 1000)
    if page.text_layer is not None and page.text_layer.usable:
        # Born-digital: the page's own text goes straight to pages.ocr; no OCR needed.
        await _page_done(ctx, doc_id, tenant, page_no, facts, elapsed)
        fields = {"doc_id": doc_id, "tenant": tenant, "page_no": page_no, "page_count": facts.page_count,
                  "image_uri": stored.uri, "width": page.width, "height": page.height}
        await emit_page_result(ctx, fields, page.text_layer.as_page(page.width, page.height), "TEXT_LAYER")
        return
    record = PageRendered(
        doc_id=doc_id,
        tenant=tenant,
        page_no=page_no,
        page_count=facts.page_count,
        image_uri=stored.uri,
        image_sha256=stored.sha256,
        image_bytes=stored.size,
        width=page.width,
        height=page.height,
        dpi=page.dpi,
        source_kind=facts.kind,
        renderer=facts.renderer,
        ocr_engine=submission.get("ocr_engine"),
        rendered_at=now_ms(),
        duration_ms=elapsed,
    )
    await ctx.emit(topics.PAGES_RAW, record, doc_id, page_no)
    await _page_done(ctx, doc_id, tenant, page_no, facts, elapsed)


async def _page_done(ctx: StageContext, doc_id: str, tenant: str, page_no: int, facts: DocumentFacts, ms: int) -> None:
    await ctx.progress(
        doc_id,
        tenant,
        "INGEST",
        "PAGE_DONE",
        page_no=page_no,
        page_count=facts.page_count,
        pages_done=page_no,
        duration_ms=ms,
        versions={"renderer": facts.renderer},
    )


async def reject(ctx: StageContext, submission: dict, exc: BaseException, source: SourceInfo) -> None:
    """A submission that cannot be split: dead letter, FAILED result, FAILED progress."""
    code = exc.code if isinstance(exc, PagestreamError) else "internal_error"
    doc_id, tenant = submission.get("doc_id", "unknown"), submission.get("tenant", "unknown")
    await ctx.dead_letter(
        "INGEST", exc, doc_id=doc_id, tenant=tenant, input_ref=submission.get("source_uri"), source=source
    )
    await ctx.complete(rejected_record(submission, code, str(exc), {"schema": SCHEMA_VERSION}, now_ms()))
    await ctx.progress(doc_id, tenant, "INGEST", "FAILED", message=str(exc))
