"""Layout methods measured per region kind against ground-truth regions (``pagestream eval layout``).

Inputs per page: the ground-truth words as OCR (or, with ``ocr``, Tesseract's words), the page
image and the model's detections (run once per page). Methods compared: geometry alone, the
model alone (its boxes mapped to kinds), the combination with every model label, and the
combination without each label in turn, so that each label is kept only where it helps.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pagestream.agents.layout.core.analysis import MODEL_KINDS, analyse_page
from pagestream.agents.layout.core.model import process_model
from pagestream.streams.cli.eval.layout_score import add_counts, f1_table, match_counts
from pagestream.streams.cli.eval.understand_eval import tesseract_reader
from pagestream.streams.settings import Settings

MODEL_ONLY = {**MODEL_KINDS, "title": "title"}


def labelled_pages(root: Path) -> Iterator[tuple[str, Path, dict]]:
    """(dataset, image, ground-truth page) of the synthetic set and the DocBank pages."""
    for gt_path in sorted((root / "synthetic").glob("*/gt.json")):
        for page in json.loads(gt_path.read_text())["pages"]:
            yield "synthetic", root / "synthetic" / page["image"], page
    for gt_path in sorted((root / "real" / "docbank" / "gt").glob("*.json")):
        for page in json.loads(gt_path.read_text())["pages"]:
            yield "docbank", root / "real" / "docbank" / page["image"], page


def evaluate_layout(data: Path, settings: Settings, *, ocr: bool) -> dict[str, Any]:
    """F1 at IoU >= 0.5 per region kind and dataset, for every method, and time per page."""
    read = tesseract_reader(settings) if ocr else None
    model = process_model()
    configs = {"geometry": {}, "combined": MODEL_KINDS}
    configs |= {
        f"combined-without-{label}": {k: v for k, v in MODEL_KINDS.items() if k != label} for label in MODEL_KINDS
    }
    totals: dict[str, dict[str, dict]] = {}
    timing = {"model_s": 0.0, "geometry_s": 0.0, "pages": 0}
    for dataset, image_path, page in labelled_pages(data):
        with Image.open(image_path) as im:
            grey = np.array(im.convert("L"))
            lines = read(im.convert("L")) if read else page["lines"]
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
            predicted = scored_regions(regions)
            add_counts(totals[dataset].setdefault(name, {}), match_counts(predicted, truth))
    return {
        "input": "tesseract words" if ocr else "ground-truth words",
        "timing_per_page_s": {k: round(v / max(1, timing["pages"]), 3) for k, v in timing.items() if k != "pages"},
        "results": {ds: {name: f1_table(t) for name, t in by.items()} for ds, by in totals.items()},
    }


def scored_regions(regions: list) -> list[tuple[str, tuple[int, int, int, int]]]:
    """(kind, box) of regions in reading order as the ground truth has them: it outlines whole
    lists, so each run of consecutive list items is scored as one ``list``."""
    out: list[tuple[str, tuple[int, int, int, int]]] = []
    previous = None
    for r in sorted(regions, key=lambda r: r.order):
        if r.kind == "list_item" and previous == "list_item":
            box = out[-1][1]
            out[-1] = (
                "list",
                (min(box[0], r.bbox[0]), min(box[1], r.bbox[1]), max(box[2], r.bbox[2]), max(box[3], r.bbox[3])),
            )
        else:
            out.append(("list" if r.kind == "list_item" else r.kind, tuple(r.bbox)))
        previous = r.kind
    return out
