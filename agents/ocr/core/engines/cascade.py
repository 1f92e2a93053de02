"""A cascade of two engines: the fast one reads the page, the second one only what it doubts.

Lines the first engine reads with a confidence under ``line_confidence`` are cut out and read again
by the second engine; its reading replaces the line when it is itself at least that confident.
When the first engine doubts most of the page (more than ``page_fraction`` of its lines) or finds
no text at all, the second engine reads the whole page instead. Confidences of different engines
are not on one scale, so each is only compared with the threshold, never with the other.
"""

from __future__ import annotations

import time
from dataclasses import replace

from PIL import Image

from pagestream.agents.common.ocr_result import OcrEngine, OcrLine, OcrPage, words_spread_over

_PAD = 4  # pixels around a line crop: recognisers need a margin


class CascadeEngine:
    def __init__(self, first: OcrEngine, second: OcrEngine, line_confidence: float, page_fraction: float) -> None:
        self.first, self.second = first, second
        self.line_confidence, self.page_fraction = line_confidence, page_fraction
        self.name = f"{first.name}>{second.name}"
        self.version = f"{first.name} {first.version}; {second.name} {second.version}"
        self.model = f"{first.model}>{second.model}"
        self.lines_reread = 0  # counters for the evaluation: how much work went to the second engine
        self.pages_reread = 0

    def recognize(self, image: Image.Image) -> OcrPage:
        started = time.perf_counter()
        page = self.first.recognize(image)
        doubtful = [i for i, line in enumerate(page.lines) if line.confidence < self.line_confidence]
        if not page.lines or len(doubtful) > self.page_fraction * len(page.lines):
            self.pages_reread += 1
            page = self.second.recognize(image)
        else:
            lines = list(page.lines)
            for i in doubtful:
                lines[i] = self._reread(image, lines[i])
            page = replace(page, lines=lines)
        elapsed = int((time.perf_counter() - started) * 1000)
        return replace(page, engine=self.name, engine_version=self.version, model=self.model, duration_ms=elapsed)

    def _reread(self, image: Image.Image, line: OcrLine) -> OcrLine:
        x0, y0, x1, y1 = line.bbox
        box = (max(x0 - _PAD, 0), max(y0 - _PAD, 0), min(x1 + _PAD, image.width), min(y1 + _PAD, image.height))
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            return line
        self.lines_reread += 1
        text, confidence = self.second.read_line(image.crop(box))
        if not text or confidence < self.line_confidence:
            return line
        return OcrLine(line.bbox, words_spread_over(text, line.bbox, round(confidence, 4)))

    def read_line(self, image: Image.Image) -> tuple[str, float]:
        text, confidence = self.first.read_line(image)
        if confidence >= self.line_confidence:
            return text, confidence
        return self.second.read_line(image)
