"""Retries and quarantine on the real stack, with failures injected through the ``faults`` setting
(tenants set up in tests/conftest.py), and the duplicate doc_id rule."""

from __future__ import annotations

import contextlib
import io
import uuid

import pytest

from pagestream.connectors.client import Client
from pagestream.streams import topics
from pagestream.streams.cli import dlq, supervisor
from pagestream.streams.cli.main import cmd_dlq
from tests.conftest import read_topic, text_image

pytestmark = pytest.mark.kafka


def completed(client: Client, submit: dict[str, tuple[str, bytes]]) -> dict[str, dict]:
    """Submit {doc_id: (tenant, bytes)} and wait for each DocumentCompleted."""
    watch = client.watch()
    try:
        for doc_id, (tenant, data) in submit.items():
            client.submit(data, tenant=tenant, doc_id=doc_id, filename=f"{doc_id}.png")
        events = watch.until_completed(set(submit), timeout=240)
        return {e.record["doc_id"]: e.record for e in events if e.kind == "completed"}
    finally:
        watch.close()


def test_transient_failures_are_retried_with_backoff_until_the_page_completes(stack) -> None:
    ocr_doc, ingest_doc = uuid.uuid4().hex, uuid.uuid4().hex
    with Client(stack) as client:
        results = completed(
            client,
            {
                ocr_doc: ("fault-twice", text_image(["retried twice then read"])),
                ingest_doc: ("fault-once", text_image(["ingested on the second attempt"])),
            },
        )
    assert results[ocr_doc]["status"] == "OK" and "retried" in results[ocr_doc]["pages"][0]["text"]
    assert results[ingest_doc]["status"] == "OK" and "second" in results[ingest_doc]["pages"][0]["text"]
    first, second = (
        read_topic(stack, tier, lambda r: r["doc_id"] == ocr_doc, timeout=20)[0] for tier in topics.RETRY_TIERS[:2]
    )
    assert (first["stage"], first["attempt"], first["page_no"], first["target_topic"]) == ("OCR", 1, 1, "pages.raw")
    assert (second["attempt"], second["delay_ms"], first["delay_ms"]) == (2, 1000, 500)
    assert first["not_before"] > first["at"] and first["error_code"] == "injected_fault"
    assert first["key"] == f"{ocr_doc}/1".encode() and first["value"]
    (ingest_retry,) = read_topic(stack, topics.RETRY_TIERS[0], lambda r: r["doc_id"] == ingest_doc, timeout=20)
    assert (ingest_retry["stage"], ingest_retry["target_topic"]) == ("INGEST", "docs.submitted")
    assert not list(dlq.dead_letters(stack, dlq.matcher(doc_id=ocr_doc)))


def test_a_failed_assembly_is_retried_and_the_document_completes(stack) -> None:
    """The last page's message goes to a retry topic; when it comes back the complete state, kept
    meanwhile in the assembly table, is finished."""
    doc_id = uuid.uuid4().hex
    with Client(stack) as client:
        results = completed(client, {doc_id: ("fault-assembly", text_image(["assembled on the second attempt"]))})
    assert results[doc_id]["status"] == "OK" and "second attempt" in results[doc_id]["pages"][0]["text"]
    (retry,) = read_topic(stack, topics.RETRY_TIERS[0], lambda r: r["doc_id"] == doc_id, timeout=20)
    assert (retry["stage"], retry["attempt"], retry["target_topic"]) == ("ASSEMBLE", 1, "pages.classified")
    assert retry["key"] == doc_id.encode() and retry["error_code"] == "injected_fault"
    assert not list(dlq.dead_letters(stack, dlq.matcher(doc_id=doc_id)))


def test_an_object_store_outage_is_ridden_out(stack) -> None:
    """A real outage: MinIO stops after the upload, ingest cannot read the document, retries, and
    completes it once MinIO is back."""
    doc_id, minio = uuid.uuid4().hex, supervisor.object_store(stack)
    with Client(stack) as client:
        stored = client.upload(text_image(["read after the outage"]), tenant="acme", doc_id=doc_id)
        watch = client.watch()
        minio.stop(stack)
        try:
            client.submit_stored(doc_id, stored, tenant="acme", filename="outage.png")
            (retry,) = read_topic(stack, topics.RETRY_TIERS[0], lambda r: r["doc_id"] == doc_id, timeout=120)
        finally:
            minio.start(stack)
        events = watch.until_completed({doc_id}, timeout=240)
        (result,) = [e.record for e in events if e.kind == "completed"]
        watch.close()
    assert (retry["stage"], retry["attempt"], retry["target_topic"]) == ("INGEST", 1, "docs.submitted")
    assert result["status"] == "OK" and "outage" in result["pages"][0]["text"]


def test_a_page_failing_every_attempt_is_quarantined_and_the_next_document_completes(stack) -> None:
    poisoned, following = uuid.uuid4().hex, uuid.uuid4().hex
    with Client(stack) as client:
        results = completed(
            client,
            {
                poisoned: ("fault-always", text_image(["never read"])),
                following: ("acme", text_image(["the next document"])),
            },
        )
    assert results[following]["status"] == "OK"
    failed = results[poisoned]
    assert (failed["status"], failed["error_code"]) == ("FAILED", "pages_quarantined")
    assert "page 1: quarantined after 4 attempts at OCR: InjectedFault" in failed["error_message"]
    (letter,) = dlq.dead_letters(stack, dlq.matcher(doc_id=poisoned))
    assert (letter["stage"], letter["error_code"], letter["error_class"]) == ("OCR", "injected_fault", "InjectedFault")
    assert (letter["attempts"], letter["quarantined"], letter["retryable"]) == (4, True, True)
    assert letter["input_ref"].endswith("/pages/0001.png") and letter["versions"]["ocr_engine"]
    assert letter["source_topic"] == "pages.raw" and letter["raw_value"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cmd_dlq(stack, "list", None, None, None, False, quarantined=True) == 0
    (line,) = [ln for ln in out.getvalue().splitlines() if poisoned in ln]
    assert " 4 quarantined " in line and "injected_fault" in line  # the ATTEMPTS column


def test_a_doc_id_submitted_twice(stack) -> None:
    doc_id = uuid.uuid4().hex
    content = text_image(["submitted twice"])
    with Client(stack) as client:
        assert completed(client, {doc_id: ("acme", content)})[doc_id]["status"] == "OK"
        client.submit(content, tenant="acme", doc_id=doc_id, filename="again.png")  # same content: idempotent
        client.submit(text_image(["something else"]), tenant="acme", doc_id=doc_id, filename="other.png")
    (note,) = read_topic(
        stack, topics.DOCS_PROGRESS, lambda r: r["doc_id"] == doc_id and "same content" in (r["message"] or "")
    )
    assert note["stage"] == "INGEST"
    (letter,) = read_topic(stack, topics.PAGES_DLQ, lambda r: r["doc_id"] == doc_id)
    assert (letter["error_code"], letter["stage"]) == ("duplicate_doc_id", "INGEST")
    assert "already names another document" in letter["message"]
    results = read_topic(stack, topics.DOCS_COMPLETED, lambda r: r["doc_id"] == doc_id, timeout=8, count=2)
    assert len(results) == 1
    # The refused upload did not replace the accepted document's bytes (what a replay would read).
    first, *_ = read_topic(stack, topics.DOCS_SUBMITTED, lambda r: r["doc_id"] == doc_id, timeout=30, count=3)
    with Client(stack) as client:
        assert client.store.get(first["source_uri"]) == content
