"""The bridge's view of the pipeline: one Kafka consumer of the result topics, feeding a bounded
status index of documents and the open SSE streams.

Every event is named by where it sits in Kafka (``topic:partition:offset``), so a stream can be
resumed exactly: what the feed has not dispatched yet reaches a subscriber live, what it had
dispatched before the subscriber joined is read back from Kafka (``replay``). Both halves meet at
the feed's position, taken under the same lock that dispatches, so nothing is lost or repeated.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Message, TopicPartition

from pagestream.streams import kafka, metrics, topics
from pagestream.streams.codec import Codecs
from pagestream.streams.errors import DecodeError
from pagestream.streams.settings import Settings
from pagestream.streams.topics import TopicSpec

log = logging.getLogger(__name__)

TP = tuple[str, int]

KINDS = {
    topics.DOCS_SUBMITTED.name: "submitted",
    topics.DOCS_PROGRESS.name: "progress",
    topics.DOCS_COMPLETED.name: "completed",
}
FEED_SPECS: tuple[TopicSpec, ...] = (topics.DOCS_SUBMITTED, topics.DOCS_PROGRESS, topics.DOCS_COMPLETED)
# What SSE streams carry: a document's progress, then its result.
STREAM_TOPICS: tuple[str, ...] = (topics.DOCS_PROGRESS.name, topics.DOCS_COMPLETED.name)
_SPECS = {spec.name: spec for spec in FEED_SPECS}


@dataclass(frozen=True)
class FeedEvent:
    """One decoded event and its place in Kafka."""

    topic: str
    partition: int
    offset: int
    record: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    @property
    def kind(self) -> str:
        return KINDS[self.topic]

    @property
    def doc_id(self) -> str:
        return self.record["doc_id"]

    @property
    def tenant(self) -> str:
        return self.record["tenant"]


@dataclass
class DocumentState:
    """What the bridge knows about one document, from its events."""

    doc_id: str
    tenant: str
    partition: int
    filename: str | None = None
    status: str = "SUBMITTED"  # SUBMITTED, RUNNING, then the result's OK, PARTIAL or FAILED
    page_count: int | None = None
    submitted_at: Any = None
    updated_at: Any = None
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    first_progress_offset: int | None = None
    result: dict[str, Any] | None = None
    result_offset: int | None = None
    # Where the feed stood in the progress partition when it dispatched the result: a document's
    # stream ends with its result, so it holds the progress before that point, live or replayed.
    progress_end: int | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-able status (without the result's pages)."""
        return {
            "doc_id": self.doc_id,
            "tenant": self.tenant,
            "filename": self.filename,
            "status": self.status,
            "page_count": self.page_count,
            "submitted_at": self.submitted_at,
            "updated_at": self.updated_at,
            "stages": {
                stage: {"status": s["status"], "pages_done": s["done"], "seconds": round(s["seconds"], 3)}
                for stage, s in self.stages.items()
            },
            "error_code": (self.result or {}).get("error_code"),
        }


