"""The layout agent: pages.ocr (key page) → pages.layout (key doc), each page laid out in the pool.

The page's lines (inline or by claim check) and image come in; ``core.page.layout_png`` runs in
the process pool; the full page result is stored beside the page image and the PageLayout event,
re-keyed by document for classification and assembly, goes on.
"""

from __future__ import annotations

import json
import time

import faust

from pagestream.agents.layout.core.page import LAYOUT_MODEL, layout_png, layout_record, page_result
from pagestream.agents.runtime.context import StageContext, each_record
from pagestream.agents.runtime.ocr_lines import load_lines
from pagestream.agents.runtime.retry import retry_or_dead_letter
from pagestream.connectors.objectstore import document_prefix
from pagestream.streams import topics


def register(app: faust.App, ctx: StageContext) -> faust.types.AgentT:
    """The layout agent; it re-keys pages by document for assembly."""

    async def handle(event: faust.types.EventT, page: dict) -> None:
        try:
            record = await layout_page(ctx, page)
        except Exception as failure:  # retried, or the page becomes a failed result; the stream goes on
            exc = await retry_or_dead_letter(ctx, "LAYOUT", failure, event, doc_id=page["doc_id"],
                                             tenant=page["tenant"], page_no=page["page_no"],
                                             input_ref=page.get("image_uri"))  # fmt: skip
            if exc is None:
                return
            record = layout_record(page, [], None, error=exc)
        await ctx.emit(topics.PAGES_LAYOUT, record, page["doc_id"])

    @app.agent(ctx.topic(topics.PAGES_OCR), name="layout", concurrency=4)
    async def layout(stream: faust.StreamT) -> None:
        await each_record(ctx, stream, topics.PAGES_OCR, "LAYOUT", handle)

    return layout


async def layout_page(ctx: StageContext, page: dict) -> dict:
    if page["status"] != "OK":
        return layout_record(page, [], None)
    started = time.perf_counter()
    page = {**page, "lines": await load_lines(ctx, page)}
    png = await ctx.run_io(ctx.store.get, page["image_uri"])
    regions = await ctx.run_cpu(
        layout_png, png, page["lines"], page["width"], page["height"], page.get("orientation") or 0
    )
    key = f"{document_prefix(page['tenant'], page['doc_id'])}/results/page-{page['page_no']:04d}.json"
    stored = await ctx.run_io(ctx.store.put, key, json.dumps(page_result(page, regions)).encode(), "application/json")
    await ctx.progress(
        page["doc_id"],
        page["tenant"],
        "LAYOUT",
        "PAGE_DONE",
        page_no=page["page_no"],
        page_count=page["page_count"],
        duration_ms=int((time.perf_counter() - started) * 1000),
        versions={"layout": LAYOUT_MODEL},
    )
    return layout_record(page, regions, stored.uri)
