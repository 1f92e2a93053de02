"""The builders of streams/records.py against schemas/avro: same records, fields, order, types and
defaults, so a schema change without its builder (or the reverse) fails here."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pagestream.schemas import avro_dir
from pagestream.streams import records, topics
from pagestream.streams.codec import Codecs, register_all, registry_client

SCHEMAS = {path.stem: json.loads(path.read_text()) for path in sorted(avro_dir().glob("*.avsc"))}

_PRIMITIVES = {"string": "str", "int": "int", "long": "int", "float": "float", "double": "float",
               "boolean": "bool", "bytes": "bytes"}  # fmt: skip


def annotation(avro: object) -> str:
    """The Python annotation a builder field of Avro type ``avro`` must have."""
    if isinstance(avro, list):
        branches = [annotation(t) for t in avro if t != "null"]
        return " | ".join(branches + ["None"] * ("null" in avro))
    if isinstance(avro, str):
        return _PRIMITIVES[avro]
    assert isinstance(avro, dict)
    if avro.get("logicalType") == "timestamp-millis":
        return "Millis"
    kind = avro["type"]
    if kind == "enum":
        return "str"
    if kind == "array":
        return f"list[{annotation(avro['items'])}]"
    if kind == "map":
        return f"dict[str, {annotation(avro['values'])}]"
    if kind == "record":
        return "Nested"
    return annotation(kind)


def test_one_builder_per_schema() -> None:
    assert sorted(records.BUILDERS) == sorted(SCHEMAS)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_builder_fields_match_the_schema(name: str) -> None:
    built = dataclasses.fields(records.BUILDERS[name])
    schema = SCHEMAS[name]["fields"]
    assert [f.name for f in built] == [f["name"] for f in schema]
    for ours, theirs in zip(built, schema, strict=True):
        assert ours.type == annotation(theirs["type"]), ours.name
        if "default" not in theirs:
            assert ours.default is dataclasses.MISSING and ours.default_factory is dataclasses.MISSING, ours.name
        elif ours.default_factory is not dataclasses.MISSING:
            assert ours.default_factory() == theirs["default"], ours.name
        else:
            assert ours.default == theirs["default"], ours.name


def test_a_builder_encodes_as_its_record() -> None:
    client = registry_client(f"mock://{id(object())}")
    register_all(client, [topics.DOCS_LABELS])
    codecs = Codecs(client, [topics.DOCS_LABELS])
    label = records.DocumentLabel(doc_id="d", tenant="t", doc_type="invoice", source="cli", labelled_at=0)
    decoded = codecs.decode(topics.DOCS_LABELS, codecs.encode(topics.DOCS_LABELS, label))
    assert decoded["doc_type"] == "invoice" and decoded["schema_version"] == "1"
    with pytest.raises(TypeError):
        records.DocumentLabel(doc_id="d", tenant="t", doc_type="invoice", source="cli")  # labelled_at missing
