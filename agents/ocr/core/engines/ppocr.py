"""PP-OCR on ONNX runtime with the PP-OCRv6 small det/rec models shipped inside the rapidocr wheel.

rapidocr would download any other model at run time, which fails offline; so the engine points it
explicitly at the files in the wheel and never lets it choose. ONNX runtime runs one intra-op and
one inter-op thread per process: the pool's processes already fill the cores.
"""

from __future__ import annotations

import os
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
from PIL import Image

from pagestream.agents.common.ocr_result import OcrLine, OcrPage, OcrWord, quad_box, words_spread_over
from pagestream.streams.errors import PageFailed

DET_MODEL = "PP-OCRv6_det_small"
REC_MODEL = "PP-OCRv6_rec_small"
_SHIPPED_FILES = {DET_MODEL: "PP-OCRv6_det_small.onnx", REC_MODEL: "PP-OCRv6_rec_small.onnx"}
EXTRA_HINT = 'install the OCR extra: pip install -e ".[ocr-extra]" (ops/bootstrap.sh does)'


def shipped_models() -> dict[str, Path]:
    """The PP-OCRv6 ONNX files inside the installed rapidocr wheel, by model name."""
    try:
        import rapidocr
    except ImportError as exc:
        raise PageFailed(f"PP-OCR needs the rapidocr package; {EXTRA_HINT}", code="engine_unavailable") from exc
    folder = Path(rapidocr.__file__).parent / "models"
    paths = {name: folder / file for name, file in _SHIPPED_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise PageFailed(
            f"the PP-OCR models are not in the rapidocr wheel ({', '.join(missing)}); rapidocr 3.10 ships them",
            code="engine_unavailable",
        )
    return paths


class PpOcrEngine:
    name = "ppocr"

    def __init__(self) -> None:
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        models = shipped_models()
        from rapidocr import RapidOCR

        self._ocr = RapidOCR(
            params={
                "Global.log_level": "warning",
                "Global.use_cls": False,  # page orientation is the preprocessing's job
                "Det.model_path": str(models[DET_MODEL]),
                "Rec.model_path": str(models[REC_MODEL]),
                "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
        self.version = f"rapidocr {version('rapidocr')} onnxruntime {version('onnxruntime')}"
        self.model = f"{DET_MODEL}+{REC_MODEL}"

    def recognize(self, image: Image.Image) -> OcrPage:
        started = time.perf_counter()
        result = self._ocr(
            np.asarray(image.convert("L")), use_det=True, use_cls=False, use_rec=True, return_word_box=True
        )
        lines: list[OcrLine] = []
        if result.boxes is not None:
            word_results = result.word_results or [()] * len(result.txts)
            for quad, text, score, words in zip(result.boxes, result.txts, result.scores, word_results, strict=True):
                box = quad_box(quad)
                parsed = [OcrWord(w.strip(), quad_box(q), round(float(s), 4)) for w, s, q in words if w.strip()]
                # A line whose word boxes do not match its text (CJK, merged tokens) keeps its own words.
                if " ".join(w.text for w in parsed) != " ".join(text.split()):
                    parsed = words_spread_over(text, box, round(float(score), 4))
                if parsed:
                    lines.append(OcrLine(box, parsed))
        elapsed = int((time.perf_counter() - started) * 1000)
        return OcrPage(lines, self.name, self.version, self.model, elapsed, image.width, image.height)

    def read_line(self, image: Image.Image) -> tuple[str, float]:
        # With detection: a first engine's "line" may span columns with wide gaps between them,
        # which the recogniser alone squeezes into one unreadable strip.
        page = self.recognize(image)
        return " ".join(line.text for line in page.lines), page.mean_confidence
