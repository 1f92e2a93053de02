"""Python client: submit documents and follow them, without the CLI.

    from pagestream.connectors.client import Client
    with Client() as client:
        doc_id = client.submit("invoice.pdf", tenant="acme")
        for item in client.progress(doc_id):      # Progress events, then the DocumentCompleted
            print(item)
        for result in client.results(tenant="acme", since=0, timeout=5):  # typed results
            print(result.doc_id, result.status, result.text[:80])
        markdown = client.result(doc_id, format="md")   # a completed document's result file

Producers use confluent-kafka with acks=all, idempotence and the murmur2 partitioner, so keys
land on the same partitions as with Faust's aiokafka producer. Documents are uploaded to the
object store first; the event carries only the reference (claim check).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_END, KafkaException, TopicPartition

from pagestream.connectors.objectstore import ObjectStore, StoredObject, document_prefix
from pagestream.connectors.records import DocumentCompleted, Progress
from pagestream.connectors.results import RESULT_FILES, find_result
from pagestream.connectors.tenants import Caller, TenantStore
from pagestream.streams import kafka, topics
from pagestream.streams.codec import Codecs, registry_client
from pagestream.streams.errors import PagestreamError
from pagestream.streams.records import DocumentLabel, DocumentSubmitted
from pagestream.streams.settings import Settings
from pagestream.streams.topics import SCHEMA_VERSION, TopicSpec


class SubmitError(PagestreamError):
    """A document could not be submitted (bad path, bad id, Kafka refused the event)."""

    code = "submit_failed"


class ResultNotFound(PagestreamError):
    """A document has no such result file (not completed, rejected before its pages were read,
    without extracted fields, or unknown)."""

    code = "result_not_found"


@dataclass(frozen=True)
class Event:
    kind: str  # "progress" or "completed"
    record: dict[str, Any]


# Events of a document can carry timestamps a little before its submission time when the clocks
# of the submitting machine and the workers differ; reading back this much earlier covers that.
_CLOCK_SKEW_MS = 10_000
_REMEMBERED_SUBMISSIONS = 10_000  # submission times a client keeps for progress()

Since = dt.datetime | int | None  # a time, or milliseconds since the epoch; None: from now on


def since_ms(since: Since) -> int | None:
    if isinstance(since, dt.datetime):
        return int(since.timestamp() * 1000)
    return since


class Watch:
    """Events of docs.progress and docs.completed from the moment the watch was opened (or from
    ``since``: a time, found per partition with the broker's time index)."""

    def __init__(
        self,
        settings: Settings,
        codecs: Codecs,
        specs: Iterable[TopicSpec] = (topics.DOCS_PROGRESS, topics.DOCS_COMPLETED),
        since: Since = None,
    ) -> None:
        self._codecs = codecs
        self._consumer = kafka.consumer(settings, "watch")
        self._specs = {spec.name: spec for spec in specs}
        partitions = []
        for name in self._specs:
            meta = self._consumer.list_topics(name, timeout=10).topics[name]
            partitions += [TopicPartition(name, partition) for partition in meta.partitions]
        start = since_ms(since)
        if start is None:
            assignment = [
                TopicPartition(tp.topic, tp.partition, self._consumer.get_watermark_offsets(tp, timeout=10)[1])
                for tp in partitions
            ]
        else:
            found = self._consumer.offsets_for_times(
                [TopicPartition(tp.topic, tp.partition, start) for tp in partitions], timeout=10
            )
            # -1: no message at or after that time in the partition, so start at its end.
            assignment = [tp if tp.offset >= 0 else TopicPartition(tp.topic, tp.partition, OFFSET_END) for tp in found]
        self._consumer.assign(assignment)
        self._assignment = assignment

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            msg = self._consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            yield self._event(msg)

    def _event(self, msg: Any) -> Event:
        spec: TopicSpec = self._specs[msg.topic()]
        kind = "completed" if spec is topics.DOCS_COMPLETED else "progress"
        return Event(kind, self._codecs.decode(spec, msg.value()))

    def backlog(self, timeout: float = 60.0) -> Iterator[Event]:
        """The events already in the topics when called (from the watch's start up to the end
        offsets of that moment), then the end: for reading stored results back in bulk."""
        ends = {}
        for tp in self._assignment:
            low, high = self._consumer.get_watermark_offsets(tp, timeout=10)
            if tp.offset != OFFSET_END and high > max(low, tp.offset):
                ends[(tp.topic, tp.partition)] = high
        deadline = time.monotonic() + timeout
        while ends and time.monotonic() < deadline:
            msg = self._consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            if msg.offset() + 1 >= ends.get((msg.topic(), msg.partition()), 0):
                ends.pop((msg.topic(), msg.partition()), None)
            yield self._event(msg)
        if ends:
            raise TimeoutError(f"stored events not read back within {timeout} s: {sorted(ends)}")

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


def source_key(tenant: str, doc_id: str, name: str) -> str:
    """Object key of a submitted document's original bytes (the claim check of DocumentSubmitted).

    ``name`` is the content's sha256 for uploads through the client, so a conflicting submission
    under a doc_id already taken (which ingest refuses) cannot replace the first document's bytes;
    a presigned upload, whose doc_id the bridge has just made, names it ``upload``.
    """
    return f"{document_prefix(tenant, doc_id)}/source/{name}"


class Client:
    """Submit documents to pagestream and watch their progress and results.

    With an API key (``api_key``, or ``PAGESTREAM_API_KEY``) the client acts for the key's tenant
    only: the key is checked against the deployment's tenant store, ``submit`` uses its tenant
    (naming another one is an error) and ``results`` reads only its tenant's. The client talks to
    Kafka and the object store directly, so whoever runs it is trusted like any Kafka producer;
    the boundary between tenants is the HTTP bridge."""

    def __init__(self, settings: Settings | None = None, *, api_key: str | None = None) -> None:
        self.settings = settings or Settings()
        key = api_key or self.settings.api_key
        self.caller: Caller | None = None
        if key:
            self.caller = TenantStore(self.settings.tenants_file).authenticate(key)
            if self.caller is None:
                raise SubmitError("the API key is not known to this deployment ('pagestream tenant list' shows keys)")
        self.codecs = Codecs(
            registry_client(self.settings.registry_url),
            [
                topics.DOCS_SUBMITTED,
                topics.DOCS_PROGRESS,
                topics.DOCS_COMPLETED,
                topics.DOCS_LABELS,
                topics.DOCS_REPLAYED,
            ],
        )
        self.store = ObjectStore(self.settings)
        self._producer = kafka.producer(self.settings, "client", config={"linger.ms": 5})
        self._submitted_at: dict[str, int] = {}  # doc_id -> ms, so progress() starts at the submission

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def watch(self) -> Watch:
        return Watch(self.settings, self.codecs)

    def results(
        self,
        doc_ids: Iterable[str] | None = None,
        *,
        tenant: str | None = None,
        since: Since = None,
        timeout: float | None = None,
    ) -> Iterator[DocumentCompleted]:
        """Typed results from docs.completed, from now on (or from ``since``).

        With ``doc_ids`` the iterator ends once each of them has a result (TimeoutError if
        ``timeout`` passes first); without, it runs until ``timeout`` (forever when None).
        """
        pending = set(doc_ids) if doc_ids is not None else None
        tenant = self._tenant(tenant, "default") if self.caller or tenant else None
        watch = Watch(self.settings, self.codecs, (topics.DOCS_COMPLETED,), since)
        try:
            for event in watch.events(timeout):
                record = event.record
                if (tenant is not None and record["tenant"] != tenant) or (
                    pending is not None and record["doc_id"] not in pending
                ):
                    continue
                yield DocumentCompleted.from_record(record)
                if pending is not None:
                    pending.discard(record["doc_id"])
                    if not pending:
                        return
        finally:
            watch.close()
        if pending:
            raise TimeoutError(f"no result within {timeout} s for: {', '.join(sorted(pending))}")

    def progress(
        self, doc_id: str, *, since: Since = None, timeout: float | None = None
    ) -> Iterator[Progress | DocumentCompleted]:
        """The document's progress events, then its DocumentCompleted, then the end.

        Reads from the submission when this client submitted the document, else from ``since``
        (default: now), so nothing is missed between ``submit`` and this call.
        """
        start = since_ms(since)
        if start is None and doc_id in self._submitted_at:
            start = self._submitted_at[doc_id] - _CLOCK_SKEW_MS
        watch = Watch(self.settings, self.codecs, since=start)
        try:
            for event in watch.events(timeout):
                if event.record["doc_id"] != doc_id or (self.caller and event.record["tenant"] != self.caller.tenant):
                    continue
                if event.kind == "completed":
                    yield DocumentCompleted.from_record(event.record)
                    return
                yield Progress.from_record(event.record)
        finally:
            watch.close()
        raise TimeoutError(f"document {doc_id} did not complete within {timeout} s")

    def result(self, doc_id: str, format: str = "md", *, tenant: str | None = None) -> str:
        """A completed document's result file as text, by ``format``: ``md`` (document.md),
        ``json`` (result.json, the DocumentCompleted), ``csv`` (fields.csv), ``chunks``
        (chunks.jsonl: one DocumentChunk per line).

        The files are written before the document's DocumentCompleted is published, so they can
        be read as soon as ``results``/``progress`` yield it. With an API key the key's tenant is
        searched; else ``tenant``, or without one every tenant (this client is trusted like any
        Kafka producer). Raises ``ResultNotFound`` when the file is not there."""
        if format not in RESULT_FILES:
            raise ValueError(f"format {format!r}: one of {', '.join(RESULT_FILES)}")
        name = RESULT_FILES[format]
        owner = self._tenant(tenant, "") or None
        key = find_result(self.store, doc_id, name, owner)
        if key is None:
            why = "has no extracted fields, " if format == "csv" else ""
            raise ResultNotFound(
                f"no {name} for document {doc_id}{f' of tenant {owner}' if owner else ''}: it {why}has not "
                "completed, was rejected before its pages were read, or is unknown"
            )
        return self.store.get(f"s3://{self.store.bucket}/{key}").decode()

    def submit(
        self,
        document: str | Path | bytes,
        *,
        tenant: str | None = None,
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
            name = filename or _printable_name(path)
        doc_id = doc_id or uuid.uuid4().hex
        tenant = self._tenant(tenant, "default")
        stored = self.upload(data, tenant=tenant, doc_id=doc_id)
        return self.submit_stored(
            doc_id, stored, tenant=tenant, filename=name, ocr_engine=ocr_engine, render_dpi=render_dpi,
            force_ocr=force_ocr,
        )

    def submit_stored(
        self,
        doc_id: str,
        stored: StoredObject,
        *,
        tenant: str,
        filename: str,
        ocr_engine: str | None = None,
        render_dpi: int | None = None,
        force_ocr: bool | None = None,
    ) -> str:
        """Publish DocumentSubmitted for a document already in the object store (e.g. uploaded
        through a presigned URL); returns its doc_id."""
        submitted_at = int(time.time() * 1000)
        self.publish(
            DocumentSubmitted(
                doc_id=doc_id,
                tenant=tenant,
                filename=filename,
                source_uri=stored.uri,
                sha256=stored.sha256,
                size_bytes=stored.size,
                submitted_at=submitted_at,
                render_dpi=render_dpi,
                ocr_engine=ocr_engine,
                force_ocr=force_ocr,
                schema_version=SCHEMA_VERSION,
            ).to_dict()
        )
        self._submitted_at[doc_id] = submitted_at
        if len(self._submitted_at) > _REMEMBERED_SUBMISSIONS:
            del self._submitted_at[next(iter(self._submitted_at))]
        return doc_id

    def _tenant(self, asked: str | None, default: str) -> str:
        """The key's tenant (another one asked for is an error), else the one asked for."""
        if self.caller is None:
            return asked or default
        if asked and asked != self.caller.tenant:
            raise SubmitError(f"this client's API key belongs to tenant {self.caller.tenant!r}, not {asked!r}")
        return self.caller.tenant

    def upload(self, data: bytes, *, tenant: str, doc_id: str) -> StoredObject:
        """Store a document's bytes under its tenant's namespace (the claim check)."""
        return self.store.put(source_key(tenant, doc_id, hashlib.sha256(data).hexdigest()), data)

    def publish(self, submission: dict[str, Any]) -> None:
        """Publish a DocumentSubmitted and wait until Kafka has it (acks=all)."""
        self.publish_event(topics.DOCS_SUBMITTED, submission, submission["filename"])

    def label(self, doc_id: str, doc_type: str, *, tenant: str = "default", source: str = "client") -> None:
        """Publish a document's true type (docs.labels), which analytics compare models against."""
        record = DocumentLabel(
            doc_id=doc_id,
            tenant=tenant,
            doc_type=doc_type,
            source=source,
            labelled_at=int(time.time() * 1000),
            schema_version=SCHEMA_VERSION,
        ).to_dict()
        self.publish_event(topics.DOCS_LABELS, record, f"the label of {doc_id}")

    def publish_event(self, spec: TopicSpec, record: dict[str, Any], what: str) -> None:
        """Encode ``record`` for ``spec``, publish it keyed by its doc_id and wait until Kafka has it."""
        errors: list[str] = []
        value = self.codecs.encode(spec, record)
        try:
            self._producer.produce(
                spec.name,
                key=topics.key_for(spec, record["doc_id"]),
                value=value,
                on_delivery=lambda err, _msg: errors.append(str(err)) if err else None,
            )
        except (KafkaException, BufferError) as exc:
            raise SubmitError(
                f"Kafka refused the {spec.record} event ({len(value)} bytes; messages up to about 1 MB are "
                f"accepted: keep file names and fields short, the document itself goes to the object store): {exc}"
            ) from exc
        if self._producer.flush(30) or errors:
            raise SubmitError(f"Kafka did not accept {what}: {errors or 'timeout'}")

    def close(self) -> None:
        self._producer.flush(10)
