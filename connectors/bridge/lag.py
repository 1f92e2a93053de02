"""Consumer lag of the pipeline: how many messages its consumer group has yet to process, per
topic, from the group's committed offsets and the topics' end offsets (polled in a thread).

The committed offsets are read by a consumer of the group that never subscribes (so it never
joins the group), not with the Admin API: librdkafka 2.16's ListConsumerGroupOffsets can abort the
whole process when the broker drops the connection mid-request ("rd_kafka_enq_once_del_source_return:
Assertion `eonce->refcnt > 0' failed", librdkafka PR #5397), which a broker restart did to the
bridge, leaving its embedded chDB "shutting down due to a fatal error".
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from pagestream.streams import kafka, metrics, topics
from pagestream.streams.settings import Settings

log = logging.getLogger(__name__)


def measure_lag(consumer: Consumer, names: list[str], timeout: float = 10.0) -> dict[str, int]:
    """Messages not yet consumed by ``consumer``'s group, per topic of ``names`` it has committed on."""
    metadata = consumer.list_topics(timeout=timeout).topics
    partitions = [TopicPartition(n, p) for n in names if n in metadata for p in sorted(metadata[n].partitions)]
    committed = consumer.committed(partitions, timeout=timeout) if partitions else []
    consumed = {tp.topic for tp in committed if tp.offset >= 0}
    lag: dict[str, int] = {}
    for tp in committed:
        if tp.topic in consumed:
            end = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=timeout)[1]
            # A partition without a committed offset (-1001) has everything still to read.
            lag[tp.topic] = lag.get(tp.topic, 0) + max(0, end - max(tp.offset, 0))
    return lag


class LagMonitor:
    """Measures the pipeline's lag every ``lag_interval_seconds``; the last snapshot is served as
    JSON (/v1/lag) and as the ``pagestream_consumer_lag_messages`` gauge."""

    def __init__(self, settings: Settings) -> None:
        self.group = settings.app_id
        self.interval = settings.lag_interval_seconds
        self._consumer = kafka.consumer(settings, "bridge-lag", group=self.group)
        self._topics = [spec.name for spec in topics.ALL_TOPICS]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pagestream-bridge-lag", daemon=True)
        self.snapshot: dict[str, Any] = {"group": self.group, "topics": {}, "total": 0, "measured_at": None}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._consumer.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                lag = measure_lag(self._consumer, self._topics)
            except Exception as exc:  # Kafka away for a moment: keep the last snapshot, say so
                log.warning("consumer lag not measured: %s", exc)
            else:
                for topic, value in lag.items():
                    metrics.CONSUMER_LAG.labels(self.group, topic).set(value)
                self.snapshot = {
                    "group": self.group,
                    "topics": dict(sorted(lag.items())),
                    "total": sum(lag.values()),
                    "measured_at": time.time(),
                }
            self._stop.wait(self.interval)
