"""Which OCR engines exist, and building them once per pool process.

Engine names: ``tesseract``, ``ppocr`` (PP-OCRv6 on ONNX runtime, models from the rapidocr
wheel), ``paddleocr`` (paddleocr 3.x on the same ONNX models), and a cascade of two written
``first>second`` (e.g. ``tesseract>ppocr``). A deployment picks one in the settings, a tenant or
a document may ask for another; every name is checked at ingest so that a typo rejects the
document clearly instead of failing each of its pages.
"""

from __future__ import annotations

from pagestream.agents.cascade import CascadeEngine
from pagestream.agents.ocr_result import EngineSpec, OcrEngine
from pagestream.streams.errors import PageFailed

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


def _build_one(name: str, spec: EngineSpec) -> OcrEngine:
    if name == "tesseract":
        from pagestream.agents.engines_tesseract import TesseractEngine

        return TesseractEngine(spec.languages, spec.tessdata)
    if name == "ppocr":
        from pagestream.agents.engines_ppocr import PpOcrEngine

        return PpOcrEngine()
    from pagestream.agents.engines_paddleocr import PaddleOcrEngine

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
