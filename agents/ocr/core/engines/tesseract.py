"""Tesseract 5 (LSTM) through tesserocr's C API, with Debian's language data.

The model is loaded once, when the engine is built; OMP_THREAD_LIMIT=1 keeps Tesseract's OpenMP
threads from oversubscribing the cores that the pool's processes already fill (5-10x slower).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PIL import Image

from pagestream.agents.common.ocr_result import OcrLine, OcrPage, OcrWord
from pagestream.streams.errors import PageFailed


class TesseractEngine:
    name = "tesseract"

    def __init__(self, languages: str, tessdata: Path | None) -> None:
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
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
        current: OcrLine | None = None
        for word in self._tesserocr.iterate_level(self._api.GetIterator(), ril.WORD):
            box = word.BoundingBox(ril.WORD)
            if box is None:
                continue
            if current is None or word.IsAtBeginningOf(ril.TEXTLINE):
                current = OcrLine(bbox=tuple(word.BoundingBox(ril.TEXTLINE) or box))
                lines.append(current)
            text = (word.GetUTF8Text(ril.WORD) or "").strip()
            if text:
                current.words.append(OcrWord(text, tuple(box), round(word.Confidence(ril.WORD) / 100, 4)))
        self._api.Clear()
        elapsed = int((time.perf_counter() - started) * 1000)
        return OcrPage(
            [ln for ln in lines if ln.words], self.name, self.version, self.model, elapsed, image.width, image.height
        )

    def read_line(self, image: Image.Image) -> tuple[str, float]:
        self._api.SetPageSegMode(self._tesserocr.PSM.SINGLE_LINE)
        try:
            self._api.SetImage(image)
            text = " ".join(self._api.GetUTF8Text().split())
            confidence = self._api.MeanTextConf() / 100
        finally:
            self._api.SetPageSegMode(self._tesserocr.PSM.AUTO)
            self._api.Clear()
        return text, confidence
