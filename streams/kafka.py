"""Every Kafka client of the project, built from one connection config, and the one decode loop.

Three client libraries talk to the same cluster: Faust (on its aiokafka transport) runs the stages,
plain aiokafka the retry agent, confluent-kafka the Python client, the bridge, the sink and the
CLI. They must agree on where the cluster is, how each names itself to it (``client.id``, seen in
broker logs and quotas), how long a member may stay silent, how large a message may be, and on
which partition a key lives: aiokafka hashes keys with murmur2, so every confluent producer sets
``partitioner=murmur2_random`` (DESIGN.md, "Kafka clients"). ``KafkaConfig`` holds these once and
renders them for each library; the builders below are the only place a client is constructed.

``decoded`` is the one loop over consumed messages that decodes each and hands every undecodable
one to the caller's dead letter (the sink writes it as a row, the feed and the retry agent skip it
with a log line); the Faust stages have theirs in ``agents.runtime.context.each_record``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from pagestream.streams.codec import Codecs
from pagestream.streams.errors import DecodeError
from pagestream.streams.settings import Settings
from pagestream.streams.topics import TopicSpec

# librdkafka's own log lines (e.g. while a broker restarts) go to logging, not to stderr.
LOG = logging.getLogger("pagestream.kafka")

M = TypeVar("M")


@dataclass(frozen=True)
class KafkaConfig:
    """How every client of this deployment connects, whatever its library."""

    bootstrap_servers: str
    app_id: str
    session_timeout_s: float
    max_request_bytes: int  # an event may be up to max_event_bytes; the request adds its framing

    @classmethod
    def of(cls, settings: Settings) -> KafkaConfig:
        return cls(
            settings.bootstrap_servers,
            settings.app_id,
            settings.kafka_session_timeout_s,
            settings.max_event_bytes + 100_000,
        )

    @property
    def heartbeat_s(self) -> float:
        return max(1.0, self.session_timeout_s / 4)

    def client_id(self, purpose: str) -> str:
        return f"{self.app_id}-{purpose}"

    def confluent(self, purpose: str) -> dict[str, Any]:
        return {"bootstrap.servers": self.bootstrap_servers, "client.id": self.client_id(purpose)}

    def aiokafka(self, purpose: str) -> dict[str, Any]:
        return {"bootstrap_servers": self.bootstrap_servers, "client_id": self.client_id(purpose)}

    def faust(self) -> dict[str, Any]:
        """The broker settings of a Faust app (its producer waits for all in-sync replicas)."""
        return {
            "broker": f"kafka://{self.bootstrap_servers}",
            "broker_client_id": self.client_id("worker"),
            "broker_session_timeout": self.session_timeout_s,
            "broker_heartbeat_interval": self.heartbeat_s,
            "producer_acks": -1,
            "producer_max_request_size": self.max_request_bytes,
        }


def consumer(
    settings: Settings, purpose: str, *, group: str | None = None, config: Mapping[str, Any] | None = None
) -> Consumer:
    """A confluent consumer committing only by hand. Without ``group`` it is alone in a group of its
    own (``pagestream-<purpose>-<random>``), for readers that assign partitions themselves."""
    return Consumer(
        {
            **KafkaConfig.of(settings).confluent(purpose),
            "group.id": group or f"pagestream-{purpose}-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            **(config or {}),
        },
        logger=LOG,
    )


def producer(settings: Settings, purpose: str, *, config: Mapping[str, Any] | None = None) -> Producer:
    """A confluent producer: acks=all, idempotent, keys on the partitions Faust puts them on."""
    return Producer(
        {
            **KafkaConfig.of(settings).confluent(purpose),
            "acks": "all",
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
            **(config or {}),
        },
        logger=LOG,
    )


def admin(settings: Settings) -> AdminClient:
    return AdminClient(KafkaConfig.of(settings).confluent("admin"), logger=LOG)


def aio_consumer(settings: Settings, purpose: str, group: str) -> AIOKafkaConsumer:
    """An aiokafka consumer in ``group``, committing by hand, with the workers' session timeout."""
    kafka = KafkaConfig.of(settings)
    return AIOKafkaConsumer(
        **kafka.aiokafka(purpose),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=int(kafka.session_timeout_s * 1000),
        heartbeat_interval_ms=int(kafka.heartbeat_s * 1000),
    )


def aio_producer(settings: Settings, purpose: str) -> AIOKafkaProducer:
    """An aiokafka producer like Faust's: acks=all, idempotent, murmur2 (aiokafka's default)."""
    kafka = KafkaConfig.of(settings)
    return AIOKafkaProducer(
        **kafka.aiokafka(purpose), acks="all", enable_idempotence=True, max_request_size=kafka.max_request_bytes
    )


def _confluent_fields(msg: Message) -> tuple[str, bytes | None, object]:
    return msg.topic(), msg.value(), msg.error()


def aiokafka_fields(msg: Any) -> tuple[str, bytes | None, object]:
    """``decoded``'s view of an aiokafka ConsumerRecord (errors are raised, never delivered)."""
    return msg.topic, msg.value, None


def decoded(
    codecs: Codecs,
    specs: Mapping[str, TopicSpec],
    messages: Iterable[M],
    dead_letter: Callable[[M, DecodeError], None],
    fields: Callable[[M], tuple[str, bytes | None, object]] = _confluent_fields,
) -> Iterator[tuple[M, dict[str, Any]]]:
    """Each message of a topic in ``specs`` with its decoded record; an undecodable one goes to
    ``dead_letter`` instead, and an error event of the client (not a message) is logged."""
    for msg in messages:
        topic, value, error = fields(msg)
        if error:
            LOG.warning("Kafka: %s", error)
            continue
        try:
            record = codecs.decode(specs[topic], value)
        except DecodeError as exc:
            dead_letter(msg, exc)
            continue
        yield msg, record


def end_offsets(client: Consumer, topic: str) -> dict[int, int]:
    """The high watermark of each partition of ``topic``: where the next message will go."""
    partitions = client.list_topics(topic, timeout=10).topics[topic].partitions
    return {p: client.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in sorted(partitions)}


def read_to_end(settings: Settings, codecs: Codecs, spec: TopicSpec, purpose: str) -> Iterator[tuple[Message, dict]]:
    """Every record of ``spec``'s topic up to its end at the call, oldest first per partition; an
    undecodable message is logged and skipped."""
    reader = consumer(settings, purpose)
    try:
        ends = end_offsets(reader, spec.name)
        pending = {p for p, end in ends.items() if end > 0}
        reader.assign([TopicPartition(spec.name, p, 0) for p in pending])
        while pending:
            msg = reader.poll(1.0)
            if msg is None:
                continue
            if not msg.error() and msg.offset() + 1 >= ends[msg.partition()]:
                pending.discard(msg.partition())
            yield from decoded(codecs, {spec.name: spec}, [msg], _skip)
    finally:
        reader.close()


def _skip(msg: Message, exc: DecodeError) -> None:
    LOG.warning("skipping %s:%s:%s: %s", msg.topic(), msg.partition(), msg.offset(), exc)
