"""The Faust app factory: one app per worker process (the stages' agents are registered on it by
``agents.worker``).

Faust runs on its default aiokafka transport. Values travel as raw bytes in the Confluent Avro
wire format and are decoded inside the agents, so an undecodable message reaches the dead-letter
topic with its raw bytes instead of stopping the stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Producer

from pagestream.streams.kafka import KafkaConfig
from pagestream.streams.offsets import use_in_flight_safe_commits
from pagestream.streams.settings import Settings


class IdempotentProducer(Producer):
    """Faust's producer with idempotence on also outside transactions: a batch the broker wrote but
    did not acknowledge (a broker restart) is not written twice by the producer's own retry."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


def create_app(settings: Settings, worker_id: int = 0) -> faust.App:
    """The Faust app of worker ``worker_id``: its own state dir, idempotent producer, commits of
    finished offsets only."""
    datadir = settings.state_dir / "faust" / f"worker-{worker_id}"
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        **KafkaConfig.of(settings).faust(),
        store="rocksdb://",
        datadir=str(datadir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        web_enabled=False,
        processing_guarantee=settings.processing_guarantee,
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=0,
    )
    use_in_flight_safe_commits(app)  # commits only offsets a stream finished, in order
    app.transport.Producer = IdempotentProducer
    return app
