"""The Avro resolution check accepts what Avro can read and refuses what it cannot."""

from __future__ import annotations

import pytest

from pagestream.streams.compat import compatibility_problems


def record(*fields: dict) -> dict:
    return {"type": "record", "name": "R", "namespace": "t", "fields": list(fields)}


BASE = record({"name": "a", "type": "string"}, {"name": "n", "type": "int"})


@pytest.mark.parametrize(
    ("reader", "why"),
    [
        (
            record(
                {"name": "a", "type": "string"},
                {"name": "n", "type": "int"},
                {"name": "b", "type": ["null", "string"], "default": None},
            ),
            "new optional field",
        ),
        (record({"name": "a", "type": "string"}), "removed field"),
        (record({"name": "a", "type": "string"}, {"name": "n", "type": "long"}), "int promoted to long"),
        (
            record({"name": "a", "type": ["null", "string"], "default": None}, {"name": "n", "type": "double"}),
            "string into a union, int into double",
        ),
    ],
)
def test_compatible_changes(reader: dict, why: str) -> None:
    assert compatibility_problems(reader, BASE) == [], why


@pytest.mark.parametrize(
    ("reader", "fragment"),
    [
        (
            record({"name": "a", "type": "string"}, {"name": "n", "type": "int"}, {"name": "c", "type": "int"}),
            "new field without a default",
        ),
        (record({"name": "a", "type": "int"}, {"name": "n", "type": "int"}), "cannot read writer type 'string'"),
        (record({"name": "a", "type": "string"}, {"name": "n", "type": "string"}), "cannot read writer type 'int'"),
    ],
)
def test_incompatible_changes(reader: dict, fragment: str) -> None:
    problems = compatibility_problems(reader, BASE)
    assert problems and fragment in problems[0]


def test_enum_symbols_may_be_added_not_removed() -> None:
    def with_enum(*symbols: str) -> dict:
        return record({"name": "s", "type": {"type": "enum", "name": "S", "symbols": list(symbols)}})

    assert compatibility_problems(with_enum("A", "B", "C"), with_enum("A", "B")) == []
    assert "enum symbols removed: B" in compatibility_problems(with_enum("A"), with_enum("A", "B"))[0]


def test_nested_arrays_are_checked() -> None:
    writer = record({"name": "xs", "type": {"type": "array", "items": "int"}})
    reader = record({"name": "xs", "type": {"type": "array", "items": "string"}})
    assert compatibility_problems(reader, writer)[0].startswith("xs[]")
