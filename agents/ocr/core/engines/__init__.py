"""The OCR engines, built once per pool process.

Engine names: ``tesseract``, ``ppocr`` (PP-OCRv6 on ONNX runtime, models from the rapidocr
wheel), ``paddleocr`` (paddleocr 3.x on the same ONNX models), and a cascade of two written
``first>second`` (e.g. ``tesseract>ppocr``). A deployment picks one in the settings, a tenant or
a document may ask for another; every name is checked at ingest so that a typo rejects the
document clearly instead of failing each of its pages.
"""

from __future__ import annotations

from pagestream.agents.common.ocr_result import EngineSpec, OcrEngine, engine_parts
from pagestream.agents.ocr.core.engines.cascade import CascadeEngine


def _build_one(name: str, spec: EngineSpec) -> OcrEngine:
    if name == "tesseract":
        from pagestream.agents.ocr.core.engines.tesseract import TesseractEngine

        return TesseractEngine(spec.languages, spec.tessdata)
    if name == "ppocr":
        from pagestream.agents.ocr.core.engines.ppocr import PpOcrEngine

        return PpOcrEngine()
    from pagestream.agents.ocr.core.engines.paddleocr import PaddleOcrEngine

    return PaddleOcrEngine(spec.model_dir)


class EngineCache:
    """The engines of one process by name, each built on first use and kept (models load once);
    a cascade reuses the single engines it is made of."""

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self._engines: dict[str, OcrEngine] = {}

    def get(self, name: str) -> OcrEngine:
        if name not in self._engines:
            parts = engine_parts(name)
            if len(parts) == 1:
                self._engines[name] = _build_one(name, self.spec)
            else:
                self._engines[name] = CascadeEngine(
                    self.get(parts[0]),
                    self.get(parts[1]),
                    self.spec.cascade_line_confidence,
                    self.spec.cascade_page_fraction,
                )
        return self._engines[name]
