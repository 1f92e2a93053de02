"""Measure layout methods per region kind against the evaluation data's ground-truth regions.

    .venv/bin/python ops/eval/layout_eval.py ../shared/evaldata [--ocr] > layout.json

Inputs per page: the ground-truth words as OCR (or, with --ocr, Tesseract's words), the page
image and the model's detections (run once per page). Methods compared: geometry alone, the
model alone (its boxes mapped to kinds), the combination with every model label, and the
combination without each label in turn, so that each label is kept only where it helps.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from pagestream.agents.layout_analysis import MODEL_KINDS, analyse_page
from pagestream.agents.layout_model import process_model
from pagestream.agents.layout_score import add_counts, f1_table, match_counts

MODEL_ONLY = {**MODEL_KINDS, "title": "title"}


def pages(root: Path):
    for gt_path in sorted((root / "synthetic").glob("*/gt.json")):
        gt = json.loads(gt_path.read_text())
        for page in gt["pages"]:
            yield "synthetic", root / "synthetic" / page["image"], page
    for gt_path in sorted((root / "real" / "docbank" / "gt").glob("*.json")):
        gt = json.loads(gt_path.read_text())
        for page in gt["pages"]:
            yield "docbank", root / "real" / "docbank" / page["image"], page


def ocr_lines(image: Image.Image) -> list[dict]:
    from pagestream.agents.ocr import TesseractEngine, page_record_fields
    from pagestream.streams.settings import Settings

    engine = _engines.setdefault("t", TesseractEngine("eng+deu+fra", Settings().tessdata))
    return page_record_fields(engine.recognize(image))["lines"]


_engines: dict = {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("evaldata", type=Path)
    parser.add_argument("--ocr", action="store_true", help="use Tesseract's words instead of the ground truth's")
    args = parser.parse_args()
    model = process_model()
    configs = {"geometry": {}, "combined": MODEL_KINDS}
    configs |= {
        f"combined-without-{label}": {k: v for k, v in MODEL_KINDS.items() if k != label} for label in MODEL_KINDS
    }
    totals: dict[str, dict[str, dict]] = {}
    timing = {"model_s": 0.0, "geometry_s": 0.0, "pages": 0}
    for dataset, image_path, page in pages(args.evaldata):
        with Image.open(image_path) as im:
            grey = np.array(im.convert("L"))
            lines = ocr_lines(im.convert("L")) if args.ocr else page["lines"]
        truth = [(r["type"], r["bbox"]) for r in page["regions"]]
        started = time.perf_counter()
        detections = model.detect(grey)
        timing["model_s"] += time.perf_counter() - started
        timing["pages"] += 1
        only = [(MODEL_ONLY[d.label], d.bbox) for d in detections if d.label in MODEL_ONLY]
        add_counts(totals.setdefault(dataset, {}).setdefault("model-only", {}), match_counts(only, truth))
        for name, kinds in configs.items():
            started = time.perf_counter()
            regions = analyse_page(lines, page["width"], page["height"], grey, detections if kinds else [], kinds)
            if name == "geometry":
                timing["geometry_s"] += time.perf_counter() - started
            predicted = [(r.kind, r.bbox) for r in regions]
            add_counts(totals[dataset].setdefault(name, {}), match_counts(predicted, truth))
    report = {
        "input": "tesseract words" if args.ocr else "ground-truth words",
        "timing_per_page_s": {k: round(v / max(1, timing["pages"]), 3) for k, v in timing.items() if k != "pages"},
        "results": {ds: {name: f1_table(t) for name, t in by.items()} for ds, by in totals.items()},
    }
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
