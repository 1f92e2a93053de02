"""What every OCR engine returns, which engines exist, and what a pool process needs to build one.

Shared by the engines (``agents.ocr.core.engines``), the cascade, the text-layer fast path of
ingest and the OCR agent, so that all of them speak one small vocabulary: a page is lines of
words with pixel boxes and confidences in 0..1, plus the engine, version and model that produced
it. Engine names live here because ingest checks them (a typo rejects the document at once)
without importing the OCR stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from PIL import Image

from pagestream.agents.common.geometry import Box, union
from pagestream.streams.errors import PageFailed

__all__ = ["ENGINES", "Box", "EngineSpec", "OcrEngine", "OcrLine", "OcrPage", "OcrWord", "engine_parts", "union"]

ENGINES = ("tesseract", "ppocr", "paddleocr")


def engine_parts(name: str) -> list[str]:
    """The engines a name stands for (one, or two for a cascade); a clear error otherwise."""
    parts = [p.strip() for p in name.split(">")]
    unknown = [p for p in parts if p not in ENGINES]
    if unknown or not 1 <= len(parts) <= 2 or len(set(parts)) != len(parts):
        raise PageFailed(
            f"unknown OCR engine {name!r}; available: {', '.join(ENGINES)}, or a cascade of two "
            "written first>second (e.g. tesseract>ppocr)",
            code="unknown_engine",
        )
    return parts


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
    width: int = 0  # the coordinate space of the boxes (after any rotation by preprocessing)
    height: int = 0
    orientation: int = 0  # clockwise degrees the page was turned before reading
    skew: float = 0.0  # degrees of skew corrected before reading

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
    """What a pool process needs to build engines and read pages (picklable)."""

    name: str
    languages: str
    tessdata: Path | None
    model_dir: Path | None = None  # where generated PaddleOCR model folders live
    preprocess: tuple[str, ...] = ()
    cascade_line_confidence: float = 0.75
    cascade_page_fraction: float = 0.5


class OcrEngine(Protocol):
    """One engine, built once per pool process: page image in, lines and words out."""

    name: str
    version: str
    model: str

    def recognize(self, image: Image.Image) -> OcrPage: ...

    def read_line(self, image: Image.Image) -> tuple[str, float]:
        """The text and confidence of an image holding one line (for the cascade)."""
        ...


def quad_box(points: object) -> Box:
    """The axis-aligned box around a quadrilateral of four (x, y) points."""
    xs = [round(float(p[0])) for p in points]  # type: ignore[union-attr]
    ys = [round(float(p[1])) for p in points]  # type: ignore[union-attr]
    return (min(xs), min(ys), max(xs), max(ys))


def words_spread_over(text: str, box: Box, confidence: float) -> list[OcrWord]:
    """Words of a line read without word boxes, their boxes spread over the line by length."""
    tokens = text.split()
    if not tokens:
        return []
    total = sum(len(t) for t in tokens) + len(tokens) - 1
    x0, y0, x1, y1 = box
    per_char = (x1 - x0) / max(total, 1)
    words, pos = [], 0
    for token in tokens:
        start = x0 + round(pos * per_char)
        end = x0 + round((pos + len(token)) * per_char)
        words.append(OcrWord(token, (start, y0, max(end, start + 1), y1), confidence))
        pos += len(token) + 1
    return words
