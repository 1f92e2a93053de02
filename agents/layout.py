"""Layout: OCR lines in, regions in reading order out.

This first layout method is geometric: consecutive lines of the engine's reading order that sit
close together and overlap horizontally form one text block; a leading block set in larger type
is the title. Tables, key-values, figures and the layout model come with the layout issue; the
method's name and version travel in every event so results say what produced them.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from statistics import median

import faust

from pagestream.agents.context import SourceInfo, StageContext, decoded_records, now_ms
from pagestream.agents.ocr import Box, load_lines
from pagestream.connectors.objectstore import document_prefix
from pagestream.streams import topics
from pagestream.streams.errors import PagestreamError

log = logging.getLogger(__name__)

LAYOUT_MODEL = "geometry-blocks/1"
_GAP_FACTOR = 0.9  # a vertical gap above this many line heights starts a new block
_TITLE_FACTOR = 1.4  # a first block whose lines are this much taller than usual is the title


@dataclass(frozen=True)
class LineIn:
    text: str
    bbox: Box


@dataclass(frozen=True)
class Region:
    kind: str
    bbox: Box
    text: str
    order: int


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _overlaps_horizontally(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0])


def layout_regions(lines: list[LineIn]) -> list[Region]:
    """Group lines into blocks in reading order (the order the lines came in)."""
    lines = [ln for ln in lines if ln.text.strip()]
    if not lines:
        return []
    height = median(ln.bbox[3] - ln.bbox[1] for ln in lines) or 1
    blocks: list[list[LineIn]] = []
    for line in lines:
        if blocks:
            prev = blocks[-1][-1]
            gap = line.bbox[1] - prev.bbox[3]
            if -height <= gap <= _GAP_FACTOR * height and _overlaps_horizontally(
                _union([b.bbox for b in blocks[-1]]), line.bbox
            ):
                blocks[-1].append(line)
                continue
        blocks.append([line])
    regions = []
    for order, block in enumerate(blocks):
        block_height = median(ln.bbox[3] - ln.bbox[1] for ln in block)
        kind = "title" if order == 0 and len(blocks) > 1 and block_height >= _TITLE_FACTOR * height else "text"
        regions.append(Region(kind, _union([ln.bbox for ln in block]), "\n".join(ln.text for ln in block), order))
    return regions


def page_text(regions: list[Region]) -> str:
    """Page text in reading order, blocks separated by a blank line."""
    return "\n\n".join(r.text for r in regions)


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
        "regions": [asdict(r) for r in regions],
        "lines": page["lines"],
    }


# --- Faust agent: pages.ocr (key page) -> pages.layout (key doc) -----------------------------


def register(app: faust.App, ctx: StageContext) -> faust.types.AgentT:
    """The layout agent; it re-keys pages by document for assembly."""

    @app.agent(ctx.topic(topics.PAGES_OCR), name="layout", concurrency=4)
    async def layout(stream: faust.StreamT) -> None:
        async for event, page in decoded_records(ctx, stream, topics.PAGES_OCR, "LAYOUT"):
            try:
                record = await layout_page(ctx, page)
            except Exception as exc:  # the page becomes a failed result; the stream goes on
                if not isinstance(exc, PagestreamError):
                    log.exception("layout failed for %s page %s", page["doc_id"], page["page_no"])
                await ctx.dead_letter(
                    "LAYOUT",
                    exc,
                    doc_id=page["doc_id"],
                    tenant=page["tenant"],
                    page_no=page["page_no"],
                    source=SourceInfo.of(event),
                )
                record = layout_record(page, [], None, error=exc)
            await ctx.emit(topics.PAGES_LAYOUT, record, page["doc_id"])

    return layout


async def layout_page(ctx: StageContext, page: dict) -> dict:
    if page["status"] != "OK":
        return layout_record(page, [], None)
    started = time.perf_counter()
    page = {**page, "lines": await load_lines(ctx, page)}
    regions = layout_regions([LineIn(ln["text"], tuple(ln["bbox"])) for ln in page["lines"]])
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
        "regions": [asdict(r) | {"bbox": list(r.bbox)} for r in regions],
        "text": page_text(regions),
        "word_count": sum(len(ln["words"]) for ln in page["lines"]),
        "mean_confidence": page["mean_confidence"],
        "result_uri": result_uri,
        "error_code": getattr(error, "code", "internal_error") if error else page.get("error_code"),
        "error_message": (str(error) or type(error).__name__) if error else page.get("error_message"),
        "produced_at": now_ms(),
    }
