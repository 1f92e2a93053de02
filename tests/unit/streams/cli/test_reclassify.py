"""The pure core of ``pagestream replay``: stored results in, DocumentReplayed records out."""

from __future__ import annotations

import argparse
import datetime as dt
import json

import pytest
from fastavro import parse_schema
from fastavro.validation import validate

from pagestream.agents.classify.classifier.model import Prediction
from pagestream.schemas import avro_dir
from pagestream.streams.cli.main import parse_since
from pagestream.streams.cli.reclassify import ModelRef, latest_results, page_texts, replayed_record

AT = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
MODEL = ModelRef("pagestream-doctype", "challenger", "7")


def stored(doc_id: str = "d1", status: str = "OK", words: tuple[int, ...] = (80, 2), **extra) -> dict:
    pages = [
        {"page_no": n, "status": "OK", "text": f"page {n}", "word_count": w, "result_uri": None}
        for n, w in enumerate(words, 1)
    ]
    return {"doc_id": doc_id, "tenant": "acme", "status": status, "pages": pages, "completed_at": AT,
            "doc_type": "invoice", "classifier_version": "pagestream-doctype/1", **extra}  # fmt: skip


def test_the_document_type_comes_from_page_votes_weighted_by_words() -> None:
    big = Prediction("letter", 0.9, {"letter": 0.9, "invoice": 0.1})
    small = Prediction("invoice", 1.0, {"invoice": 1.0})
    record = replayed_record(stored(), [big, small], MODEL, "run1", 1234)
    assert (record["doc_type"], record["model_version"], record["model_alias"]) == ("letter", "7", "challenger")
    assert record["baseline_doc_type"] == "invoice" and record["source_completed_at"] == int(AT.timestamp() * 1000)
    assert [p["page_type"] for p in record["pages"]] == ["letter", "invoice"]
    validate(record, parse_schema(json.loads((avro_dir() / "DocumentReplayed.avsc").read_text())), raise_errors=True)


def test_a_document_without_text_is_other_with_the_reason() -> None:
    record = replayed_record(stored(words=(0,)), [None], MODEL, "run1", 1)
    assert record["doc_type"] == "other" and record["doc_type_confidence"] == 0 and record["doc_type_reason"]


def test_page_texts_come_from_the_object_store_when_not_inlined() -> None:
    doc = stored()
    doc["pages"][1] |= {"text": None, "result_uri": "s3://b/p2.json"}
    doc["pages"].append({"page_no": 3, "status": "FAILED", "text": None, "word_count": 0, "result_uri": None})
    store = {"s3://b/p2.json": json.dumps({"text": "from the store"}).encode()}
    assert page_texts(doc, store.__getitem__) == ["page 1", "from the store", None]


def test_the_last_result_per_document_of_the_asked_tenant_and_ids() -> None:
    records = [stored("a"), stored("b", status="FAILED"), stored("a", doc_type="letter"), stored("c", tenant="x")]
    assert {k: v["doc_type"] for k, v in latest_results(records, "acme", None).items()} == {"a": "letter"}
    assert latest_results(records, None, {"c"}).keys() == {"c"}


def test_since_takes_iso_times_and_durations() -> None:
    assert parse_since("2026-11-23T10:00") == dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)
    ago = dt.datetime.now(dt.UTC) - parse_since("90m")
    assert dt.timedelta(minutes=89) < ago < dt.timedelta(minutes=91)
    with pytest.raises(argparse.ArgumentTypeError, match="ISO time"):
        parse_since("yesterday")
