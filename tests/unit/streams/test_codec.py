"""The Confluent wire format codec, against confluent-kafka's in-memory mock:// registry."""

from __future__ import annotations

import datetime as dt
import json
import struct

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from pagestream.streams import topics
from pagestream.streams.codec import AvroCodec, Codecs, register_all, registry_client, schema_json
from pagestream.streams.errors import DecodeError, SchemaError


@pytest.fixture
def client():
    client = registry_client(f"mock://{id(object())}")
    register_all(client, topics.ALL_TOPICS)
    return client


def progress(**extra: object) -> dict:
    return {
        "doc_id": "d1",
        "tenant": "t",
        "stage": "OCR",
        "status": "PAGE_DONE",
        "page_no": 2,
        "at": 1_700_000_000_000,
        **extra,
    }


def test_round_trip_in_confluent_wire_format(client) -> None:
    codec = AvroCodec(topics.DOCS_PROGRESS, client)
    raw = codec.encode(progress())
    assert raw[0] == 0 and struct.unpack(">I", raw[1:5])[0] == codec.schema_id
    decoded = codec.decode(raw)
    assert decoded["page_no"] == 2 and decoded["pages_done"] is None
    assert decoded["at"] == dt.datetime.fromtimestamp(1_700_000_000, dt.UTC)
    # Any Confluent client reads our bytes.
    other = AvroDeserializer(client)(raw, SerializationContext(topics.DOCS_PROGRESS.name, MessageField.VALUE))
    assert other["doc_id"] == "d1"


def test_unregistered_schema_is_a_clear_error() -> None:
    with pytest.raises(SchemaError, match=r"not registered under docs\.progress-value"):
        AvroCodec(topics.DOCS_PROGRESS, registry_client("mock://empty-registry"))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "bad_message"),
        (b"\x00\x00", "bad_message"),
        (b"\x07\x00\x00\x00\x01abc", "bad_magic_byte"),
        (b"\x00\x00\x00\x27\x10abc", "unknown_schema_id"),
    ],
)
def test_undecodable_messages_carry_their_raw_bytes(client, raw: bytes, code: str) -> None:
    with pytest.raises(DecodeError) as info:
        Codecs(client, [topics.DOCS_PROGRESS]).decode(topics.DOCS_PROGRESS, raw)
    assert info.value.code == code and info.value.raw == raw


def test_garbage_avro_body(client) -> None:
    codec = AvroCodec(topics.DOCS_COMPLETED, client)
    raw = struct.pack(">bI", 0, codec.schema_id) + b"\xff\xff\xff\xff\xff\xff"
    with pytest.raises(DecodeError) as info:
        codec.decode(raw)
    assert info.value.code == "bad_avro"


def test_record_not_matching_schema_is_refused(client) -> None:
    with pytest.raises(SchemaError, match="does not match DocumentProgress"):
        AvroCodec(topics.DOCS_PROGRESS, client).encode({"doc_id": "d1"})


def test_data_written_with_an_older_version_is_read_with_defaults(client) -> None:
    old = schema_json("DocumentProgress")
    old["fields"] = [f for f in old["fields"] if f["name"] not in {"pages_done", "message"}]
    old_id = client.register_schema("older-progress", Schema(json.dumps(old), "AVRO"))
    import io

    from fastavro import parse_schema, schemaless_writer

    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, old_id))
    schemaless_writer(out, parse_schema(old), progress())
    decoded = AvroCodec(topics.DOCS_PROGRESS, client).decode(out.getvalue())
    assert decoded["pages_done"] is None and decoded["message"] is None and decoded["page_no"] == 2


def test_fuzzed_messages_decode_or_fail_with_decode_error(client) -> None:
    """Random bytes, and valid messages with random damage, for PAGESTREAM_FUZZ_SECONDS: a
    record or a DecodeError, never another exception."""
    import time

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from pagestream.streams.settings import Settings

    codecs = Codecs(client, topics.ALL_TOPICS)
    valid = codecs.encode(topics.DOCS_PROGRESS, progress(message="fuzz", versions={"ocr": "x"}))
    budget = Settings().fuzz_seconds
    deadline = time.monotonic() + budget
    damaged = st.tuples(st.integers(0, len(valid) - 1), st.binary(min_size=1, max_size=8), st.integers(0, 8)).map(
        lambda cut: valid[: cut[0]] + cut[1] + valid[cut[0] + cut[2] :]
    )
    header = st.sampled_from([valid[:5], b"\x00" + struct.pack(">I", 999_999), b"\x01\x00\x00\x00\x01"])
    messages = st.one_of(st.binary(max_size=300), damaged, st.tuples(header, st.binary(max_size=300)).map(b"".join))

    @settings(max_examples=int(budget * 400) + 50, deadline=None, suppress_health_check=list(HealthCheck))
    @given(spec=st.sampled_from(topics.ALL_TOPICS), raw=messages)
    def decode(spec, raw: bytes) -> None:
        if time.monotonic() > deadline:
            return
        try:
            assert isinstance(codecs.decode(spec, raw), dict)
        except DecodeError as exc:
            assert exc.raw == raw and exc.code in {"bad_message", "bad_magic_byte", "bad_avro", "unknown_schema_id"}

    decode()
