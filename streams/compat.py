"""Avro schema-resolution check: can a reader schema read data written with a writer schema?

BACKWARD compatibility (the registry's default and the project's rule) means the new schema,
as reader, reads everything written with the previous one. Used by the schema registry service
and by the test that guards ``schemas/avro``. Follows the resolution rules of the Avro
specification: records match fields by name and need defaults for new fields, enums keep the
writer's symbols, unions match per branch, numbers promote int→long→float→double.
"""

from __future__ import annotations

from typing import Any

from fastavro.schema import expand_schema, parse_schema

Schema = Any  # a parsed Avro schema: str, list (union) or dict

_PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}


def _kind(schema: Schema) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, str):
        return schema
    return schema["type"] if isinstance(schema["type"], str) else _kind(schema["type"])


def _names(schema: dict) -> set[str]:
    full = schema.get("name", "")
    return {full, full.rsplit(".", 1)[-1], *schema.get("aliases", [])}


def _check(reader: Schema, writer: Schema, path: str, problems: list[str]) -> None:
    rk, wk = _kind(reader), _kind(writer)
    if wk == "union":
        for branch in writer:
            _check(reader, branch, path, problems)
        return
    if rk == "union":
        if not any(is_compatible(branch, writer) for branch in reader):
            problems.append(f"{path or '<root>'}: writer type {wk!r} matches no branch of the reader union")
        return
    if rk != wk:
        if rk not in _PROMOTIONS.get(wk, set()):
            problems.append(f"{path or '<root>'}: reader type {rk!r} cannot read writer type {wk!r}")
        return
    if rk == "record":
        if not _names(reader) & _names(writer):
            problems.append(f"{path or '<root>'}: record {reader['name']} does not match {writer['name']}")
            return
        written = {f["name"]: f for f in writer["fields"]}
        for field in reader["fields"]:
            match = next((written[n] for n in (field["name"], *field.get("aliases", [])) if n in written), None)
            fpath = f"{path}.{field['name']}" if path else field["name"]
            if match is None:
                if "default" not in field:
                    problems.append(f"{fpath}: new field without a default")
                continue
            _check(field["type"], match["type"], fpath, problems)
    elif rk == "enum":
        missing = sorted(set(writer["symbols"]) - set(reader["symbols"]))
        if missing and "default" not in reader:
            problems.append(f"{path or '<root>'}: enum symbols removed: {', '.join(missing)}")
    elif rk == "array":
        _check(reader["items"], writer["items"], f"{path}[]", problems)
    elif rk == "map":
        _check(reader["values"], writer["values"], f"{path}{{}}", problems)
    elif rk == "fixed" and reader["size"] != writer["size"]:
        problems.append(f"{path or '<root>'}: fixed size {writer['size']} became {reader['size']}")


def compatibility_problems(reader: dict, writer: dict) -> list[str]:
    """Why ``reader`` cannot read data written with ``writer`` (empty list: it can)."""
    problems: list[str] = []
    _check(expand_schema(parse_schema(reader)), expand_schema(parse_schema(writer)), "", problems)
    return problems


def is_compatible(reader: Schema, writer: Schema) -> bool:
    """True when ``reader`` (already parsed and expanded) reads ``writer`` data."""
    problems: list[str] = []
    _check(reader, writer, "", problems)
    return not problems
