"""Python client: submit documents and follow them, without the CLI.

    from pagestream.connectors.client import Client
    with Client() as client:
        watch = client.watch()                    # start listening before submitting
        doc_id = client.submit("invoice.pdf", tenant="acme")
        for event in watch.until_completed({doc_id}):
            print(event.kind, event.record)

Producers use confluent-kafka with acks=all, idempotence and the murmur2 partitioner, so keys
land on the same partitions as with Faust's aiokafka producer. Documents are uploaded to the
object store first; the event carries only the reference (claim check).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from pagestream.connectors.objectstore import ObjectStore, document_prefix, safe_part
from pagestream.streams import topics
from pagestream.streams.codec import Codecs, registry_client
from pagestream.streams.errors import PagestreamError
from pagestream.streams.settings import Settings
from pagestream.streams.topics import SCHEMA_VERSION, TopicSpec


class SubmitError(PagestreamError):
    """A document could not be submitted (bad path, bad id, Kafka refused the event)."""

    code = "submit_failed"


@dataclass(frozen=True)
class Event:
    kind: str  # "progress" or "completed"
    record: dict[str, Any]


class Watch:
    """Events of docs.progress and docs.completed from the moment the watch was opened."""

    def __init__(self, settings: Settings, codecs: Codecs) -> None:
        self._codecs = codecs
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "group.id": f"pagestream-watch-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
            }
        )
        self._specs = {
            topics.DOCS_PROGRESS.name: topics.DOCS_PROGRESS,
            topics.DOCS_COMPLETED.name: topics.DOCS_COMPLETED,
        }
        assignment = []
        for name in self._specs:
            meta = self._consumer.list_topics(name, timeout=10).topics[name]
            for partition in meta.partitions:
                _, high = self._consumer.get_watermark_offsets(TopicPartition(name, partition), timeout=10)
                assignment.append(TopicPartition(name, partition, high))
        self._consumer.assign(assignment)

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            msg = self._consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            spec: TopicSpec = self._specs[msg.topic()]
            kind = "completed" if spec is topics.DOCS_COMPLETED else "progress"
            yield Event(kind, self._codecs.decode(spec, msg.value()))

    def until_completed(self, doc_ids: set[str], timeout: float | None = None) -> Iterator[Event]:
        """Events of ``doc_ids`` until each has completed (first completion per document)."""
        pending = set(doc_ids)
        for event in self.events(timeout):
            doc_id = event.record["doc_id"]
            if doc_id not in pending:
                continue
            yield event
            if event.kind == "completed":
                pending.discard(doc_id)
                if not pending:
                    return
        if pending:
            raise TimeoutError(f"no result within {timeout} s for: {', '.join(sorted(pending))}")

    def close(self) -> None:
        self._consumer.close()


class Client:
    """Submit documents to pagestream and watch their progress and results."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.codecs = Codecs(
            registry_client(self.settings.registry_url),
            [topics.DOCS_SUBMITTED, topics.DOCS_PROGRESS, topics.DOCS_COMPLETED],
        )
        self.store = ObjectStore(self.settings)
        self._producer = Producer(
            {
                "bootstrap.servers": self.settings.bootstrap_servers,
                "acks": "all",
                "enable.idempotence": True,
                "partitioner": "murmur2_random",
                "linger.ms": 5,
            }
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def watch(self) -> Watch:
        return Watch(self.settings, self.codecs)

    def submit(
        self,
        document: str | Path | bytes,
        *,
        tenant: str = "default",
        filename: str | None = None,
        doc_id: str | None = None,
        ocr_engine: str | None = None,
        render_dpi: int | None = None,
        force_ocr: bool | None = None,
    ) -> str:
        """Upload a document and publish DocumentSubmitted; returns its doc_id. ``ocr_engine``
        overrides the tenant's and deployment's engine; ``force_ocr`` OCRs even born-digital pages."""
        if isinstance(document, bytes):
            data, name = document, filename or "document"
        else:
            path = Path(document)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise SubmitError(f"cannot read {path}: {exc.strerror}") from exc
            name = filename or path.name
        doc_id = doc_id or uuid.uuid4().hex
        key = f"{document_prefix(safe_part(tenant, 'tenant'), doc_id)}/source/original"
        stored = self.store.put(key, data)
        record = {
            "doc_id": doc_id,
            "tenant": tenant,
            "filename": name,
            "source_uri": stored.uri,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_bytes": len(data),
            "content_type": None,
            "submitted_at": int(time.time() * 1000),
            "render_dpi": render_dpi,
            "ocr_engine": ocr_engine,
            "force_ocr": force_ocr,
            "schema_version": SCHEMA_VERSION,
        }
        errors: list[str] = []
        self._producer.produce(
            topics.DOCS_SUBMITTED.name,
            key=topics.key_for(topics.DOCS_SUBMITTED, doc_id),
            value=self.codecs.encode(topics.DOCS_SUBMITTED, record),
            on_delivery=lambda err, _msg: errors.append(str(err)) if err else None,
        )
        if self._producer.flush(30) or errors:
            raise SubmitError(f"Kafka did not accept the submission of {name}: {errors or 'timeout'}")
        return doc_id

    def close(self) -> None:
        self._producer.flush(10)
