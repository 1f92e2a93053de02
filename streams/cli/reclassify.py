"""``pagestream replay``: stored documents through another registered model, beside the champion.

The pipeline's results stay as they are. A replay reads the stored results back from
docs.completed (from a time on; the page texts inline, or from the page results in the object
store when they were too large to inline), types every page with the model that holds another
alias (``models:/pagestream-doctype@challenger``), decides the document's type from the page
votes exactly as the classify agent does, and publishes one ``DocumentReplayed`` per document on
docs.replayed. The ClickHouse sink writes those to ``model_runs`` beside ``documents`` (whose
rows are the serving model's), so one query compares the two (ops/sql/model_comparison.sql).
Nothing is re-uploaded, re-rendered or re-OCRed: a replay costs the classifier's time only.

The replay runs in the calling process (the encoder loads once, a few seconds), not in the
workers, so it never competes with the champion's traffic for a worker's model slot.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pagestream.agents.classify.classifier import votes
from pagestream.streams import topics
from pagestream.streams.errors import PagestreamError
from pagestream.streams.records import DocumentReplayed
from pagestream.streams.settings import Settings
from pagestream.streams.topics import SCHEMA_VERSION


class ReplayError(PagestreamError):
    """A replay cannot run: the alias names no model, or nothing matched."""

    code = "replay_failed"


@dataclass(frozen=True)
class ModelRef:
    """The registered model a replay serves and the alias it was reached by."""

    name: str
    alias: str
    version: str


def page_texts(completed: dict[str, Any], read: Callable[[str], bytes]) -> list[str | None]:
    """The text of each page of a stored result (None for a failed page); pages whose text was
    not inlined are read from their page result in the object store (``read`` fetches a URI)."""
    texts: list[str | None] = []
    for page in completed["pages"]:
        if page["status"] != "OK":
            texts.append(None)
        elif page.get("text") is not None:
            texts.append(page["text"])
        elif page.get("result_uri"):
            texts.append(json.loads(read(page["result_uri"]))["text"])
        else:
            texts.append(None)
    return texts


def replayed_record(
    completed: dict[str, Any],
    predictions: list[Any | None],
    model: ModelRef,
    run_id: str,
    replayed_at_ms: int,
) -> dict[str, Any]:
    """The DocumentReplayed of one stored result, given the model's prediction per page (None for a
    page without text): page votes weighted by words, as in the classify agent."""
    pages = completed["pages"]
    cast = {
        str(page["page_no"]): votes.vote(p.probs, page["word_count"])
        for page, p in zip(pages, predictions, strict=True)
        if p is not None
    }
    decision = votes.decide(cast)
    completed_at = completed["completed_at"]
    return DocumentReplayed(
        doc_id=completed["doc_id"],
        tenant=completed["tenant"],
        run_id=run_id,
        model_name=model.name,
        model_alias=model.alias,
        model_version=model.version,
        doc_type=decision.doc_type,
        doc_type_confidence=decision.confidence,
        doc_type_reason=decision.reason,
        pages=[
            {
                "page_no": page["page_no"],
                "page_type": p.label if p else None,
                "page_type_confidence": round(p.confidence, 4) if p else None,
            }
            for page, p in zip(pages, predictions, strict=True)
        ],
        baseline_doc_type=completed.get("doc_type"),
        baseline_classifier_version=completed.get("classifier_version"),
        source_completed_at=int(completed_at.timestamp() * 1000)
        if isinstance(completed_at, dt.datetime)
        else completed_at,
        replayed_at=replayed_at_ms,
        schema_version=SCHEMA_VERSION,
    ).to_dict()


def latest_results(
    records: Iterable[dict[str, Any]], tenant: str | None, doc_ids: set[str] | None
) -> dict[str, dict[str, Any]]:
    """The last stored result per document (a redelivered or re-run document counts once), of the
    tenant and ids asked for; failed documents have no pages to type and are left out."""
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        if tenant is not None and record["tenant"] != tenant:
            continue
        if doc_ids is not None and record["doc_id"] not in doc_ids:
            continue
        if record["status"] == "FAILED" or not record["pages"]:
            continue
        found[record["doc_id"]] = record
    return found


def resolve(settings: Settings, alias: str):  # -> (ModelRef, Served); mlflow imported lazily
    """Load the version the alias points to; a clear error when there is none or it is broken."""
    from pagestream.agents.classify.classifier.registry import ClassifierUnavailable, champion_version, load_version

    aliased = settings.model_copy(update={"classifier_alias": alias})
    version = champion_version(aliased)
    if version is None:
        raise ReplayError(
            f"no model registered as models:/{settings.classifier_model}@{alias}: train one with "
            f"'pagestream train classifier --alias {alias}'"
        )
    try:
        served = load_version(aliased, version)
    except ClassifierUnavailable as exc:
        raise ReplayError(str(exc)) from exc
    return ModelRef(settings.classifier_model, alias, version), served


def run_replay(
    settings: Settings,
    *,
    since: dt.datetime,
    alias: str,
    tenant: str | None = None,
    doc_ids: set[str] | None = None,
    limit: int | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Replay the stored results since ``since`` through ``models:/<model>@<alias>``; returns a
    summary (run id, model, documents, agreement with the stored type, seconds)."""
    from pagestream.connectors.client import Client, Watch

    started = time.perf_counter()
    model, served = resolve(settings, alias)
    say(f"replaying through models:/{model.name}@{alias} (version {model.version})")
    run_id = uuid.uuid4().hex
    replayed: list[dict[str, Any]] = []
    with Client(settings) as client:
        watch = Watch(settings, client.codecs, (topics.DOCS_COMPLETED,), since)
        try:
            stored = latest_results((e.record for e in watch.backlog()), tenant, doc_ids)
        finally:
            watch.close()
        chosen = list(stored.values())[:limit]
        if not chosen:
            raise ReplayError(f"no stored results since {since.isoformat()} matched (tenant {tenant}, ids {doc_ids})")
        say(f"{len(chosen)} stored documents to replay")
        for completed in chosen:
            texts = page_texts(completed, client.store.get)
            typed = [t for t in texts if t and t.strip()]
            found = iter(served.model.predict(typed))
            predictions = [next(found) if t and t.strip() else None for t in texts]
            record = replayed_record(completed, predictions, model, run_id, int(time.time() * 1000))
            client.publish_event(topics.DOCS_REPLAYED, record, f"the replay of {completed['doc_id']}")
            replayed.append(record)
    agree = sum(r["doc_type"] == r["baseline_doc_type"] for r in replayed)
    return {
        "run_id": run_id,
        "model": f"{model.name}/{model.version}",
        "alias": alias,
        "documents": len(replayed),
        "agree_with_stored": agree,
        "seconds": round(time.perf_counter() - started, 2),
        "results": [
            {k: r[k] for k in ("doc_id", "doc_type", "doc_type_confidence", "baseline_doc_type")} for r in replayed
        ],
    }
