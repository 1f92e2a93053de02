"""Replay: stored documents through a challenger model, sunk beside the champion's results, and
one ops/sql query comparing the two against the labels given at submission."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from pagestream.agents.classify.classifier import registry
from pagestream.streams.cli.sql_command import post_sql
from pagestream.streams.cli.supervisor import service_env
from tests.conftest import REPO, evaldata_doc
from tests.e2e.test_submit_cli import submit

pytestmark = pytest.mark.kafka


def cli(settings, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pagestream.streams.cli", *args],
        env=service_env(settings), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def comparison(settings, doc_ids: list[str]) -> dict[str, dict]:
    """ops/sql/model_comparison.sql restricted to this test's documents, one row per source."""
    query = (REPO / "ops" / "sql" / "model_comparison.sql").read_text()
    ids = ", ".join(f"'{d}'" for d in doc_ids)
    query = query.replace("FROM model_runs FINAL", f"FROM model_runs FINAL WHERE doc_id IN ({ids})")
    answer = post_sql(settings, query)
    names = [c["name"] for c in answer["columns"]]
    return {row[0]: dict(zip(names, row, strict=True)) for row in answer["rows"]}


def test_replay_through_a_challenger_lands_beside_the_champion(stack) -> None:
    invoice, _ = evaldata_doc("syn-0000-invoice")
    letter = REPO / "samples" / "letter.pdf"
    docs = {}
    for path, label in ((invoice, "invoice"), (letter, "letter")):
        results, proc = submit(stack, path, extra=["--tenant", "replaytest", "--label", label])
        assert proc.returncode == 0, proc.stderr
        (doc,) = results
        docs[doc["doc_id"]] = doc
    champion = registry.champion_version(stack)
    # A smaller set than the champion's from the same seed: another model, from cached embeddings.
    trained = cli(stack, "train", "classifier", "--alias", "challenger", "--docs-per-type", "4", "--seeds", "2",
                  "--json")  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    challenger = json.loads(trained.stdout)["version"]
    assert challenger != champion and registry.champion_version(stack) == champion  # champion untouched

    replayed = cli(stack, "replay", "--since", "30m", "--model-alias", "challenger", "--tenant", "replaytest",
                   *[a for d in docs for a in ("--doc", d)], "--json")  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    summary = json.loads(replayed.stdout)
    assert summary["documents"] == 2 and summary["model"] == f"pagestream-doctype/{challenger}"
    assert {r["doc_id"] for r in summary["results"]} == set(docs)

    deadline, rows = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        rows = comparison(stack, list(docs))
        if rows.get("replay @challenger", {}).get("labelled") == 2 and rows.get("pipeline", {}).get("labelled") == 2:
            break
        time.sleep(1)
    pipeline, replay = rows["pipeline"], rows["replay @challenger"]
    assert pipeline["model"] == f"pagestream-doctype/{champion}" and pipeline["documents"] == 2
    assert replay["model"] == f"pagestream-doctype/{challenger}" and replay["documents"] == 2
    assert pipeline["accuracy"] == 1.0 and pipeline["agreement_with_pipeline"] == 1.0  # the champion got both
    assert 0.0 <= replay["accuracy"] <= 1.0 and 0 < replay["mean_confidence"] <= 1
    by_doc = {r["doc_id"]: r for r in summary["results"]}
    agree = sum(by_doc[d]["doc_type"] == docs[d]["doc_type"] for d in docs) / 2
    assert replay["agreement_with_pipeline"] == agree
    # The champion's results were not overwritten: documents still holds its types.
    stored = post_sql(stack, "SELECT doc_id, doc_type, versions['classifier'] FROM documents FINAL "
                             "WHERE tenant = 'replaytest'")["rows"]  # fmt: skip
    assert {r[0]: (r[1], r[2]) for r in stored} == {
        d: (doc["doc_type"], f"pagestream-doctype/{champion}") for d, doc in docs.items()
    }
