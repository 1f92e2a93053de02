"""OCR: page image in, lines and words with boxes and confidences out.

Engines sit behind one small interface (``OcrEngine``); an engine is built once per pool process
and reused for every page (``agents.pool``). Available here: Tesseract through tesserocr, with the
language data of Debian's tesseract-ocr packages.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import faust
from PIL import Image

from pagestream.agents.context import SourceInfo, StageContext, decoded_records, now_ms
from pagestream.streams import topics
from pagestream.streams.errors import PageFailed, PagestreamError

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class OcrWord:
    text: str
    bbox: Box
    confidence: float


@dataclass
class OcrLine:
    bbox: Box
    words: list[OcrWord] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def confidence(self) -> float:
        return sum(w.confidence for w in self.words) / len(self.words) if self.words else 0.0


@dataclass
class OcrPage:
    lines: list[OcrLine]
    engine: str
    engine_version: str
    model: str
    duration_ms: int

    @property
    def words(self) -> list[OcrWord]:
        return [w for line in self.lines for w in line.words]

    @property
    def mean_confidence(self) -> float:
        words = self.words
        return sum(w.confidence for w in words) / len(words) if words else 0.0

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True)
class EngineSpec:
    """What a pool process needs to build an engine (picklable)."""

    name: str
    languages: str
    tessdata: Path | None


class OcrEngine(Protocol):
    name: str
    version: str
    model: str

    def recognize(self, image: Image.Image) -> OcrPage: ...


class TesseractEngine:
    """Tesseract 5 (LSTM) through tesserocr's C API: the model is loaded once, here."""

    name = "tesseract"

    def __init__(self, languages: str, tessdata: Path | None) -> None:
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # threads oversubscribe the cores
        import tesserocr

        self._tesserocr = tesserocr
        if tessdata is None or not (tessdata / "eng.traineddata").is_file():
            raise PageFailed(
                f"Tesseract language data not found (looked in {tessdata}); install Debian's "
                "tesseract-ocr packages or set PAGESTREAM_TESSDATA_DIR",
                code="engine_unavailable",
            )
        missing = [lang for lang in languages.split("+") if not (tessdata / f"{lang}.traineddata").is_file()]
        if missing:
            raise PageFailed(
                f"Tesseract languages {', '.join(missing)} are not installed in {tessdata}",
                code="engine_unavailable",
            )
        self._api = tesserocr.PyTessBaseAPI(path=str(tessdata) + "/", lang=languages, psm=tesserocr.PSM.AUTO)
        self.version = tesserocr.tesseract_version().split()[1]
        self.model = languages

    def recognize(self, image: Image.Image) -> OcrPage:
        ril = self._tesserocr.RIL
        started = time.perf_counter()
        self._api.SetImage(image)
        self._api.Recognize()
        lines: list[OcrLine] = []
        iterator = self._api.GetIterator()
        current: OcrLine | None = None
        for word in self._tesserocr.iterate_level(iterator, ril.WORD):
            box = word.BoundingBox(ril.WORD)
            if box is None:
                continue
            if current is None or word.IsAtBeginningOf(ril.TEXTLINE):
                line_box = word.BoundingBox(ril.TEXTLINE) or box
                current = OcrLine(bbox=tuple(line_box))
                lines.append(current)
            text = (word.GetUTF8Text(ril.WORD) or "").strip()
            if text:
                current.words.append(OcrWord(text, tuple(box), round(word.Confidence(ril.WORD) / 100, 4)))
        self._api.Clear()
        elapsed = int((time.perf_counter() - started) * 1000)
        return OcrPage([ln for ln in lines if ln.words], self.name, self.version, self.model, elapsed)


ENGINES = {"tesseract": TesseractEngine}


