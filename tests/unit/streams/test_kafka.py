"""The one Kafka module: every library gets the same connection, confluent producers place keys as
Faust does, and the decode loop hands undecodable messages to the dead letter."""

from __future__ import annotations

from pagestream.streams import kafka, topics
from pagestream.streams.backoff import Backoff
from pagestream.streams.codec import Codecs, register_all, registry_client
from pagestream.streams.kafka import KafkaConfig
from pagestream.streams.settings import Settings

SETTINGS = Settings(kafka_bootstrap="broker-a:9092,broker-b:9092", app_id="ps", kafka_session_timeout_s=20.0)


def test_every_library_connects_to_the_same_cluster_under_the_apps_name() -> None:
    config = KafkaConfig.of(SETTINGS)
    assert config.confluent("sink") == {"bootstrap.servers": "broker-a:9092,broker-b:9092", "client.id": "ps-sink"}
    assert config.aiokafka("retry") == {"bootstrap_servers": "broker-a:9092,broker-b:9092", "client_id": "ps-retry"}
    faust = config.faust()
    assert faust["broker"] == "kafka://broker-a:9092,broker-b:9092" and faust["broker_client_id"] == "ps-worker"
    assert (faust["broker_session_timeout"], faust["broker_heartbeat_interval"]) == (20.0, 5.0)
    assert faust["producer_max_request_size"] == SETTINGS.max_event_bytes + 100_000


class FakeMessage:
    def __init__(self, value: bytes | None, error: object = None) -> None:
        self._value, self._error = value, error

    def topic(self) -> str:
        return topics.DOCS_PROGRESS.name

    def value(self) -> bytes | None:
        return self._value

    def error(self) -> object:
        return self._error


def test_the_decode_loop_dead_letters_what_does_not_decode_and_skips_client_errors() -> None:
    client = registry_client(f"mock://{id(object())}")
    register_all(client, [topics.DOCS_PROGRESS])
    codecs = Codecs(client, [topics.DOCS_PROGRESS])
    record = {"doc_id": "d", "tenant": "t", "stage": "OCR", "status": "PAGE_DONE", "at": 1_700_000_000_000}
    good, bad = FakeMessage(codecs.encode(topics.DOCS_PROGRESS, record)), FakeMessage(b"junk")
    error = FakeMessage(None, error="broker down")
    dead: list[tuple[FakeMessage, str]] = []
    specs = {topics.DOCS_PROGRESS.name: topics.DOCS_PROGRESS}
    out = list(kafka.decoded(codecs, specs, [bad, good, error], lambda m, exc: dead.append((m, exc.code))))
    assert [(m, r["doc_id"]) for m, r in out] == [(good, "d")]
    assert dead == [(bad, "bad_message")]


def test_backoff_doubles_up_to_its_ceiling_and_starts_over_after_a_success() -> None:
    backoff = Backoff(first=1.0, ceiling=5.0)
    assert [backoff.next() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next() == 1.0
