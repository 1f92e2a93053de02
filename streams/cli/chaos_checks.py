"""What a chaos run checks besides the DocumentCompleted events: SSE resumption and ClickHouse rows.

An SSE client follows the tenant's stream on the HTTP bridge through every fault, reconnecting
with its last event id as ``Last-Event-ID`` the way a browser's EventSource does. Each id is the
cursor over all partitions, so the Kafka position of every event it received is the one entry
that moved; afterwards those positions are compared with the tenant's events in Kafka: every one
received exactly once means no gap and no repeat. ClickHouse, written by the sink inside the
bridge (killed once during the run), must then hold one row per document and per page.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

import httpx
from confluent_kafka import TopicPartition

from pagestream.connectors.bridge.feed import FEED_SPECS, STREAM_TOPICS, replay
from pagestream.streams import kafka
from pagestream.streams.codec import Codecs, registry_client
from pagestream.streams.settings import Settings

Position = tuple[str, int, int]  # topic, partition, offset


def end_cursor(settings: Settings) -> str:
    """A tenant-stream id naming the current end of every partition: resuming from it gives what
    comes next, and every event after it is known by its position."""
    consumer = kafka.consumer(settings, "chaos-cursor")
    try:
        ends = {name: kafka.end_offsets(consumer, name) for name in STREAM_TOPICS}
    finally:
        consumer.close()
    return ",".join(f"{name}:{p}:{high - 1}" for name, highs in ends.items() for p, high in highs.items())


def _cursor(event_id: str) -> dict[tuple[str, int], int]:
    cursor = {}
    for item in event_id.split(","):
        topic, partition, offset = item.rsplit(":", 2)
        cursor[(topic, int(partition))] = int(offset)
    return cursor


@dataclass
class SseReport:
    events_received: int
    events_in_kafka: int
    missing: int  # in Kafka, never received: a gap
    repeated: int  # received more than once
    reconnections: int
    missing_ids: list[str]  # the first few, topic:partition:offset


class SseFollower(threading.Thread):
    """A client of ``GET /v1/events?tenant=T`` that reconnects with Last-Event-ID after any drop."""

    def __init__(self, settings: Settings, tenant: str, after: str) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.tenant = tenant
        self.after = after  # the cursor to begin after (end_cursor)
        self.last_id = after
        self.received: list[Position] = []
        self.reconnections = 0
        self._stopping = threading.Event()

    def run(self) -> None:
        url = f"{self.settings.bridge_url}/v1/events"
        while not self._stopping.is_set():
            try:
                with httpx.stream(
                    "GET",
                    url,
                    params={"tenant": self.tenant},
                    headers={"Last-Event-ID": self.last_id},
                    timeout=httpx.Timeout(self.settings.sse_keepalive_seconds * 2, connect=5),
                ) as response:
                    if response.status_code == 200:
                        self._read(response)
            except httpx.HTTPError:
                pass  # the bridge is down or restarting: try again, as EventSource does
            if not self._stopping.is_set():
                self.reconnections += 1
                time.sleep(1.0)

    def _read(self, response: httpx.Response) -> None:
        for line in response.iter_lines():
            if self._stopping.is_set():
                return
            if line.startswith("id:"):
                event_id = line[3:].strip()
                before, after = _cursor(self.last_id), _cursor(event_id)
                self.received += [(t, p, o) for (t, p), o in after.items() if o != before.get((t, p), -1)]
                self.last_id = event_id

    def finish(self, doc_ids: set[str], timeout: float) -> SseReport:
        """Wait up to ``timeout`` until every event of ``doc_ids`` that Kafka holds since the start
        has been received, stop, and compare the two."""
        in_kafka = self._in_kafka(doc_ids)
        deadline = time.monotonic() + timeout
        while not in_kafka <= set(self.received) and time.monotonic() < deadline:
            time.sleep(0.5)
        self._stopping.set()
        self.join(timeout=self.settings.sse_keepalive_seconds * 2 + 5)
        counts = Counter(self.received)
        missing = sorted(in_kafka - set(counts))
        return SseReport(
            events_received=len(self.received),
            events_in_kafka=len(in_kafka),
            missing=len(missing),
            repeated=sum(c - 1 for c in counts.values()),
            reconnections=self.reconnections,
            missing_ids=[f"{t}:{p}:{o}" for t, p, o in missing[:20]],
        )

    def _in_kafka(self, doc_ids: set[str]) -> set[Position]:
        """Positions of the tenant's events of ``doc_ids`` in Kafka after the start cursor."""
        settings = self.settings
        codecs = Codecs(registry_client(settings.registry_url), FEED_SPECS)
        consumer = kafka.consumer(settings, "chaos-ends")
        try:
            ranges = [
                ((t, p), o + 1, consumer.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1])
                for (t, p), o in _cursor(self.after).items()
            ]
        finally:
            consumer.close()
        return {
            (e.topic, e.partition, e.offset)
            for e in replay(settings, codecs, ranges, lambda e: e.record.get("tenant") == self.tenant)
            if e.record.get("doc_id") in doc_ids
        }


@dataclass
class ClickHouseReport:
    documents: int  # rows in documents (FINAL) of the run's documents
    pages_expected: int
    pages: int  # rows in pages (FINAL)
    documents_with_wrong_page_rows: int


def clickhouse_report(
    settings: Settings, tenant: str, expected_pages: dict[str, int], timeout: float
) -> ClickHouseReport:
    """Rows per document in ClickHouse, waiting up to ``timeout`` for the sink to catch up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            documents = _sql(settings, f"SELECT doc_id FROM documents FINAL WHERE tenant = '{tenant}'")
            pages = dict(
                _sql(settings, f"SELECT doc_id, count() FROM pages FINAL WHERE tenant = '{tenant}' GROUP BY doc_id")
            )
        except (httpx.HTTPError, ValueError, KeyError):
            documents, pages = [], {}
        wrong = sum(1 for doc_id, n in expected_pages.items() if pages.get(doc_id, 0) != n)
        ours = {row[0] for row in documents} & set(expected_pages)
        if (wrong == 0 and len(ours) == len(expected_pages)) or time.monotonic() > deadline:
            return ClickHouseReport(
                documents=len(ours),
                pages_expected=sum(expected_pages.values()),
                pages=sum(pages.get(doc_id, 0) for doc_id in expected_pages),
                documents_with_wrong_page_rows=wrong,
            )
        time.sleep(2.0)


def _sql(settings: Settings, query: str) -> list[list]:
    response = httpx.post(f"{settings.bridge_url}/v1/sql", json={"query": query}, timeout=30)
    response.raise_for_status()
    return response.json()["rows"]