def build_engine(spec: EngineSpec) -> OcrEngine:
    """The engine named by ``spec``; a clear error names the engines this build offers."""
    factory = ENGINES.get(spec.name)
    if factory is None:
        raise PageFailed(
            f"unknown OCR engine {spec.name!r}; available: {', '.join(sorted(ENGINES))}",
            code="unknown_engine",
        )
    return factory(spec.languages, spec.tessdata)


# This pool process's engines by name: built once on first use, reused for every page it reads.
_engines: dict[str, OcrEngine] = {}
_default_spec: list[EngineSpec] = []


def init_process(spec: EngineSpec) -> None:
    """Pool-process initializer: remember the deployment's engine and load it before any page."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    _default_spec[:] = [spec]
    # An engine that cannot load is reported with the first page that needs it, as a page error.
    with contextlib.suppress(PageFailed):
        _engine_named(spec.name)


def _engine_named(name: str) -> OcrEngine:
    if name not in _engines:
        _engines[name] = build_engine(replace(_default_spec[0], name=name))
    return _engines[name]


def ocr_png(png: bytes, engine: str | None = None) -> OcrPage:
    """Read one page image in a pool process with the named engine (default: the deployment's)."""
    if not _default_spec:
        raise PageFailed("OCR runs in pool processes started by agents.pool.make_pool", code="internal_error")
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return _engine_named(engine or _default_spec[0].name).recognize(image)


def page_record_fields(page: OcrPage) -> dict:
    """The OCR part of a PageOcr event."""
    return {
        "engine": page.engine,
        "engine_version": page.engine_version,
        "model": page.model,
        "lines": [
            {
                "text": line.text,
                "bbox": list(line.bbox),
                "confidence": line.confidence,
                "words": [{"text": w.text, "bbox": list(w.bbox), "confidence": w.confidence} for w in line.words],
            }
            for line in page.lines
        ],
        "mean_confidence": page.mean_confidence,
        "duration_ms": page.duration_ms,
    }


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

    @app.agent(ctx.topic(topics.PAGES_RAW), name="ocr", concurrency=ctx.settings.in_flight_pages)
    async def ocr(stream: faust.StreamT) -> None:
        async for event, page in decoded_records(ctx, stream, topics.PAGES_RAW, "OCR"):
            try:
                await ocr_page(ctx, page)
            except Exception as exc:  # the page becomes a failed result; the stream goes on
                if not isinstance(exc, PagestreamError):
                    log.exception("OCR failed for %s page %s", page["doc_id"], page["page_no"])
                await ctx.dead_letter(
                    "OCR",
                    exc,
                    doc_id=page["doc_id"],
                    tenant=page["tenant"],
                    page_no=page["page_no"],
                    input_ref=page["image_uri"],
                    source=SourceInfo.of(event),
                )
                await ctx.emit(
                    topics.PAGES_OCR,
                    failed_page_record(page, page["page_no"], page["page_count"], exc),
                    page["doc_id"],
                    page["page_no"],
                )

    return ocr


async def ocr_page(ctx: StageContext, page: dict) -> None:
    png = await ctx.run_io(ctx.store.get, page["image_uri"])
    result = await ctx.run_cpu(ocr_png, png, page.get("ocr_engine"))
    record = {
        "doc_id": page["doc_id"],
        "tenant": page["tenant"],
        "page_no": page["page_no"],
        "page_count": page["page_count"],
        "image_uri": page["image_uri"],
        "width": page["width"],
        "height": page["height"],
        "status": "OK",
        "text_source": "OCR",
        **page_record_fields(result),
        "produced_at": now_ms(),
    }
    await ctx.emit(topics.PAGES_OCR, record, page["doc_id"], page["page_no"])
    await ctx.progress(
        page["doc_id"],
        page["tenant"],
        "OCR",
        "PAGE_DONE",
        page_no=page["page_no"],
        page_count=page["page_count"],
        duration_ms=result.duration_ms,
        versions={"ocr": f"{result.engine} {result.engine_version}", "ocr_model": result.model},
    )
