"""Dead letters carry the failing message; once the cause is fixed, replay completes the document."""

from __future__ import annotations

import hashlib
import time
import uuid

import pytest

from pagestream.connectors.client import Client, source_key
from pagestream.streams.cli import dlq
from pagestream.streams.topics import SCHEMA_VERSION
from tests.conftest import text_image

pytestmark = pytest.mark.kafka


def wait_completed(watch, doc_id: str) -> dict:
    return next(e.record for e in watch.until_completed({doc_id}, timeout=300) if e.kind == "completed")


def test_replay_after_the_missing_upload_arrives(stack) -> None:
    doc_id = uuid.uuid4().hex
    with Client(stack) as client:
        late = text_image(["replayed after the fix"])
        digest = hashlib.sha256(late).hexdigest()
        uri = f"s3://{stack.s3_bucket}/{source_key('acme', doc_id, digest)}"
        submission = {"doc_id": doc_id, "tenant": "acme", "filename": "late.png", "source_uri": uri,
                      "sha256": digest, "size_bytes": len(late), "content_type": None,
                      "submitted_at": int(time.time() * 1000), "render_dpi": None, "ocr_engine": None,
                      "schema_version": SCHEMA_VERSION}
        watch = client.watch()
        client.publish(submission)  # the object does not exist yet
        failed = wait_completed(watch, doc_id)
        assert (failed["status"], failed["error_code"]) == ("FAILED", "object_missing")

        (letter,) = dlq.dead_letters(stack, dlq.matcher(doc_id=doc_id))
        assert letter["stage"] == "INGEST" and letter["source_topic"] == "docs.submitted"
        assert letter["source_key"] == doc_id.encode() and letter["raw_value"]

        assert client.upload(late, tenant="acme", doc_id=doc_id).uri == uri
        assert dlq.republish(stack, [letter]) == (1, [])
        done = wait_completed(watch, doc_id)
        watch.close()
    assert done["status"] == "OK" and "replayed" in done["pages"][0]["text"]
