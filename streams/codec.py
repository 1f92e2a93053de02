"""Avro codec in the Confluent wire format (magic byte 0, 4-byte schema id, Avro body).

Any Kafka tool that speaks the schema registry reads our topics. Schemas are registered ahead of
time (``register_all``, run by ``pagestream up``); a codec only looks its schema id up once when
it is built, so the event loop never waits on the registry for our own schema. Values written
with another registered version are resolved against ours, fetched once by id. ``to_json`` is a
decoded record as a JSON line, for the CLI and the bridge alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import struct
from collections.abc import Iterable
from functools import cache
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from pagestream.schemas import avro_dir
from pagestream.streams.errors import DecodeError, SchemaError
from pagestream.streams.records import Record
from pagestream.streams.topics import TopicSpec

MAGIC = 0
_HEADER = struct.Struct(">bI")


@cache
def schema_text(record: str) -> str:
    """The ``.avsc`` text of a record, as shipped with the package."""
    path = avro_dir() / f"{record}.avsc"
    if not path.is_file():
        raise SchemaError(f"no schema file {record}.avsc in schemas/avro")
    return path.read_text()


def schema_json(record: str) -> dict:
    return json.loads(schema_text(record))


def registry_client(url: str) -> SchemaRegistryClient:
    """A registry client for ``http(s)://`` or the in-memory ``mock://`` registry (unit tests)."""
    return SchemaRegistryClient.new_client({"url": url})


def register_all(client: SchemaRegistryClient, specs: Iterable[TopicSpec]) -> dict[str, int]:
    """Register each topic's value schema under its subject; returns subject → schema id."""
    ids: dict[str, int] = {}
    for spec in specs:
        ids[spec.subject] = client.register_schema(spec.subject, Schema(schema_text(spec.record), "AVRO"))
    return ids


class AvroCodec:
    """Encode and decode one topic's records; built once per process, reused for every message."""

    def __init__(self, spec: TopicSpec, client: SchemaRegistryClient) -> None:
        self.spec = spec
        self._client = client
        self._schema = parse_schema(schema_json(spec.record))
        try:
            registered = client.lookup_schema(spec.subject, Schema(schema_text(spec.record), "AVRO"))
        except Exception as exc:  # the client raises its own error types per transport
            raise SchemaError(
                f"schema {spec.record} is not registered under {spec.subject}: run 'pagestream up' "
                f"(or register the schemas) first ({exc})"
            ) from exc
        self.schema_id: int = registered.schema_id
        self._writers: dict[int, Any] = {self.schema_id: self._schema}

    def encode(self, record: Record | dict[str, Any]) -> bytes:
        if isinstance(record, Record):
            if type(record).__name__ != self.spec.record:
                raise SchemaError(f"a {type(record).__name__} is not a {self.spec.record} ({self.spec.name})")
            record = record.to_dict()
        out = io.BytesIO()
        out.write(_HEADER.pack(MAGIC, self.schema_id))
        try:
            schemaless_writer(out, self._schema, record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise SchemaError(f"record does not match {self.spec.record}: {exc}") from exc
        return out.getvalue()

    def decode(self, raw: bytes | None) -> dict[str, Any]:
        if not raw or len(raw) < _HEADER.size:
            raise DecodeError(f"{self.spec.name}: empty or truncated message", raw, code="bad_message")
        magic, schema_id = _HEADER.unpack_from(raw)
        if magic != MAGIC:
            raise DecodeError(
                f"{self.spec.name}: unknown magic byte {magic}; expected the Confluent wire format "
                "(magic byte 0 + 4-byte schema id + Avro)",
                raw,
                code="bad_magic_byte",
            )
        writer = self._writer_schema(schema_id, raw)
        try:
            return schemaless_reader(io.BytesIO(raw[_HEADER.size :]), writer, self._schema)
        except Exception as exc:  # fastavro raises many types on garbage input
            raise DecodeError(
                f"{self.spec.name}: Avro body does not decode with schema id {schema_id} ({exc})",
                raw,
                code="bad_avro",
            ) from exc

    def _writer_schema(self, schema_id: int, raw: bytes) -> Any:
        if schema_id not in self._writers:
            try:
                text = self._client.get_schema(schema_id).schema_str
            except Exception as exc:
                raise DecodeError(
                    f"{self.spec.name}: unknown schema id {schema_id} in the registry",
                    raw,
                    code="unknown_schema_id",
                ) from exc
            self._writers[schema_id] = parse_schema(json.loads(text))
        return self._writers[schema_id]


class Codecs:
    """The codecs of a set of topics, looked up by topic spec."""

    def __init__(self, client: SchemaRegistryClient, specs: Iterable[TopicSpec]) -> None:
        self._codecs = {spec.name: AvroCodec(spec, client) for spec in specs}

    def __getitem__(self, spec: TopicSpec) -> AvroCodec:
        return self._codecs[spec.name]

    def encode(self, spec: TopicSpec, record: Record | dict[str, Any]) -> bytes:
        return self._codecs[spec.name].encode(record)

    def decode(self, spec: TopicSpec, raw: bytes | None) -> dict[str, Any]:
        return self._codecs[spec.name].decode(raw)


def iso_utc(value: dt.datetime) -> str:
    """A time as ISO 8601 in UTC with a ``Z`` (a naive time is taken as UTC, as ClickHouse gives it)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def to_json(record: dict[str, Any]) -> str:
    """A decoded record as one JSON line; times as ISO 8601 UTC, bytes as base64."""

    def default(value: object) -> object:
        if isinstance(value, dt.datetime):
            return iso_utc(value)
        if isinstance(value, bytes):
            return base64.b64encode(value).decode()
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")

    return json.dumps(record, default=default, ensure_ascii=False)
