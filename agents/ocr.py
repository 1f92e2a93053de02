"""OCR: page image in, lines and words with boxes and confidences out.

Engines sit behind one small interface (``agents.ocr_result.OcrEngine``; the engines themselves
in ``agents.engines_*``, chosen by name in ``agents.engines``). A pool process builds each engine
it is asked for once and reuses it for every page (``agents.pool``); before reading, the page
goes through the configured OpenCV preprocessing (``agents.preprocess``). Results larger than
``max_inline_lines_bytes`` travel by claim check (``lines_uri``) to keep Kafka messages small.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import replace

import faust
from PIL import Image

from pagestream.agents.context import StageContext, each_record, now_ms
from pagestream.agents.engines import EngineCache
from pagestream.agents.ocr_result import Box, EngineSpec, OcrPage
from pagestream.agents.preprocess import prepare
from pagestream.agents.retry import attempt_of_event, retry_or_dead_letter
from pagestream.connectors.objectstore import document_prefix
from pagestream.streams import topics
from pagestream.streams.errors import PageFailed
from pagestream.streams.retry_policy import inject_fault
from pagestream.streams.settings import Settings

__all__ = ["Box", "EngineSpec", "OcrPage", "engine_spec", "init_process", "ocr_png", "read_image"]


def engine_spec(settings: Settings) -> EngineSpec:
    """What pool processes need from the settings to build engines and prepare pages."""
    return EngineSpec(
        name=settings.ocr_engine,
        languages=settings.ocr_languages,
        tessdata=settings.tessdata,
        model_dir=settings.ocr_model_dir,
        preprocess=settings.ocr_preprocess_steps,
        cascade_line_confidence=settings.ocr_cascade_line_confidence,
        cascade_page_fraction=settings.ocr_cascade_page_fraction,
    )


# This pool process's engines, built on first use and reused for every page it reads.
_cache: list[EngineCache] = []


def init_process(spec: EngineSpec) -> None:
    """Pool-process initializer: pin every library to one thread, load the default engine."""
    for var in ("OMP_THREAD_LIMIT", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import cv2

    cv2.setNumThreads(1)
    _cache[:] = [EngineCache(spec)]
    # An engine that cannot load is reported with the first page that needs it, as a page error.
    with contextlib.suppress(PageFailed):
        _cache[0].get(spec.name)


def read_image(image: Image.Image, engine: str | None = None) -> OcrPage:
    """Prepare and read one page image in a pool process (default engine: the deployment's)."""
    if not _cache:
        raise PageFailed("OCR runs in pool processes started by agents.pool.make_pool", code="internal_error")
    spec = _cache[0].spec
    prepared = prepare(image, spec.preprocess, spec.tessdata)
    page = _cache[0].get(engine or spec.name).recognize(prepared.image)
    return replace(page, orientation=prepared.orientation, skew=prepared.skew)


def ocr_png(png: bytes, engine: str | None = None) -> OcrPage:
    """Read one page image given as PNG (or any Pillow format) bytes."""
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return read_image(image, engine)


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


def page_record(page: dict, result: OcrPage, text_source: str, lines: list[dict], lines_uri: str | None) -> dict:
    """The PageOcr event of a page read by an engine (OCR) or taken from its text layer."""
    return {
        "doc_id": page["doc_id"],
        "tenant": page["tenant"],
        "page_no": page["page_no"],
        "page_count": page["page_count"],
        "image_uri": page["image_uri"],
        "width": result.width or page["width"],
        "height": result.height or page["height"],
        "status": "OK",
        "text_source": text_source,
        "engine": result.engine,
        "engine_version": result.engine_version,
        "model": result.model,
        "lines": lines,
        "lines_uri": lines_uri,
        "orientation": result.orientation,
        "skew": result.skew,
        "mean_confidence": result.mean_confidence,
        "duration_ms": result.duration_ms,
        "produced_at": now_ms(),
    }


async def emit_page_result(ctx: StageContext, page: dict, result: OcrPage, text_source: str) -> None:
    """Send a page's text on pages.ocr (lines by claim check when big) and the OCR progress."""
    lines, lines_uri = lines_of(result), None
    body = json.dumps(lines).encode()
    if len(body) > ctx.settings.max_inline_lines_bytes:
        key = f"{document_prefix(page['tenant'], page['doc_id'])}/results/lines-{page['page_no']:04d}.json"
        lines_uri = (await ctx.run_io(ctx.store.put, key, body, "application/json")).uri
        lines = []
    record = page_record(page, result, text_source, lines, lines_uri)
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


def failed_page_record(page: dict, page_no: int, page_count: int, exc: BaseException) -> dict:
    """A PageOcr with status FAILED: the page travels on as data so its document still completes."""
    return {
        "doc_id": page["doc_id"],
        "tenant": page["tenant"],
        "page_no": page_no,
        "page_count": page_count,
        "image_uri": page.get("image_uri") or "",
        "width": page.get("width") or 0,
        "height": page.get("height") or 0,
        "status": "FAILED",
        "text_source": "OCR",
        "engine": page.get("ocr_engine") or "",
        "engine_version": "",
        "model": "",
        "lines": [],
        "mean_confidence": 0.0,
        "duration_ms": 0,
        "error_code": getattr(exc, "code", "internal_error"),
        "error_message": str(exc) or type(exc).__name__,
        "produced_at": now_ms(),
    }


# --- Faust agent: pages.raw -> pages.ocr ------------------------------------------------------


def register(app: faust.App, ctx: StageContext) -> faust.types.AgentT:
    """The OCR agent: ``in_flight_pages`` instances, each awaiting one page in the process pool."""

    async def handle(event: faust.types.EventT, page: dict) -> None:
        try:
            inject_fault(ctx.settings, "OCR", page["tenant"], attempt_of_event(event))
            await ocr_page(ctx, page)
        except Exception as failure:  # retried, or the page becomes a failed result; the stream goes on
            exc = await retry_or_dead_letter(
                ctx, "OCR", failure, event, doc_id=page["doc_id"], tenant=page["tenant"], page_no=page["page_no"],
                input_ref=page["image_uri"],
                versions={"ocr_engine": ctx.settings.ocr_engine_for(page["tenant"], page.get("ocr_engine"))},
            )  # fmt: skip
            if exc is None:
                return
            await ctx.emit(
                topics.PAGES_OCR,
                failed_page_record(page, page["page_no"], page["page_count"], exc),
                page["doc_id"],
                page["page_no"],
            )

    @app.agent(ctx.topic(topics.PAGES_RAW), name="ocr", concurrency=ctx.settings.in_flight_pages)
    async def ocr(stream: faust.StreamT) -> None:
        await each_record(ctx, stream, topics.PAGES_RAW, "OCR", handle)

    return ocr


async def ocr_page(ctx: StageContext, page: dict) -> None:
    png = await ctx.run_io(ctx.store.get, page["image_uri"])
    engine = ctx.settings.ocr_engine_for(page["tenant"], page.get("ocr_engine"))
    result = await ctx.run_cpu(ocr_png, png, engine)
    await emit_page_result(ctx, page, result, "OCR")
