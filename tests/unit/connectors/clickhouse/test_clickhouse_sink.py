"""The ClickHouse sink against a real embedded chDB in a temporary directory: migrations,
rows, batching by size and time, idempotent tables, and retries while a table is unavailable."""

from __future__ import annotations

import datetime as dt
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from pagestream.connectors.clickhouse.connections import writer_client
from pagestream.connectors.clickhouse.consumer import SinkRunner
from pagestream.connectors.clickhouse.rows import (
    Origin,
    document_rows,
    error_row,
    label_row,
    replay_row,
    stage_event_row,
    undecodable_row,
)
from pagestream.connectors.clickhouse.schema import MIGRATIONS, TABLES, applied_versions, migrate
from pagestream.connectors.clickhouse.sink import ClickHouseSink, SinkBackpressureError
from pagestream.streams import topics
from pagestream.streams.backoff import Backoff
from pagestream.streams.codec import Codecs, register_all, registry_client
from pagestream.streams.errors import DecodeError
from pagestream.streams.settings import Settings

AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def client(chdb_state: Path) -> Iterator[Client]:
    client = writer_client(Settings(state_dir=chdb_state))
    yield client
    client.close()


@pytest.fixture
def db(client: Client) -> str:
    """A fresh migrated database per test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    migrate(client, name)
    return name


def completed(doc_id: str = "doc1", pages: int = 2, failed: tuple[int, ...] = ()) -> dict:
    return {
        "doc_id": doc_id,
        "tenant": "acme",
        "filename": "a.pdf",
        "status": "PARTIAL" if failed else "OK",
        "page_count": pages,
        "pages": [
            {
                "page_no": n,
                "status": "FAILED" if n in failed else "OK",
                "text": None if n in failed else f"page {n}",
                "word_count": 0 if n in failed else 10 * n,
                "mean_confidence": 0.0 if n in failed else 0.9,
                "text_source": "OCR",
                "engine": "tesseract 5.5.0",
                "result_uri": None,
                "error_message": "boom" if n in failed else None,
            }
            for n in range(1, pages + 1)
        ],
        "text_inline": True,
        "result_uri": f"s3://pagestream/acme/{doc_id}/document.json",
        "error_code": None,
        "error_message": None,
        "versions": {"ocr": "tesseract 5.5.0", "layout": "geometry-blocks/1"},
        "submitted_at": AT,
        "completed_at": AT + dt.timedelta(seconds=3),
    }


def progress(page_no: int | None, stage: str = "OCR", status: str = "PAGE_DONE") -> dict:
    return {
        "doc_id": "doc1",
        "tenant": "acme",
        "stage": stage,
        "status": status,
        "page_no": page_no,
        "page_count": 2,
        "pages_done": None,
        "message": None,
        "duration_ms": 1200,
        "at": AT,
        "versions": {"ocr": "tesseract 5.5.0"},
    }


def add(sink: ClickHouseSink, value: dict | DecodeError, topic: str, offset: int, partition: int = 0) -> None:
    sink.add(value, b"doc1", 1_700_000_000_000 + offset, [], topic, partition, offset)


def count(client: Client, db: str, table: str, final: bool = True) -> int:
    return client.query(f"SELECT count() FROM {db}.{table} {'FINAL' if final else ''}").result_rows[0][0]


def test_migrations_create_every_table_once(client: Client, db: str) -> None:
    tables = {r[0] for r in client.query(f"SHOW TABLES FROM {db}").result_rows}
    assert tables == {*TABLES, "schema_migrations"}
    assert applied_versions(client, db) == {m.version for m in MIGRATIONS}
    assert migrate(client, db) == []  # nothing left to apply


def test_a_completed_document_is_a_document_row_and_page_rows() -> None:
    rows = document_rows(completed(failed=(1,)), Origin("docs.completed", 2, 40, 0))
    (doc,) = [r for t, r in rows if t == "documents"]
    pages = [r for t, r in rows if t == "pages"]
    assert (doc["pages_ok"], doc["word_count"], doc["mean_confidence"]) == (1, 20, pytest.approx(0.9))
    assert (doc["kafka_partition"], doc["kafka_offset"]) == (2, 40)
    assert [(p["page_no"], p["status"], p["text"]) for p in pages] == [(1, "FAILED", None), (2, "OK", "page 2")]


def test_batches_flush_by_size_and_by_time(client: Client, db: str) -> None:
    now = [0.0]
    sink = ClickHouseSink(client, db, batch_rows=4, batch_seconds=2.0, clock=lambda: now[0])
    assert not sink.due()
    add(sink, progress(1), topics.DOCS_PROGRESS.name, 0)
    assert not sink.due()
    now[0] = 2.0
    assert sink.due()  # the oldest row waited long enough
    assert sink.flush() == {(topics.DOCS_PROGRESS.name, 0): 1}
    assert not sink.due() and sink.pending_rows == 0
    add(sink, completed(pages=3), topics.DOCS_COMPLETED.name, 7)  # one document row + three page rows
    assert sink.due()  # four rows: the size limit, before any time passed
    assert sink.flush() == {(topics.DOCS_COMPLETED.name, 0): 8}
    assert (count(client, db, "documents"), count(client, db, "pages"), count(client, db, "stage_events")) == (1, 3, 1)
    assert sink.written == {
        "documents": 1, "pages": 3, "fields": 0, "validation_issues": 0, "stage_events": 1, "errors": 0,
        "labels": 0, "model_runs": 0,
    }  # fmt: skip


def test_redelivered_events_never_double_count(client: Client, db: str) -> None:
    sink = ClickHouseSink(client, db)
    for offset in (0, 1):  # the same events twice, as after a redelivery or a re-produce
        add(sink, completed(), topics.DOCS_COMPLETED.name, offset)
        add(sink, progress(1), topics.DOCS_PROGRESS.name, offset)
        add(sink, progress(None, "INGEST", "STARTED"), topics.DOCS_PROGRESS.name, 10 + offset)
        sink.flush()  # separate inserts, separate parts: only FINAL (or argMax) merges them
    assert count(client, db, "pages", final=False) == 4
    assert (count(client, db, "documents"), count(client, db, "pages"), count(client, db, "stage_events")) == (1, 2, 2)
    latest = client.query(
        f"SELECT argMax(status, completed_at), argMax(page_count, completed_at) FROM {db}.documents "
        "WHERE doc_id = 'doc1'"
    ).result_rows
    assert latest == [("OK", 2)]


def test_a_failed_write_keeps_the_batch_and_backs_off_until_it_succeeds(client: Client, db: str) -> None:
    sink = ClickHouseSink(client, db, backoff=Backoff(first=0.5, factor=2.0, ceiling=1.5))
    add(sink, completed(), topics.DOCS_COMPLETED.name, 5, partition=3)
    client.command(f"DETACH TABLE {db}.pages")  # the table is gone: every write fails
    delays = []
    for _ in range(3):
        with pytest.raises(SinkBackpressureError) as failure:
            sink.flush()
        delays.append(failure.value.retry_after)
    assert delays == [0.5, 1.0, 1.5]  # exponential, capped
    assert sink.pending_rows == 3 and "pages" in (sink.last_error or "")
    client.command(f"ATTACH TABLE {db}.pages")
    assert sink.flush() == {(topics.DOCS_COMPLETED.name, 3): 6}  # now safe to commit offset 6
    assert (count(client, db, "documents"), count(client, db, "pages")) == (1, 2)
    assert sink.backoff.next() == 0.5  # a success resets the backoff


def test_rows_of_lost_partitions_are_dropped_unwritten(client: Client, db: str) -> None:
    sink = ClickHouseSink(client, db)
    add(sink, progress(1), topics.DOCS_PROGRESS.name, 0, partition=0)
    add(sink, progress(2), topics.DOCS_PROGRESS.name, 0, partition=1)
    sink.drop([(topics.DOCS_PROGRESS.name, 1)])
    assert sink.flush() == {(topics.DOCS_PROGRESS.name, 0): 1}
    assert count(client, db, "stage_events") == 1


def test_fields_issues_and_verdict_of_a_validated_document(client: Client, db: str) -> None:
    record = {
        **completed(),
        "doc_type": "invoice",
        "doc_type_confidence": 0.97,
        "validation_status": "NEEDS_REVIEW",
        "fields": [
            {"name": "total", "value": "119,00", "normalized": "119.00", "confidence": 0.9, "page_no": 1,
             "bbox": [1, 2, 3, 4]},
            {"name": "line_items[0].amount", "value": "100", "normalized": None, "confidence": 0.8, "page_no": None,
             "bbox": None},
        ],
        "issues": [
            {"rule": "invoice.total_equals_subtotal_plus_tax", "severity": "review", "fields": ["total", "tax"],
             "expected": "120.00", "found": "119.00", "message": "total is not subtotal + tax"},
        ],
    }  # fmt: skip
    registry = registry_client("mock://clickhouse-fields")
    register_all(registry, [topics.DOCS_COMPLETED])
    codecs = Codecs(registry, [topics.DOCS_COMPLETED])
    decoded = codecs.decode(topics.DOCS_COMPLETED, codecs.encode(topics.DOCS_COMPLETED, record))  # schema-valid
    sink = ClickHouseSink(client, db)
    for offset in (0, 1):  # and redelivered
        add(sink, decoded, topics.DOCS_COMPLETED.name, offset)
        sink.flush()
    fields = client.query(f"SELECT name, normalized, page_no, bbox FROM {db}.fields FINAL ORDER BY name").result_rows
    assert fields == [("line_items[0].amount", None, 0, []), ("total", "119.00", 1, [1, 2, 3, 4])]
    issues = client.query(
        f"SELECT rule, validation_status, doc_type, fields, expected FROM {db}.validation_issues FINAL"
    ).result_rows
    assert issues == [("invoice.total_equals_subtotal_plus_tax", "NEEDS_REVIEW", "invoice", ["total", "tax"], "120.00")]
    verdict = client.query(f"SELECT doc_type, validation_status FROM {db}.documents FINAL").result_rows
    assert verdict == [("invoice", "NEEDS_REVIEW")]


def test_undecodable_and_unfit_messages_become_error_rows(client: Client, db: str) -> None:
    sink = ClickHouseSink(client, db)
    add(sink, DecodeError("docs.progress: unknown magic byte 1", b"\x01x", code="bad_magic_byte"), "docs.progress", 3)
    add(sink, {"doc_id": "x"}, topics.DOCS_COMPLETED.name, 4)  # decodes, but is not a DocumentCompleted
    dlq = {
        "doc_id": "doc9",
        "tenant": "acme",
        "page_no": None,
        "stage": "INGEST",
        "error_code": "corrupt_pdf",
        "error_class": "InvalidDocument",
        "message": "not a PDF",
        "input_ref": "s3://pagestream/acme/doc9/source/original",
        "source_topic": "docs.submitted",
        "source_partition": 1,
        "source_offset": 17,
        "raw_value": None,
        "attempts": 1,
        "versions": {},
        "at": AT,
    }
    add(sink, dlq, topics.PAGES_DLQ.name, 9)
    add(sink, dlq, topics.PAGES_DLQ.name, 10)  # re-produced duplicate
    sink.flush()
    rows = client.query(f"SELECT stage, error_code, source_offset FROM {db}.errors FINAL ORDER BY stage").result_rows
    assert rows == [("INGEST", "corrupt_pdf", 17), ("SINK", "bad_magic_byte", 3), ("SINK", "sink_bad_record", 4)]


def test_the_runner_keeps_trying_while_the_server_is_unreachable(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # a port nobody listens on
    port = closed.getsockname()[1]
    settings = Settings(state_dir=tmp_path, clickhouse_url=f"http://127.0.0.1:{port}", sink_retry_max_seconds=0.2)
    runner = SinkRunner(settings)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not runner.status()["last_error"]:
            time.sleep(0.1)
        status = runner.status()
        assert status["state"] == "connecting" and "Connection refused" in status["last_error"], status
    finally:
        runner.stop()
        closed.close()
    assert runner.status()["state"] == "stopped"


def test_labels_and_replays_land_beside_the_pipeline_result(client: Client, db: str) -> None:
    """A replayed model's result is its own row (keyed by model version), never the document's;
    a replay by the same version again replaces its row; a later label replaces the earlier."""
    from pagestream.agents.classify.classifier.model import Prediction
    from pagestream.streams.cli.reclassify import ModelRef, replayed_record

    sink = ClickHouseSink(client, db)
    doc = {**completed(pages=2), "doc_type": "invoice", "classifier_version": "pagestream-doctype/1"}
    add(sink, doc, topics.DOCS_COMPLETED.name, 1)
    for offset, label in ((0, "letter"), (1, "invoice")):
        at = AT + dt.timedelta(seconds=offset)
        record = {"doc_id": "doc1", "tenant": "acme", "doc_type": label, "source": "test", "labelled_at": at}
        add(sink, record, topics.DOCS_LABELS.name, offset)
    guess = Prediction("receipt", 0.8, {"receipt": 0.8, "invoice": 0.2})
    for offset, version in ((0, "2"), (1, "2"), (2, "3")):
        record = replayed_record(doc, [guess, None], ModelRef("pagestream-doctype", "challenger", version), "r", offset)
        add(sink, record, topics.DOCS_REPLAYED.name, offset)
    sink.flush()
    runs = client.query(
        f"SELECT model_version, doc_type, doc_type_confidence, page_types, baseline_doc_type "
        f"FROM {db}.model_runs FINAL ORDER BY model_version"
    ).result_rows
    assert runs == [(v, "receipt", 0.8, ["receipt", ""], "invoice") for v in ("2", "3")]
    assert client.query(f"SELECT doc_type FROM {db}.documents FINAL").result_rows == [("invoice",)]
    assert client.query(f"SELECT doc_type FROM {db}.labels FINAL").result_rows == [("invoice",)]


def test_rows_fill_exactly_the_columns_the_tables_declare(client: Client, db: str) -> None:
    """The columns are declared once, by the migrations; every row kind names each of them (bar
    the ones with a default), so a column added to a table without its row, or the reverse, fails."""
    origin = Origin("t", 0, 0, 1_700_000_000_000)
    document = completed() | {
        "fields": [{"name": "total", "value": "1", "normalized": "1", "confidence": 1.0, "page_no": 1, "bbox": []}],
        "issues": [{"rule": "r", "severity": "review", "fields": [], "expected": None, "found": None, "message": "m"}],
    }
    error = {"stage": "OCR", "error_code": "c", "error_class": "E", "message": "m", "at": AT}
    label = {"doc_id": "d", "tenant": "t", "doc_type": "invoice", "source": "cli", "labelled_at": AT}
    replayed = {
        "doc_id": "d", "tenant": "t", "run_id": "r", "model_name": "m", "model_alias": "a", "model_version": "1",
        "doc_type": "invoice", "doc_type_confidence": 0.9, "pages": [], "source_completed_at": AT, "replayed_at": AT,
    }  # fmt: skip
    built = [
        *document_rows(document, origin),
        ("stage_events", stage_event_row(progress(1), origin)),
        ("errors", error_row(error, origin)),
        ("errors", undecodable_row(DecodeError("bad", None, code="bad_avro"), origin)),
        ("labels", label_row(label, origin)),
        ("model_runs", replay_row(replayed, origin)),
    ]
    filled: dict[str, set[str]] = {}
    for table, row in built:
        assert filled.setdefault(table, set(row)) == set(row), table
    declared = client.query(
        "SELECT table, groupArray(name) FROM system.columns WHERE database = {db:String} AND default_kind = '' "
        "AND table != 'schema_migrations' GROUP BY table",
        parameters={"db": db},
    ).result_rows
    assert {table: set(names) for table, names in declared} == filled
