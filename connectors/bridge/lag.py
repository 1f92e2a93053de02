"""Consumer lag of the pipeline: how many messages its consumer group has yet to process, per
topic, from the group's committed offsets and the topics' end offsets (polled in a thread)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from pagestream.streams import metrics
from pagestream.streams.settings import Settings

log = logging.getLogger(__name__)


def measure_lag(admin: AdminClient, group: str, timeout: float = 10.0) -> dict[str, int]:
    """Messages not yet consumed by ``group``, per topic it has committed offsets on."""
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=timeout)
    committed = futures[group].result().topic_partitions or []
    if not committed:
        return {}
    ends = admin.list_offsets(
        {TopicPartition(tp.topic, tp.partition): OffsetSpec.latest() for tp in committed}, request_timeout=timeout
    )
    lag: dict[str, int] = {}
    for tp in committed:
        end = ends[TopicPartition(tp.topic, tp.partition)].result().offset
        # A partition without a committed offset (-1001) has everything still to read.
        lag[tp.topic] = lag.get(tp.topic, 0) + max(0, end - max(tp.offset, 0))
    return lag


class LagMonitor:
    """Measures the pipeline's lag every ``lag_interval_seconds``; the last snapshot is served as
    JSON (/v1/lag) and as the ``pagestream_consumer_lag_messages`` gauge."""

    def __init__(self, settings: Settings) -> None:
        self.group = settings.app_id
        self.interval = settings.lag_interval_seconds
        self._admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pagestream-bridge-lag", daemon=True)
        self.snapshot: dict[str, Any] = {"group": self.group, "topics": {}, "total": 0, "measured_at": None}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                lag = measure_lag(self._admin, self.group)
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
