"""OCR accuracy over the evaluation data (``pagestream eval ocr``): recall, precision and CER per
source, per noise level and per engine, with each page read exactly as the OCR stage reads it
(same preprocessing, same engines built once per pool process, all cores busy).

DATA is one dataset folder holding an ``index.json`` (``real/docbank``, ``real/invoice2data``,
``synthetic``) or a folder above such datasets (the evaldata root). Figures are micro-averaged:
matched words over all ground-truth words, character edits over all ground-truth characters
(CER on the words in sorted order, so reading-order differences are not counted as errors).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from pagestream.agents.common.ocr_result import EngineSpec
from pagestream.agents.ocr.core.reader import ocr_png
from pagestream.agents.pool import make_pool
from pagestream.streams.cli.eval.measures import edit_distance, ground_truth_text, order_free, words_of
from pagestream.streams.errors import PagestreamError


class EvalDataError(PagestreamError):
    """The evaluation data folder is not in the evaldata-gt/1 layout."""

    code = "bad_eval_data"


@dataclass(frozen=True)
class EvalPage:
    source: str
    doc_id: str
    page: int
    image: Path
    truth: str
    noise: str


def _dataset_pages(folder: Path) -> list[EvalPage]:
    index = json.loads((folder / "index.json").read_text())
    source = index.get("dataset") or folder.name
    pages = []
    for doc in index.get("documents", []):
        if "gt" not in doc:  # text-only cases have no page to read
            continue
        gt = json.loads((folder / doc["gt"]).read_text())
        for page in gt["pages"]:
            pages.append(
                EvalPage(
                    source,
                    doc["doc_id"],
                    page["page"],
                    folder / page["image"],
                    ground_truth_text(page),
                    doc.get("noise") or "none",
                )
            )
    return pages


def load_pages(data: Path) -> list[EvalPage]:
    """Every labelled page under ``data`` (a dataset folder, or a folder of datasets)."""
    if (data / "index.json").is_file():
        return _dataset_pages(data)
    folders = sorted({p.parent for p in data.glob("*/index.json")} | {p.parent for p in data.glob("*/*/index.json")})
    if not folders:
        raise EvalDataError(
            f"no evaluation data in {data}: expected a dataset folder with index.json (evaldata-gt/1), "
            "or a folder holding such datasets"
        )
    return [page for folder in folders for page in _dataset_pages(folder)]


@dataclass
class Tally:
    """Counts that add up over pages; the figures are ratios of the sums."""

    pages: int = 0
    truth_words: int = 0
    found_words: int = 0
    matched_words: int = 0
    truth_chars: int = 0
    edits: int = 0
    engine_ms: int = 0

    def add(self, other: Tally) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def figures(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "word_recall": round(self.matched_words / self.truth_words, 4) if self.truth_words else None,
            "word_precision": round(self.matched_words / self.found_words, 4) if self.found_words else None,
            "cer": round(self.edits / self.truth_chars, 4) if self.truth_chars else None,
            "s_per_page": round(self.engine_ms / self.pages / 1000, 3) if self.pages else None,
        }


def score(predicted: str, truth: str, engine_ms: int = 0) -> Tally:
    found, expected = words_of(predicted), words_of(truth)
    p, t = order_free(predicted), order_free(truth)
    return Tally(
        pages=1,
        truth_words=sum(expected.values()),
        found_words=sum(found.values()),
        matched_words=sum((found & expected).values()),
        truth_chars=len(t),
        edits=edit_distance(p, t),
        engine_ms=engine_ms,
    )


def evaluate(pages: list[EvalPage], spec: EngineSpec, engine: str, processes: int) -> dict[str, Any]:
    """Read every page with ``engine`` in a pool of ``processes`` and report the figures."""
    spec = replace(spec, name=engine)
    overall, by_source, by_noise = Tally(), defaultdict(Tally), defaultdict(Tally)
    per_page = []
    started = time.perf_counter()
    with make_pool(processes, spec) as pool:
        futures = [pool.submit(ocr_png, page.image.read_bytes(), engine) for page in pages]
        for page, future in zip(pages, futures, strict=True):
            result = future.result()
            tally = score(result.text, page.truth, result.duration_ms)
            for bucket in (overall, by_source[page.source], by_noise[f"{page.source}/{page.noise}"]):
                bucket.add(tally)
            per_page.append({"doc_id": page.doc_id, "page": page.page, **tally.figures()})
    wall = time.perf_counter() - started
    return {
        "engine": engine,
        "preprocess": list(spec.preprocess),
        "processes": processes,
        "wall_s": round(wall, 1),
        "pages_per_s": round(len(pages) / wall, 3) if wall else None,
        **overall.figures(),
        "by_source": {k: v.figures() for k, v in sorted(by_source.items())},
        "by_noise": {k: v.figures() for k, v in sorted(by_noise.items())},
        "per_page": per_page,
    }


def table(results: list[dict[str, Any]]) -> str:
    """A Markdown table: one row per engine and group."""
    rows = [
        "| engine | preprocess | group | pages | word recall | precision | CER | s/page (1 core) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        groups = [("all", result), *result["by_source"].items(), *result["by_noise"].items()]
        for group, f in groups:
            rows.append(
                f"| {result['engine']} | {','.join(result['preprocess']) or '-'} | {group} | {f['pages']} | "
                f"{f['word_recall']} | {f['word_precision']} | {f['cer']} | {f['s_per_page']} |"
            )
    return "\n".join(rows)