class DocumentIndex:
    """The most recently active documents (least recently active evicted first). Not thread-safe:
    the feed guards it with its lock."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._docs: OrderedDict[str, DocumentState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._docs)

    def get(self, doc_id: str) -> DocumentState | None:
        return self._docs.get(doc_id)

    def latest(self, limit: int, tenant: str | None = None) -> list[DocumentState]:
        found = []
        for state in reversed(self._docs.values()):
            if tenant is None or state.tenant == tenant:
                found.append(state)
                if len(found) >= limit:
                    break
        return found

    def apply(self, event: FeedEvent) -> None:
        record = event.record
        state = self._docs.get(event.doc_id)
        if state is None:
            state = DocumentState(event.doc_id, event.tenant, event.partition)
            self._docs[event.doc_id] = state
            while len(self._docs) > self.capacity:
                self._docs.popitem(last=False)
        self._docs.move_to_end(event.doc_id)
        if event.kind == "submitted":
            state.filename = record.get("filename")
            state.submitted_at = record.get("submitted_at")
            state.updated_at = state.updated_at or record.get("submitted_at")
        elif event.kind == "progress":
            self._progress(state, event)
        else:
            state.result, state.result_offset = record, event.offset
            state.status, state.page_count = record["status"], record["page_count"]
            state.filename = state.filename or record.get("filename")
            state.submitted_at = state.submitted_at or record.get("submitted_at")
            state.updated_at = record["completed_at"]

    @staticmethod
    def _progress(state: DocumentState, event: FeedEvent) -> None:
        record = event.record
        if state.first_progress_offset is None:
            state.first_progress_offset = event.offset
        stage = state.stages.setdefault(
            record["stage"], {"status": "RUNNING", "pages": set(), "done": 0, "seconds": 0.0}
        )
        if record["status"] in ("COMPLETED", "FAILED"):
            stage["status"] = record["status"]
        if record.get("page_no") is not None and record["status"] == "PAGE_DONE":
            stage["pages"].add(record["page_no"])
        stage["done"] = max(stage["done"], len(stage["pages"]), record.get("pages_done") or 0)
        stage["seconds"] += (record.get("duration_ms") or 0) / 1000
        state.page_count = record.get("page_count") or state.page_count
        state.updated_at = record["at"]
        if state.result is None:
            state.status = "FAILED" if record["status"] == "FAILED" and record["stage"] == "INGEST" else "RUNNING"


class Subscriber:
    """An open stream's queue, filled from the feed's thread through the event loop."""

    def __init__(self, matches: Callable[[FeedEvent], bool], loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self.matches = matches
        self.queue: asyncio.Queue[FeedEvent | None] = asyncio.Queue()
        self._loop = loop
        self._limit = limit
        self.overflowed = False

    def offer(self, event: FeedEvent) -> None:
        """Called by the feed thread for every event."""
        if self.matches(event):
            self._loop.call_soon_threadsafe(self._put, event)

    def _put(self, event: FeedEvent) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= self._limit:
            # A client too slow to keep up is cut off; it resumes from Kafka with its Last-Event-ID.
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(event)


class Feed:
    """The consumer thread: reads the result topics, updates the index, dispatches to streams."""

    def __init__(self, settings: Settings, codecs: Codecs) -> None:
        self.settings = settings
        self.codecs = codecs
        self.index = DocumentIndex(settings.bridge_index_size)
        self.lock = threading.Lock()
        self.caught_up = threading.Event()
        self.partitions: dict[str, int] = {}
        self._positions: dict[TP, int] = {}  # next offset the feed will dispatch, per partition
        self._targets: dict[TP, int] = {}  # high watermarks at start: caught up once reached
        self._subscribers: set[Subscriber] = set()
        self._stop = threading.Event()
        self._consumer = kafka.consumer(settings, "bridge-feed")
        self._thread = threading.Thread(target=self._run, name="pagestream-bridge-feed", daemon=True)

    def start(self) -> None:
        """Assign every partition from a bounded look-back, so the index is rebuilt at start."""
        assignment = []
        for spec in FEED_SPECS:
            meta = self._consumer.list_topics(spec.name, timeout=10).topics[spec.name]
            self.partitions[spec.name] = len(meta.partitions)
            for partition in meta.partitions:
                low, high = self._consumer.get_watermark_offsets(TopicPartition(spec.name, partition), timeout=10)
                start = max(low, high - self.settings.bridge_rebuild_events)
                self._positions[(spec.name, partition)] = start
                self._targets[(spec.name, partition)] = high
                assignment.append(TopicPartition(spec.name, partition, start))
        self._consumer.assign(assignment)
        self._check_caught_up()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._consumer.close()

    def subscribe(
        self, matches: Callable[[FeedEvent], bool], doc_id: str | None = None
    ) -> tuple[Subscriber, dict[TP, int], DocumentState | None]:
        """Join the live feed: the subscriber, the feed's positions at that instant, and the state
        of ``doc_id`` at that same instant (a copy)."""
        subscriber = Subscriber(matches, asyncio.get_running_loop(), self.settings.sse_buffer_events)
        with self.lock:
            self._subscribers.add(subscriber)
            metrics.SSE_STREAMS.set(len(self._subscribers))
            state = self.index.get(doc_id) if doc_id else None
            copy = DocumentState(**{**state.__dict__, "stages": dict(state.stages)}) if state else None
            return subscriber, dict(self._positions), copy

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self.lock:
            self._subscribers.discard(subscriber)
            metrics.SSE_STREAMS.set(len(self._subscribers))

    def document(self, doc_id: str) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """(summary, result) of a document, or None when the bridge does not know it."""
        with self.lock:
            state = self.index.get(doc_id)
            return (state.summary(), state.result) if state else None

    def latest(self, limit: int, tenant: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [state.summary() for state in self.index.latest(limit, tenant)]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._consumer.consume(500, timeout=0.2)
            except Exception:  # a broker hiccup: librdkafka reconnects by itself
                log.exception("feed consume failed")
                continue
            for msg, record in kafka.decoded(self.codecs, _SPECS, messages, self._skip):
                self._dispatch(msg, FeedEvent(msg.topic(), msg.partition(), msg.offset(), record))
            metrics.INDEXED_DOCUMENTS.set(len(self.index))
            if not self.caught_up.is_set():
                self._check_caught_up()

    def _skip(self, msg: Message, exc: DecodeError) -> None:
        log.warning("feed skips %s:%s:%s: %s", msg.topic(), msg.partition(), msg.offset(), exc)
        self._dispatch(msg, None)

    def _dispatch(self, msg: Message, event: FeedEvent | None) -> None:
        """Index the event and offer it to the open streams; either way the feed moves past it."""
        metrics.FEED_EVENTS.labels(msg.topic()).inc()
        with self.lock:
            if event is not None:
                self.index.apply(event)
                if event.kind == "completed":
                    state = self.index.get(event.doc_id)
                    state.progress_end = self._positions[(topics.DOCS_PROGRESS.name, event.partition)]
                if event.topic in STREAM_TOPICS:
                    for subscriber in self._subscribers:
                        subscriber.offer(event)
            self._positions[(msg.topic(), msg.partition())] = msg.offset() + 1

    def _check_caught_up(self) -> None:
        if all(self._positions[tp] >= high for tp, high in self._targets.items()):
            self.caught_up.set()


def replay(
    settings: Settings,
    codecs: Codecs,
    ranges: list[tuple[TP, int, int]],
    matches: Callable[[FeedEvent], bool],
) -> Iterator[FeedEvent]:
    """Events of each ``(partition, start, end)`` range (end exclusive), read back from Kafka in
    offset order, one partition after the other; only those that ``matches``."""
    wanted = [(tp, start, end) for tp, start, end in ranges if end > start]
    if not wanted:
        return
    consumer = kafka.consumer(settings, "bridge-replay")
    try:
        for (topic, partition), start, end in wanted:
            consumer.assign([TopicPartition(topic, partition, start)])
            done = False
            while not done:
                messages = consumer.consume(500, timeout=1.0)
                in_range = [m for m in messages if m.error() or m.offset() < end]
                done = len(in_range) < len(messages) or any(m.offset() >= end - 1 for m in in_range if not m.error())
                for msg, record in kafka.decoded(codecs, _SPECS, in_range, lambda _m, _e: None):
                    event = FeedEvent(topic, partition, msg.offset(), record)
                    if matches(event):
                        yield event
                if not messages:  # the rest of the range is gone (retention) or was never there
                    position = consumer.position([TopicPartition(topic, partition)])[0].offset
                    low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                    done = position >= end or high <= start or low >= end
    finally:
        consumer.close()
