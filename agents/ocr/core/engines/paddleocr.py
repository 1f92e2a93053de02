"""``paddleocr`` itself (3.x, PaddleX's OCR pipeline) on its ONNX runtime engine, fully offline.

No package ships PaddleOCR's own model folders and paddleocr refuses to start without them; it
accepts local folders, though, and PaddleX's loader takes an ``inference.onnx`` beside an
``inference.yml``. This adapter builds such folders from the PP-OCRv6 small ONNX files in the
rapidocr wheel (the character list comes from the recognition model's metadata) once, and points
paddleocr at them, so no model is ever downloaded.
"""

from __future__ import annotations

import os
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from PIL import Image

from pagestream.agents.common.ocr_result import OcrLine, OcrPage, OcrWord, quad_box, words_spread_over
from pagestream.agents.ocr.core.engines.ppocr import DET_MODEL, EXTRA_HINT, shipped_models
from pagestream.streams.errors import PageFailed

# PaddleX's model names for the same networks as the rapidocr files.
PADDLE_DET = "PP-OCRv6_small_det"
PADDLE_REC = "PP-OCRv6_small_rec"


def _det_config() -> dict:
    return {
        "Global": {"model_name": PADDLE_DET},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"DetResizeForTest": {"resize_long": 960}},
                {
                    "NormalizeImage": {
                        "mean": [0.485, 0.456, 0.406],
                        "std": [0.229, 0.224, 0.225],
                        "scale": 1 / 255,
                        "order": "hwc",
                    }
                },
                {"ToCHWImage": None},
                {"KeepKeys": {"keep_keys": ["image", "shape"]}},
            ]
        },
        "PostProcess": {
            "name": "DBPostProcess",
            "thresh": 0.3,
            "box_thresh": 0.6,
            "max_candidates": 1000,
            "unclip_ratio": 1.5,
        },
    }


def _rec_config(characters: list[str]) -> dict:
    return {
        "Global": {"model_name": PADDLE_REC},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"RecResizeImg": {"image_shape": [3, 48, 320]}},
                {"KeepKeys": {"keep_keys": ["image", "length"]}},
            ]
        },
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": characters},
    }


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)


def prepare_model_dirs(root: Path) -> tuple[Path, Path]:
    """Detection and recognition folders under ``root`` in PaddleX's layout, made once."""
    import onnxruntime
    import yaml

    det, rec = root / PADDLE_DET, root / PADDLE_REC
    if (det / "inference.yml").is_file() and (rec / "inference.yml").is_file():
        return det, rec
    models = shipped_models()
    for folder, source in ((det, models[DET_MODEL]), (rec, models["PP-OCRv6_rec_small"])):
        folder.mkdir(parents=True, exist_ok=True)
        onnx = folder / "inference.onnx"
        if not onnx.exists():
            _write_atomically(onnx, source.read_bytes())
    session = onnxruntime.InferenceSession(str(rec / "inference.onnx"), providers=["CPUExecutionProvider"])
    characters = session.get_modelmeta().custom_metadata_map["character"].splitlines()
    _write_atomically(det / "inference.yml", yaml.safe_dump(_det_config()).encode())
    _write_atomically(rec / "inference.yml", yaml.safe_dump(_rec_config(characters), allow_unicode=True).encode())
    for folder in (det, rec):
        check_model_dir(folder)
    return det, rec


def check_model_dir(folder: Path) -> None:
    """A clear error unless ``folder`` holds a PaddleX model (inference.yml plus the network)."""
    missing = [] if (folder / "inference.yml").is_file() else ["inference.yml"]
    if not (folder / "inference.onnx").is_file():
        missing.append("inference.onnx")
    if missing:
        raise PageFailed(
            f"paddleocr needs local models: {folder} lacks {', '.join(missing)}. No package ships "
            "PaddleOCR's model folders; pagestream writes them from the rapidocr wheel's ONNX files "
            "into PAGESTREAM_OCR_MODEL_DIR, which must be writable",
            code="engine_unavailable",
        )


class PaddleOcrEngine:
    name = "paddleocr"

    def __init__(self, model_dir: Path | None) -> None:
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")  # no hub look-ups
        try:
            paddleocr_version = version("paddleocr")
            from paddleocr import PaddleOCR
        except (ImportError, PackageNotFoundError) as exc:
            raise PageFailed(
                f"the paddleocr engine needs the paddleocr package; {EXTRA_HINT}", code="engine_unavailable"
            ) from exc
        if model_dir is None:
            raise PageFailed("paddleocr needs a model folder: set PAGESTREAM_OCR_MODEL_DIR", code="engine_unavailable")
        det, rec = prepare_model_dirs(model_dir)
        for folder in (det, rec):
            check_model_dir(folder)  # folders prepared earlier may have been emptied since
        self._ocr = PaddleOCR(
            engine="onnxruntime",
            engine_config={"intra_op_num_threads": 1, "inter_op_num_threads": 1},
            device="cpu",
            text_detection_model_name=PADDLE_DET,
            text_detection_model_dir=str(det),
            text_recognition_model_name=PADDLE_REC,
            text_recognition_model_dir=str(rec),
            use_doc_orientation_classify=False,
            use_doc_unwarping=False,
            use_textline_orientation=False,
            return_word_box=True,
        )
        self.version = f"paddleocr {paddleocr_version} onnxruntime {version('onnxruntime')}"
        self.model = f"{PADDLE_DET}+{PADDLE_REC}"

    def recognize(self, image: Image.Image) -> OcrPage:
        started = time.perf_counter()
        result = self._ocr.predict(np.asarray(image.convert("RGB"))[:, :, ::-1])[0]
        lines: list[OcrLine] = []
        for i, (text, score, poly) in enumerate(
            zip(result["rec_texts"], result["rec_scores"], result["rec_polys"], strict=True)
        ):
            box, confidence = quad_box(poly), round(float(score), 4)
            tokens = result["text_word"][i] if "text_word" in result else []
            regions = result["text_word_region"][i] if "text_word_region" in result else []
            words = [
                OcrWord(t.strip(), quad_box(r), confidence) for t, r in zip(tokens, regions, strict=False) if t.strip()
            ]
            if " ".join(w.text for w in words) != " ".join(text.split()):
                words = words_spread_over(text, box, confidence)
            if words:
                lines.append(OcrLine(box, words))
        elapsed = int((time.perf_counter() - started) * 1000)
        return OcrPage(lines, self.name, self.version, self.model, elapsed, image.width, image.height)

    def read_line(self, image: Image.Image) -> tuple[str, float]:
        page = self.recognize(image)
        return " ".join(line.text for line in page.lines), page.mean_confidence
