"""Layout: a page's OCR lines and image in, regions in reading order out (pages.ocr → pages.layout).

The analysis itself is ``agents.layout_analysis`` (geometry plus the layout model); it runs in the
worker's process pool, where the model is loaded once per process, since it needs the page image.
Regions carry their kind, box, text, confidence and source, table cells and key-value pairs; the
method's name and version travel in every event so results say what produced them.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import asdict

import faust
import numpy as np
from PIL import Image

from pagestream.agents.context import StageContext, each_record, now_ms
from pagestream.agents.layout_analysis import GEOMETRY_VERSION, Region, analyse_page, page_text
from pagestream.agents.layout_model import MODEL_NAME, process_model
from pagestream.agents.ocr import load_lines
from pagestream.agents.retry import retry_or_dead_letter
from pagestream.connectors.objectstore import document_prefix
from pagestream.streams import topics

LAYOUT_MODEL = f"{GEOMETRY_VERSION}+{MODEL_NAME}"


def layout_png(png: bytes, lines: list[dict], width: int, height: int) -> list[Region]:
    """Lay out one page in a pool process (the model is loaded there once)."""
    with Image.open(io.BytesIO(png)) as image:
        grey = np.asarray(image.convert("L"))
    if grey.shape[:2] != (height, width):  # boxes are in the OCR image's pixels
        grey = np.asarray(Image.fromarray(grey).resize((width, height)))
    return analyse_page(lines, width, height, grey, process_model().detect(grey))


def region_record(region: Region) -> dict:
    """A region as the PageLayout Region record (and in the stored page result)."""
    return asdict(region) | {"bbox": list(region.bbox)}


def page_result(page: dict, regions: list[Region]) -> dict:
    """The full page result stored beside the page image (claim check for assembly and readers)."""
    return {
        "doc_id": page["doc_id"],
        "page_no": page["page_no"],
        "width": page["width"],
        "height": page["height"],
        "image_uri": page["image_uri"],
        "text_source": page["text_source"],
        "engine": page["engine"],
        "engine_version": page["engine_version"],
        "model": page["model"],
        "layout_model": LAYOUT_MODEL,
        "mean_confidence": page["mean_confidence"],
        "text": page_text(regions),
        "regions": [region_record(r) for r in regions],
        "lines": page["lines"],
    }


# --- Faust agent: pages.ocr (key page) -> pages.layout (key doc) -----------------------------


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
    regions = await ctx.run_cpu(layout_png, png, page["lines"], page["width"], page["height"])
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


def layout_record(
    page: dict, regions: list[Region], result_uri: str | None, error: BaseException | None = None
) -> dict:
    failed = error is not None or page["status"] != "OK"
    return {
        "doc_id": page["doc_id"],
        "tenant": page["tenant"],
        "page_no": page["page_no"],
        "page_count": page["page_count"],
        "status": "FAILED" if failed else "OK",
        "text_source": page["text_source"],
        "engine": page["engine"],
        "engine_version": page["engine_version"],
        "layout_model": LAYOUT_MODEL,
        "regions": [region_record(r) for r in regions],
        "text": page_text(regions),
        "word_count": sum(len(ln["words"]) for ln in page["lines"]),
        "mean_confidence": page["mean_confidence"],
        "result_uri": result_uri,
        "error_code": getattr(error, "code", "internal_error") if error else page.get("error_code"),
        "error_message": (str(error) or type(error).__name__) if error else page.get("error_message"),
        "produced_at": now_ms(),
    }
