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

import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from pagestream.connectors.objectstore import ObjectStore, StoredObject, document_prefix
from pagestream.streams import topics
from pagestream.streams.codec import Codecs, registry_client
from pagestream.streams.errors import PagestreamError
from pagestream.streams.settings import Settings
from pagestream.streams.topics import SCHEMA_VERSION, TopicSpec

# librdkafka's own log lines (e.g. while a broker restarts) go to logging, not to stderr.
_kafka_log = logging.getLogger("pagestream.kafka")


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
            },
            logger=_kafka_log,
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


def _printable_name(path: Path) -> str:
    """A file name as valid UTF-8 (names that are not become readable with replacement marks)."""
    return os.fsencode(path.name).decode("utf-8", errors="replace")


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
            },
            logger=_kafka_log,
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
    ) -> str:
        """Upload a document and publish DocumentSubmitted; returns its doc_id."""
        if isinstance(document, bytes):
            data, name = document, filename or "document"
        else:
            path = Path(document)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise SubmitError(f"cannot read {path}: {exc.strerror}") from exc
            name = filename or _printable_name(path)
        doc_id = doc_id or uuid.uuid4().hex
        stored = self.upload(data, tenant=tenant, doc_id=doc_id)
        self.publish(
            {
                "doc_id": doc_id,
                "tenant": tenant,
                "filename": name,
                "source_uri": stored.uri,
                "sha256": stored.sha256,
                "size_bytes": stored.size,
                "content_type": None,
                "submitted_at": int(time.time() * 1000),
                "render_dpi": render_dpi,
                "ocr_engine": ocr_engine,
                "schema_version": SCHEMA_VERSION,
            }
        )
        return doc_id

    def upload(self, data: bytes, *, tenant: str, doc_id: str) -> StoredObject:
        """Store a document's bytes under its tenant's namespace (the claim check)."""
        return self.store.put(f"{document_prefix(tenant, doc_id)}/source/original", data)

    def publish(self, submission: dict[str, Any]) -> None:
        """Publish a DocumentSubmitted and wait until Kafka has it (acks=all)."""
        errors: list[str] = []
        value = self.codecs.encode(topics.DOCS_SUBMITTED, submission)
        try:
            self._producer.produce(
                topics.DOCS_SUBMITTED.name,
                key=topics.key_for(topics.DOCS_SUBMITTED, submission["doc_id"]),
                value=value,
                on_delivery=lambda err, _msg: errors.append(str(err)) if err else None,
            )
        except (KafkaException, BufferError) as exc:
            raise SubmitError(
                f"Kafka refused the submission event ({len(value)} bytes; messages up to about 1 MB are "
                f"accepted: keep file names and fields short, the document itself goes to the object store): {exc}"
            ) from exc
        if self._producer.flush(30) or errors:
            raise SubmitError(
                f"Kafka did not accept the submission of {submission['filename']}: {errors or 'timeout'}"
            )

    def close(self) -> None:
        self._producer.flush(10)
