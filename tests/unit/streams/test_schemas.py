"""Every event schema parses, documents every field, and stays BACKWARD compatible."""

from __future__ import annotations

import json
import subprocess

import pytest
from fastavro import parse_schema

from pagestream.schemas import avro_dir
from pagestream.streams import topics
from pagestream.streams.compat import compatibility_problems
from tests.conftest import REPO

SCHEMA_FILES = sorted(p.name for p in avro_dir().iterdir() if p.name.endswith(".avsc"))
REQUIRED = {
    "DocumentSubmitted",
    "PageRendered",
    "PageOcr",
    "PageLayout",
    "DocumentProgress",
    "DocumentAssembled",
    "DocumentCompleted",
    "ErrorEvent",
    "RetryEvent",
    "AuditEvent",
    "DocumentLabel",
    "DocumentReplayed",
    "DocumentChunk",
}


def _fields(schema: object) -> list[dict]:
    """Every field of every record nested in a schema."""
    found: list[dict] = []
    if isinstance(schema, list):
        for branch in schema:
            found += _fields(branch)
    elif isinstance(schema, dict):
        if schema.get("type") == "record":
            for field in schema["fields"]:
                found.append(field)
                found += _fields(field["type"])
        elif schema.get("type") == "array":
            found += _fields(schema["items"])
        elif schema.get("type") == "map":
            found += _fields(schema["values"])
    return found


def test_every_required_record_has_one_file() -> None:
    assert {name.removesuffix(".avsc") for name in SCHEMA_FILES} == REQUIRED
    assert {spec.record for spec in topics.ALL_TOPICS} == REQUIRED


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_parses_and_documents_every_field(name: str) -> None:
    schema = json.loads((avro_dir() / name).read_text())
    parse_schema(schema)
    assert schema["namespace"] == "pagestream.v1"
    assert schema["name"] == name.removesuffix(".avsc")
    assert schema.get("doc")
    undocumented = [f["name"] for f in _fields(schema) if not f.get("doc")]
    assert not undocumented, f"fields without doc in {name}: {undocumented}"
    for field in _fields(schema):
        if isinstance(field["type"], list) and "null" in field["type"]:
            assert field["type"][0] == "null" and field.get("default", "missing") is None, field["name"]


def _previous_committed(path: str, current: str) -> str | None:
    """The newest committed version of ``path`` that differs from the working copy."""
    try:
        log = subprocess.run(
            ["git", "log", "--format=%H", "--", path], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    for commit in log:
        text = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=REPO, capture_output=True, text=True).stdout
        if text and json.loads(text) != json.loads(current):
            return text
    return None


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_is_backward_compatible_with_previous_committed_version(name: str) -> None:
    current = (avro_dir() / name).read_text()
    previous = _previous_committed(f"schemas/avro/{name}", current)
    if previous is None:
        return  # first version of this schema: nothing to be compatible with yet
    problems = compatibility_problems(json.loads(current), json.loads(previous))
    assert not problems, f"{name} breaks BACKWARD compatibility: {problems}"
