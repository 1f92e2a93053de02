"""Documents through the real pipeline into ClickHouse: exactly once across a restart of the
sink and re-produced events, nothing lost while ClickHouse refuses writes, every ops/sql query
runs on the data, and results download through presigned URLs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from pagestream.connectors.clickhouse.connections import writer_client
from pagestream.connectors.clickhouse.consumer import SinkRunner
from pagestream.connectors.clickhouse.rows import SINK_TOPICS
from pagestream.connectors.client import Client
from pagestream.streams import topics
from pagestream.streams.cli import supervisor
from pagestream.streams.cli.sql_command import post_sql
from pagestream.streams.cli.supervisor import service_env
from pagestream.streams.codec import Codecs, registry_client
from pagestream.streams.settings import Settings
from tests.conftest import REPO, read_topic, text_image

pytestmark = pytest.mark.kafka


def wait_for(check: Callable[[], Any], expected: Any, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def scalar(settings: Settings, query: str) -> Any:
    return post_sql(settings, query)["rows"][0][0]


def in_list(doc_ids: list[str]) -> str:
    return ", ".join(f"'{d}'" for d in doc_ids)


def counts(settings: Settings, doc_ids: list[str]) -> tuple[int, ...]:
    ids = in_list(doc_ids)
    return tuple(
        scalar(settings, f"SELECT count() FROM {table} FINAL WHERE doc_id IN ({ids})")
        for table in ("documents", "pages", "stage_events", "errors", "validation_issues")
    )


def raw_messages(settings: Settings, doc_ids: list[str]) -> list[tuple[str, bytes, bytes]]:
    """Every message of the sink's topics keyed by one of ``doc_ids``, as (topic, key, value)."""
    keys = {d.encode() for d in doc_ids}
    consumer = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers, "group.id": uuid.uuid4().hex, "enable.auto.commit": False}
    )
    assignment = []
    ends = {}
    for spec in SINK_TOPICS:
        for partition in consumer.list_topics(spec.name, timeout=10).topics[spec.name].partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(spec.name, partition), timeout=10)
            ends[(spec.name, partition)] = high
            assignment.append(TopicPartition(spec.name, partition, 0))
    consumer.assign(assignment)
    found, remaining = [], {tp for tp, high in ends.items() if high > 0}
    deadline = time.monotonic() + 30
    while remaining and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            continue
        if msg.key() in keys:
            found.append((msg.topic(), msg.key(), msg.value()))
        if msg.offset() + 1 >= ends[(msg.topic(), msg.partition())]:
            remaining.discard((msg.topic(), msg.partition()))
    consumer.close()
    return found


def expected_counts(settings: Settings, doc_ids: list[str]) -> tuple[int, ...]:
    """What ClickHouse must hold for ``doc_ids``, from the events in Kafka: one row per document,
    per page, per distinct (document, stage, status, page) event, per dead-letter event and per
    validation issue."""
    codecs = Codecs(registry_client(settings.registry_url), SINK_TOPICS)
    spec = {s.name: s for s in SINK_TOPICS}
    events = [(topic, codecs.decode(spec[topic], value)) for topic, _, value in raw_messages(settings, doc_ids)]
    completed = {r["doc_id"]: r for t, r in events if t == topics.DOCS_COMPLETED.name}
    stage_keys = {
        (r["doc_id"], r["stage"], r["status"], r["page_no"] or 0) for t, r in events if t == topics.DOCS_PROGRESS.name
    }
    errors = {(r["doc_id"], r["stage"], r["error_code"], r["at"]) for t, r in events if t == topics.PAGES_DLQ.name}
    issues = {(d, i["rule"], i["message"]) for d, r in completed.items() for i in r.get("issues") or []}
    pages = sum(len(r["pages"]) for r in completed.values())
    return len(completed), pages, len(stage_keys), len(errors), len(issues)


