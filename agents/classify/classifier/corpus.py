"""Labelled pages for training and evaluating the document classifier.

Three sources, all text: folders in the evaluation ground-truth format (``evaldata-gt/1``: one
``gt.json`` per document, or ``gt/*.json``), the vendored synthetic generator
(``ops/datagen/make_synthetic.py``, run with seeds other than the held-out seed 1, documents
built in memory), and ``textgen`` for the types that generator does not make.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from pagestream.agents.classify.classifier import textgen
from pagestream.agents.classify.classifier.features import reading_order_text
from pagestream.streams.errors import PagestreamError

DOC_TYPES: tuple[str, ...] = (
    "invoice",
    "receipt",
    "bank_statement",
    "id_document",
    "form",
    "letter",
    "scientific_technical",
    "other",
)
# Type names used by the evaluation data and the generator, mapped onto ours.
LABEL_ALIASES = {"id_card": "id_document", "passport": "id_document", "scientific": "scientific_technical"}
HELD_OUT_SEED = 1  # the published synthetic evaluation set: never trained on


@dataclass(frozen=True)
class LabelledPage:
    """One page's text and its document's type; ``source`` says where it came from."""

    doc_id: str
    page_no: int
    label: str
    text: str
    source: str
    image: Path | None = None  # the page image, when there is one (for OCR evaluation)

    @property
    def text_sha(self) -> str:
        return hashlib.sha256(" ".join(self.text.split()).encode()).hexdigest()


def doc_type_label(name: str) -> str:
    """Our type for a ground-truth type name; an unknown name is an error naming the known ones."""
    label = LABEL_ALIASES.get(name, name)
    if label not in DOC_TYPES:
        raise PagestreamError(
            f"unknown document type {name!r} in the training data; known: {', '.join(DOC_TYPES)} "
            f"(and the aliases {', '.join(LABEL_ALIASES)})",
            code="bad_training_data",
        )
    return label


def load_gt_folder(folder: Path, source: str | None = None) -> list[LabelledPage]:
    """Every page of every ground-truth JSON under ``folder`` (sorted, so runs are repeatable)."""
    files = sorted(p for p in folder.rglob("*.json") if p.name not in ("index.json", "MANIFEST.json"))
    pages: list[LabelledPage] = []
    for path in files:
        gt = json.loads(path.read_text())
        if not isinstance(gt, dict) or gt.get("schema") != "evaldata-gt/1":
            continue
        label = doc_type_label(gt["doc_type"])
        base = _dataset_root(path)
        for page in gt["pages"]:
            image = base / page["image"] if page.get("image") else None
            pages.append(
                LabelledPage(
                    gt["doc_id"],
                    page["page"],
                    label,
                    reading_order_text(page["lines"]),
                    source or folder.name,
                    image if image and image.is_file() else None,
                )
            )
    if not pages:
        raise PagestreamError(
            f"no labelled pages in {folder}: expected ground-truth files (schema evaldata-gt/1) below it",
            code="bad_training_data",
        )
    return pages


def _dataset_root(gt_path: Path) -> Path:
    """The folder that holds the dataset's index.json; image paths are relative to it."""
    for parent in gt_path.parents:
        if (parent / "index.json").is_file():
            return parent
    return gt_path.parent


@cache
def _generator(ops_dir: Path) -> ModuleType:
    path = ops_dir / "datagen" / "make_synthetic.py"
    if not path.is_file():
        raise PagestreamError(f"{path} not found: set PAGESTREAM_OPS_DIR to the repository's ops/ folder")
    spec = importlib.util.spec_from_file_location("pagestream_make_synthetic", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic_pages(ops_dir: Path, docs_per_type: int, seed: int) -> list[LabelledPage]:
    """Pages of the six synthetic types, built in memory by the vendored generator with ``seed``.

    Documents are built as ``make_synthetic.py --seed SEED`` builds them (same per-document
    random source), without scan noise or files. Seed 1 is refused: it is the evaluation set.
    """
    if seed == HELD_OUT_SEED:
        raise PagestreamError(
            f"seed {HELD_OUT_SEED} makes the held-out evaluation documents; train with another seed",
            code="bad_training_data",
        )
    gen = _generator(ops_dir)
    options = argparse.Namespace(wrong_total_rate=0.25, bad_iban_rate=0.15, bad_mrz_rate=0.25, unsigned_form_rate=0.2)
    dpi = 100  # text and boxes only; a low resolution draws faster
    fonts = gen.Fonts(gen.DEFAULT_FONT_DIR, dpi)
    types = gen.ALL_TYPES
    pages: list[LabelledPage] = []
    for index in range(docs_per_type * len(types)):
        rng = random.Random(f"evaldata-synthetic:{seed}:{index}")
        dtype = types[index % len(types)]
        country = rng.choice(list(gen.COUNTRIES))
        k = index // len(types)
        corrupt = {
            "total": gen.stratified(k, options.wrong_total_rate),
            "iban": gen.stratified(k, options.bad_iban_rate),
            "mrz": gen.stratified(k, options.bad_mrz_rate),
            "unsigned": gen.stratified(k, options.unsigned_form_rate),
        }
        built, *_ = gen.GENERATORS[dtype](gen.Ctx(rng, country, corrupt), fonts, dpi, options)
        doc_id = f"gen{seed}-{index:04d}-{dtype}"
        for page_no, page in enumerate(built, start=1):
            pages.append(
                LabelledPage(
                    doc_id, page_no, doc_type_label(dtype), reading_order_text(page.lines), f"synthetic seed {seed}"
                )
            )
    return pages


def generated_pages(count_per_type: int, seed: int) -> list[LabelledPage]:
    """Scientific/technical and other pages from ``textgen`` (one page per document)."""
    pages = []
    for label in textgen.GENERATED_TYPES:
        for i, lines in enumerate(textgen.generate_pages(label, count_per_type, seed)):
            doc_id = f"textgen{seed}-{label}-{i:04d}"
            pages.append(LabelledPage(doc_id, 1, label, "\n".join(lines), f"textgen seed {seed}"))
    return pages


def default_training_pages(ops_dir: Path, docs_per_type: int, seeds: Iterable[int]) -> list[LabelledPage]:
    """The bundled training set: generated documents of all eight types for each seed."""
    pages: list[LabelledPage] = []
    for seed in seeds:
        pages += synthetic_pages(ops_dir, docs_per_type, seed) + generated_pages(docs_per_type, seed)
    return pages
