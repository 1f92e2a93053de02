"""A page's OCR lines on pages.ocr: sent inline, or by claim check when they are big, and read back.

Two agents send a page's text (ingest for a usable PDF text layer, OCR for everything else) and
the layout agent reads it; the claim-check rule (``max_inline_lines_bytes``) lives here once.
"""

from __future__ import annotations

import json

from pagestream.agents.common.ocr_result import OcrPage
from pagestream.agents.common.records import lines_of, page_ocr_record
from pagestream.agents.runtime.context import StageContext
from pagestream.connectors.objectstore import document_prefix
from pagestream.streams import topics


async def emit_page_result(ctx: StageContext, page: dict, result: OcrPage, text_source: str) -> None:
    """Send a page's text on pages.ocr (lines by claim check when big) and the OCR progress."""
    lines, lines_uri = lines_of(result), None
    body = json.dumps(lines).encode()
    if len(body) > ctx.settings.max_inline_lines_bytes:
        key = f"{document_prefix(page['tenant'], page['doc_id'])}/results/lines-{page['page_no']:04d}.json"
        lines_uri = (await ctx.run_io(ctx.store.put, key, body, "application/json")).uri
        lines = []
    record = page_ocr_record(page, result, text_source, lines, lines_uri)
    await ctx.emit(topics.PAGES_OCR, record, page["doc_id"], page["page_no"])
    await ctx.progress(
        page["doc_id"],
        page["tenant"],
        "OCR",
        "PAGE_DONE",
        page_no=page["page_no"],
        page_count=page["page_count"],
        message="text layer" if text_source == "TEXT_LAYER" else result.engine,
        duration_ms=result.duration_ms,
        versions={"ocr": f"{result.engine} {result.engine_version}", "ocr_model": result.model},
    )


async def load_lines(ctx: StageContext, page: dict) -> list[dict]:
    """A PageOcr's lines, fetched from the object store when they travelled by claim check."""
    if page.get("lines_uri"):
        return json.loads(await ctx.run_io(ctx.store.get, page["lines_uri"]))
    return page["lines"]