@pytest.fixture(scope="module")
def landed(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Four documents (two samples, an image, an empty file) submitted, then the sink stopped
    while the pipeline works on them and started again once they completed."""
    folder = tmp_path_factory.mktemp("docs")
    image = folder / "note.png"
    image.write_bytes(text_image(["Sink test note", "one page only"]))
    empty = folder / "empty.pdf"
    empty.write_bytes(b"")
    paths = [REPO / "samples" / "invoice.pdf", REPO / "samples" / "letter.pdf", image]
    proc = subprocess.run(
        [sys.executable, "-m", "pagestream.streams.cli", "submit", *map(str, paths), "--json", "--tenant", "sinktest"],
        env=service_env(stack),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc_ids = [json.loads(line)["doc_id"] for line in proc.stdout.splitlines()]
    with Client(stack) as client:  # through the client: the CLI refuses an empty file before uploading
        doc_ids.append(client.submit(empty, tenant="sinktest"))
    sink = supervisor.bridge(stack)  # the bridge hosts the sink
    sink.stop(stack)  # mid-stream: the pipeline goes on while the sink is down
    done = read_topic(stack, topics.DOCS_COMPLETED, lambda r: r["doc_id"] in doc_ids, timeout=300, count=4)
    assert len(done) == 4
    sink.start(stack)
    # the last progress events may still be on their way: compare with Kafka until both agree
    assert wait_for(lambda: counts(stack, doc_ids) == expected_counts(stack, doc_ids), True)
    expected = expected_counts(stack, doc_ids)
    assert expected[:2] == (4, 5) and expected[3] == 1
    return {"doc_ids": doc_ids, "expected": expected, "by_name": {r["filename"]: r for r in done}}


def test_documents_land_exactly_once_across_a_sink_restart(stack: Settings, landed: dict) -> None:
    ids = in_list(landed["doc_ids"])
    pages = post_sql(stack, f"SELECT doc_id, page_no, status FROM pages FINAL WHERE doc_id IN ({ids}) ORDER BY 1, 2")
    by_doc: dict[str, list[int]] = {}
    for doc_id, page_no, status in pages["rows"]:
        assert status == "OK"
        by_doc.setdefault(doc_id, []).append(page_no)
    by_name = landed["by_name"]
    assert by_doc == {by_name["invoice.pdf"]["doc_id"]: [1, 2], by_name["letter.pdf"]["doc_id"]: [1, 2],
                      by_name["note.png"]["doc_id"]: [1]}  # fmt: skip
    failed = post_sql(
        stack, f"SELECT status, error_code FROM documents FINAL WHERE doc_id = '{by_name['empty.pdf']['doc_id']}'"
    )
    assert failed["rows"] == [["FAILED", "empty_file"]]
    ocr = post_sql(
        stack,
        f"SELECT versions['ocr'], duration_ms > 0 FROM stage_events FINAL WHERE doc_id IN ({ids}) "
        "AND stage = 'OCR' AND status = 'PAGE_DONE'",
    )
    assert len(ocr["rows"]) == 5 and all(v.startswith("tesseract 5") and positive for v, positive in ocr["rows"])


def test_reproduced_events_never_double_count(stack: Settings, landed: dict) -> None:
    messages = raw_messages(stack, landed["doc_ids"])
    before = httpx.get(f"{stack.bridge_url}/v1/sink").json()
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers, "partitioner": "murmur2_random"})
    for topic, key, value in messages:  # every event of these documents once more, byte for byte
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0

    def caught_up() -> bool:
        status = httpx.get(f"{stack.bridge_url}/v1/sink").json()
        return status["messages"] >= before["messages"] + len(messages) and status["pending_rows"] == 0

    assert wait_for(caught_up, True)
    written = httpx.get(f"{stack.bridge_url}/v1/sink").json()["rows_written"]
    assert written["pages"] >= before["rows_written"]["pages"] + 5  # written again ...
    assert counts(stack, landed["doc_ids"]) == landed["expected"]  # ... counted once


def test_pagestream_sql_prints_a_table_and_json(stack: Settings, landed: dict) -> None:
    query = f"SELECT count() AS pages FROM pages FINAL WHERE doc_id IN ({in_list(landed['doc_ids'])})"
    command = [sys.executable, "-m", "pagestream.streams.cli", "sql", query]
    table = subprocess.run(command, env=service_env(stack), capture_output=True, text=True, timeout=60)
    assert table.returncode == 0 and table.stdout.splitlines() == ["pages", "-----", "    5", "1 row"], table
    as_json = subprocess.run([*command, "--json"], env=service_env(stack), capture_output=True, text=True, timeout=60)
    assert json.loads(as_json.stdout)["rows"] == [[5]]
    bad = subprocess.run(
        [*command[:-1], "SELECT nope FROM pages"], env=service_env(stack), capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "UNKNOWN_IDENTIFIER" in bad.stderr and "Traceback" not in bad.stderr
    down = {**service_env(stack), "PAGESTREAM_BRIDGE_PORT": "1"}
    absent = subprocess.run(command, env=down, capture_output=True, text=True, timeout=60)
    assert absent.returncode == 2 and "not reachable" in absent.stderr and "pagestream up" in absent.stderr


def test_every_ops_sql_query_runs_on_the_pipeline_data(stack: Settings, landed: dict) -> None:
    results = {path.stem: post_sql(stack, path.read_text()) for path in sorted((REPO / "ops" / "sql").glob("*.sql"))}
    rows = {name: [dict(zip([c["name"] for c in r["columns"]], row, strict=True)) for row in r["rows"]]
            for name, r in results.items()}  # fmt: skip
    assert set(rows) == {
        "throughput_per_minute", "p95_latency_per_stage", "document_latency", "document_types_per_tenant",
        "review_queue", "errors_by_code", "model_version_comparison", "validation_failures_by_rule",
        "model_comparison",
    }  # fmt: skip
    assert sum(r["pages"] for r in rows["throughput_per_minute"]) >= 5
    stages = {r["stage"]: r for r in rows["p95_latency_per_stage"]}
    assert {"INGEST", "OCR", "LAYOUT"} <= set(stages) and stages["OCR"]["p95_ms"] > 0
    assert any(r["tenant"] == "sinktest" and r["p95_s"] > 0 for r in rows["document_latency"])
    landed_docs = list(landed["by_name"].values())
    types = {r["type"]: r for r in rows["document_types_per_tenant"] if r["tenant"] == "sinktest"}
    expected_types = Counter(r["doc_type"] or "unclassified" for r in landed_docs)
    assert {t: r["documents"] for t, r in types.items()} == dict(expected_types)
    assert sum(r["needs_review"] for r in types.values()) == sum(
        r["validation_status"] == "NEEDS_REVIEW" for r in landed_docs
    )
    queue = {r["doc_id"]: r for r in rows["review_queue"]}
    failed_id = landed["by_name"]["empty.pdf"]["doc_id"]
    assert (queue[failed_id]["result"], queue[failed_id]["code"]) == ("FAILED", "empty_file")
    for doc in landed_docs:
        if doc["validation_status"] in ("NEEDS_REVIEW", "FAILED"):
            assert queue[doc["doc_id"]]["verdict"] == doc["validation_status"], doc["filename"]
    failing_rules = {r["rule"] for r in rows["validation_failures_by_rule"] if r["documents"] >= 1}
    assert {i["rule"] for doc in landed_docs for i in doc["issues"] or []} <= failing_rules
    assert any(r["stage"] == "INGEST" and r["error_code"] == "empty_file" for r in rows["errors_by_code"])
    assert any(r["ocr"].startswith("tesseract 5") and r["pages"] >= 5 for r in rows["model_version_comparison"])


def test_results_download_through_presigned_urls(stack: Settings, landed: dict) -> None:
    doc_id = landed["by_name"]["letter.pdf"]["doc_id"]
    answer = httpx.get(f"{stack.bridge_url}/v1/documents/{doc_id}/files").json()
    with_fields = {"fields.csv"} if landed["by_name"]["letter.pdf"]["fields"] else set()
    expected = {"document.json", "document.md", "result.json", "chunks.jsonl"} | with_fields
    assert answer["tenant"] == "sinktest" and set(answer["files"]) == expected
    assert [p["page_no"] for p in answer["pages"]] == [1, 2]
    markdown = httpx.get(answer["files"]["document.md"]).text
    assert markdown.startswith(f"<!-- pagestream document {doc_id}, tenant sinktest, 2 pages, status OK -->")
    assert markdown.count("\n---\n") == 1 and "Customer Relations" in markdown.split("\n---\n")[1]
    assert httpx.get(answer["pages"][1]["url"]).content.startswith(b"\x89PNG")
    assert json.loads(httpx.get(answer["files"]["document.json"]).text)["page_count"] == 2


def test_a_clickhouse_outage_loses_nothing(stack: Settings, chdb_state: Path) -> None:
    """An in-process sink (own group, own database in the test's chDB) while a table is detached:
    it retries, commits nothing, survives its own restart, and writes everything once it is back."""
    settings = stack.model_copy(
        update={
            "state_dir": chdb_state,
            "clickhouse_database": f"outage_{uuid.uuid4().hex[:8]}",
            "sink_group": f"pagestream-sink-test-{uuid.uuid4().hex[:8]}",
            "sink_batch_seconds": 0.2,
            "sink_retry_max_seconds": 1.0,
        }
    )
    runner = SinkRunner(settings)
    runner.start()
    db = settings.clickhouse_database
    writer = writer_client(settings)
    try:
        assert wait_for(lambda: runner.status()["state"], "running") == "running"
        writer.command(f"DETACH TABLE {db}.pages")
        with Client(stack) as client:
            watch = client.watch()
            doc_id = client.submit(text_image(["Written during an outage"]), tenant="outage", filename="outage.png")
            (done,) = [e for e in watch.until_completed({doc_id}, timeout=120) if e.kind == "completed"]
            watch.close()
        assert wait_for(lambda: runner.status()["failed_writes"] >= 2, True)
        assert runner.status()["state"] == "retrying"
        assert not _committed_past(settings, doc_id)  # Kafka still holds the unwritten result
        runner.stop()  # a restart in the middle of the outage: buffered rows are gone from memory
        runner = SinkRunner(settings)
        runner.start()
        assert wait_for(lambda: runner.status()["state"], "retrying") == "retrying"
        writer.command(f"ATTACH TABLE {db}.pages")
        assert wait_for(lambda: (runner.status()["state"], runner.status()["pending_rows"]), ("running", 0))
        rows = writer.query(f"SELECT count() FROM {db}.documents FINAL WHERE doc_id = '{doc_id}'").result_rows
        pages = writer.query(f"SELECT count() FROM {db}.pages FINAL WHERE doc_id = '{doc_id}'").result_rows
        assert (rows, pages) == ([(1,)], [(done.record["page_count"],)])
        assert wait_for(lambda: _committed_past(settings, doc_id), True)
    finally:
        runner.stop()
        writer.close()


def _committed_past(settings: Settings, doc_id: str) -> bool:
    """Whether the sink's group committed past the DocumentCompleted of ``doc_id``."""
    found = read_topic(settings, topics.DOCS_COMPLETED, lambda r: r["doc_id"] == doc_id)
    partition = found[0]["_partition"]
    offset = found[0]["_offset"]
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": settings.sink_group})
    try:
        (committed,) = consumer.committed([TopicPartition(topics.DOCS_COMPLETED.name, partition)], timeout=10)
    finally:
        consumer.close()
    return committed.offset > offset
