"""The Kafka shell around the ClickHouse sink: consume, decode, batch, write, then commit.

A confluent-kafka consumer in group ``pagestream-sink`` reads docs.progress, docs.completed and
pages.dlq with auto-commit off. Offsets are committed only after ``ClickHouseSink.flush`` wrote
the rows they cover. When ClickHouse is down the runner pauses its partitions (it keeps polling,
so it stays in the group), waits with exponential backoff and flushes again until the write
succeeds. It runs in a background thread of the process that owns the chDB data directory.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from clickhouse_connect.driver.client import Client
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from pagestream.connectors.clickhouse.connections import writer_client
from pagestream.connectors.clickhouse.rows import SINK_TOPICS
from pagestream.connectors.clickhouse.schema import migrate
from pagestream.connectors.clickhouse.sink import ClickHouseSink, SinkBackpressureError
from pagestream.streams import kafka
from pagestream.streams.backoff import Backoff
from pagestream.streams.codec import Codecs, registry_client
from pagestream.streams.errors import DecodeError
from pagestream.streams.settings import Settings

log = logging.getLogger(__name__)


class SinkRunner:
    """Runs the sink loop in a thread; ``status()`` reports what it did, for the HTTP side."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = "stopped"
        self.messages = 0
        self.commits = 0
        self.last_flush_at: float | None = None
        self.sink: ClickHouseSink | None = None
        self._last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._paused: list[TopicPartition] = []
        self._specs = {spec.name: spec for spec in SINK_TOPICS}
        self._codecs: Codecs | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run_logged, name="pagestream-sink", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after one last flush attempt; rows not written stay uncommitted in Kafka."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def status(self) -> dict[str, Any]:
        sink = self.sink
        return {
            "state": self.state,
            "group": self.settings.sink_group,
            "messages": self.messages,
            "commits": self.commits,
            "pending_rows": sink.pending_rows if sink else 0,
            "rows_written": dict(sink.written) if sink else {},
            "failed_writes": sink.failed_attempts if sink else 0,
            "last_error": (sink.last_error if sink else None) or self._last_error,
            "last_flush_at": self.last_flush_at,
        }

    # --- the loop ------------------------------------------------------------------------------

    def _run_logged(self) -> None:
        try:
            self._run()
        except Exception as exc:  # the thread must say why it died, the HTTP side reports it
            log.exception("the ClickHouse sink stopped")
            self._last_error = f"{type(exc).__name__}: {exc}"
            self.state = "failed"

    def _run(self) -> None:
        prepared = self._prepare()
        if prepared is None:
            self.state = "stopped"
            return
        self._codecs, sink, client = prepared
        self.sink = sink
        consumer = kafka.consumer(
            self.settings, "sink", group=self.settings.sink_group, config={"enable.partition.eof": False}
        )
        consumer.subscribe(list(self._specs), on_revoke=lambda c, parts: self._on_revoke(c, sink, parts))
        self.state = "running"
        log.info("ClickHouse sink consuming %s as group %s", ", ".join(self._specs), self.settings.sink_group)
        try:
            while not self._stop.is_set():
                msg = consumer.poll(0.2)
                if msg is not None:
                    self._add(sink, msg)
                if sink.due():
                    self._flush_until_written(consumer, sink)
            self._flush_once(consumer, sink)
        finally:
            consumer.close()
            client.close()
            self.state = "stopped"

    def _prepare(self) -> tuple[Codecs, ClickHouseSink, Client] | None:
        """Connect to ClickHouse and migrate, and build the codecs; retried until they work."""
        backoff = Backoff(ceiling=self.settings.sink_retry_max_seconds)
        while not self._stop.is_set():
            self.state = "connecting"
            client: Client | None = None
            try:
                client = writer_client(self.settings)
                migrate(client, self.settings.clickhouse_database)
                codecs = Codecs(registry_client(self.settings.registry_url), SINK_TOPICS)
            except Exception as exc:  # ClickHouse or the registry not reachable yet
                if client is not None:
                    client.close()
                self._last_error = f"{type(exc).__name__}: {exc}"
                delay = backoff.next()
                log.warning("ClickHouse sink cannot start (%s); retrying in %.1f s", self._last_error[:300], delay)
                self._stop.wait(delay)
                continue
            self._last_error = None
            sink = ClickHouseSink(
                client,
                self.settings.clickhouse_database,
                batch_rows=self.settings.sink_batch_rows,
                batch_seconds=self.settings.sink_batch_seconds,
                backoff=Backoff(ceiling=self.settings.sink_retry_max_seconds),
            )
            return codecs, sink, client
        return None

    def _add(self, sink: ClickHouseSink, msg: Message) -> None:
        """Buffer a message's rows; an undecodable one becomes an error row (the sink's dead letter)."""

        def add(msg: Message, value: dict[str, Any] | DecodeError) -> None:
            sink.add(value, msg.key(), msg.timestamp()[1], msg.headers(), msg.topic(), msg.partition(), msg.offset())
            self.messages += 1

        for _, record in kafka.decoded(self._codecs, self._specs, [msg], add):
            add(msg, record)

    def _flush_until_written(self, consumer: Consumer, sink: ClickHouseSink) -> None:
        """Flush; while ClickHouse refuses, pause the partitions and retry with backoff."""
        while not self._stop.is_set():
            try:
                offsets = sink.flush()
            except SinkBackpressureError as exc:
                self.state = "retrying"
                self._pause(consumer)
                deadline = time.monotonic() + exc.retry_after
                while time.monotonic() < deadline and not self._stop.is_set():
                    msg = consumer.poll(min(0.2, max(0.0, deadline - time.monotonic())))
                    if msg is not None:  # fetched before the pause took effect: it joins the batch
                        self._add(sink, msg)
                continue
            self._commit(consumer, offsets)
            self._resume(consumer)
            self.state = "running"
            return

    def _flush_once(self, consumer: Consumer, sink: ClickHouseSink) -> None:
        try:
            self._commit(consumer, sink.flush())
        except SinkBackpressureError:
            log.warning("stopping with %d rows unwritten: Kafka keeps them uncommitted", sink.pending_rows)

    def _commit(self, consumer: Consumer, offsets: dict[tuple[str, int], int]) -> None:
        self.last_flush_at = time.time()
        if not offsets:
            return
        try:
            consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
            self.commits += 1
        except KafkaException as exc:  # e.g. a rebalance: the rows are written, a redelivery replaces them
            log.warning("offset commit failed after a successful write: %s", exc)

    def _pause(self, consumer: Consumer) -> None:
        if not self._paused:
            self._paused = consumer.assignment()
            consumer.pause(self._paused)

    def _resume(self, consumer: Consumer) -> None:
        if self._paused:
            consumer.resume(self._paused)
            self._paused = []

    def _on_revoke(self, consumer: Consumer, sink: ClickHouseSink, partitions: list[TopicPartition]) -> None:
        """Before losing partitions: write and commit what we have, or leave it to the next owner."""
        lost = [(tp.topic, tp.partition) for tp in partitions]
        self._paused = [tp for tp in self._paused if (tp.topic, tp.partition) not in lost]
        try:
            offsets = sink.flush()
        except SinkBackpressureError:
            sink.drop(lost)
            return
        self._commit(consumer, offsets)
