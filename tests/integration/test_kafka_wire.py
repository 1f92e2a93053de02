"""The real broker, registry and worker: wire format, registry rules, poison messages."""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from pagestream.connectors.client import Client
from pagestream.streams import topics
from pagestream.streams.codec import register_all, registry_client, schema_json
from tests.conftest import read_topic, text_image

pytestmark = pytest.mark.kafka


def test_schemas_are_registered_once_with_stable_ids(stack) -> None:
    client = registry_client(stack.registry_url)
    first = register_all(client, topics.ALL_TOPICS)
    again = register_all(registry_client(stack.registry_url), topics.ALL_TOPICS)
    # One id per distinct record: pages.layout and pages.classified share the PageLayout schema.
    assert first == again and len(set(first.values())) == len({spec.record for spec in topics.ALL_TOPICS})
    assert first["pages.layout-value"] == first["pages.classified-value"]
    fetched = json.loads(client.get_schema(first["docs.completed-value"]).schema_str)
    assert fetched["name"] == "DocumentCompleted"


def test_registry_refuses_a_backward_incompatible_schema(stack) -> None:
    client = registry_client(stack.registry_url)
    broken = schema_json("DocumentProgress")
    broken["fields"].append({"name": "required_new", "type": "int", "doc": "no default: incompatible"})
    with pytest.raises(SchemaRegistryError) as info:
        client.register_schema(topics.DOCS_PROGRESS.subject, Schema(json.dumps(broken), "AVRO"))
    assert info.value.http_status_code == 409


def test_poison_message_goes_to_the_dead_letter_topic_raw(stack) -> None:
    poison = b"\x07not avro at all " + uuid.uuid4().hex.encode()
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers, "partitioner": "murmur2_random"})
    producer.produce(topics.DOCS_SUBMITTED.name, key=b"poison", value=poison)
    assert producer.flush(30) == 0
    dlq = read_topic(stack, topics.PAGES_DLQ, lambda r: r["raw_value"] == poison)
    assert dlq and dlq[0]["error_code"] == "bad_magic_byte" and dlq[0]["source_topic"] == "docs.submitted"
    assert dlq[0]["source_offset"] is not None
    # The worker is still running: a document submitted after the poison completes.
    with Client(stack) as client:
        watch = client.watch()
        doc_id = client.submit(text_image(["after the poison"]), filename="after.png")
        done = [e for e in watch.until_completed({doc_id}, timeout=300) if e.kind == "completed"]
        watch.close()
    assert done[0].record["status"] == "OK" and "poison" in done[0].record["pages"][0]["text"]
