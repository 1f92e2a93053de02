"""One typed builder per Avro record of ``schemas/avro``: the only way the project writes an event.

Each class has the fields of its ``.avsc``, in order, with its defaults; building one with a field
missing or misspelt fails at once (a TypeError), not at encoding time in another process. The
codec takes a builder directly (``Codecs.encode``) and ``to_dict`` gives the plain record. Nested
records (pages, lines, regions, fields, issues) stay plain dicts, built by the stage that owns
them. ``tests/unit/streams/test_records.py`` fails when a builder drifts from its schema.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any

Millis = int | dt.datetime  # timestamp-millis: epoch ms when built, a datetime when decoded
Nested = dict[str, Any]  # a nested Avro record, as a dict


@dataclass(frozen=True, kw_only=True)
class Record:
    """Base of the builders: the class name is the Avro record's name."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, kw_only=True)
class AuditEvent(Record):
    event_id: str
    at: Millis
    tenant: str | None = None
    key_id: str | None = None
    action: str
    doc_id: str | None = None
    method: str
    path: str
    status: int
    client: str | None = None


@dataclass(frozen=True, kw_only=True)
class DocumentAssembled(Record):
    doc_id: str
    tenant: str
    filename: str | None = None
    status: str
    page_count: int
    pages: list[Nested]
    text_inline: bool = True
    result_uri: str | None = None
    doc_type: str | None = None
    doc_type_confidence: float | None = None
    doc_type_reason: str | None = None
    classifier_version: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    submitted_at: Millis | None = None
    assembled_at: Millis


@dataclass(frozen=True, kw_only=True)
class DocumentChunk(Record):
    doc_id: str
    tenant: str
    filename: str | None = None
    chunk_no: int
    chunk_count: int
    text: str
    context: str = ""
    headings: list[str] = field(default_factory=list)
    pages: list[int]
    boxes: list[Nested]
    token_count: int
    tokenizer: str
    doc_type: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class DocumentCompleted(Record):
    doc_id: str
    tenant: str
    filename: str | None = None
    status: str
    page_count: int
    pages: list[Nested]
    text_inline: bool = True
    result_uri: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    submitted_at: Millis | None = None
    doc_type: str | None = None
    doc_type_confidence: float | None = None
    doc_type_reason: str | None = None
    classifier_version: str | None = None
    fields: list[Nested] | None = None
    validation_status: str | None = None
    issues: list[Nested] | None = None
    completed_at: Millis


@dataclass(frozen=True, kw_only=True)
class DocumentLabel(Record):
    doc_id: str
    tenant: str
    doc_type: str
    source: str
    labelled_at: Millis
    schema_version: str = "1"


@dataclass(frozen=True, kw_only=True)
class DocumentProgress(Record):
    doc_id: str
    tenant: str
    stage: str
    status: str
    page_no: int | None = None
    page_count: int | None = None
    pages_done: int | None = None
    message: str | None = None
    duration_ms: int | None = None
    at: Millis
    versions: dict[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class DocumentReplayed(Record):
    doc_id: str
    tenant: str
    run_id: str
    model_name: str
    model_alias: str
    model_version: str
    doc_type: str
    doc_type_confidence: float
    doc_type_reason: str | None = None
    pages: list[Nested]
    baseline_doc_type: str | None = None
    baseline_classifier_version: str | None = None
    source_completed_at: Millis
    replayed_at: Millis
    schema_version: str = "1"


@dataclass(frozen=True, kw_only=True)
class DocumentSubmitted(Record):
    doc_id: str
    tenant: str
    filename: str
    source_uri: str
    sha256: str
    size_bytes: int
    content_type: str | None = None
    submitted_at: Millis
    render_dpi: int | None = None
    ocr_engine: str | None = None
    force_ocr: bool | None = None
    schema_version: str = "1"


@dataclass(frozen=True, kw_only=True)
class ErrorEvent(Record):
    doc_id: str | None = None
    tenant: str | None = None
    page_no: int | None = None
    stage: str
    error_code: str
    error_class: str
    message: str
    input_ref: str | None = None
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    raw_value: bytes | None = None
    attempts: int = 1
    versions: dict[str, str] = field(default_factory=dict)
    source_key: bytes | None = None
    at: Millis
    retryable: bool | None = None
    quarantined: bool | None = None


@dataclass(frozen=True, kw_only=True)
class PageLayout(Record):
    doc_id: str
    tenant: str
    page_no: int
    page_count: int
    status: str
    text_source: str
    engine: str
    engine_version: str
    layout_model: str
    regions: list[Nested]
    text: str
    word_count: int
    mean_confidence: float
    result_uri: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    produced_at: Millis
    page_type: str | None = None
    page_type_confidence: float | None = None
    doc_type: str | None = None
    doc_type_confidence: float | None = None
    doc_type_pages: int | None = None
    doc_type_reason: str | None = None
    classifier_version: str | None = None


@dataclass(frozen=True, kw_only=True)
class PageOcr(Record):
    doc_id: str
    tenant: str
    page_no: int
    page_count: int
    image_uri: str
    width: int
    height: int
    status: str
    text_source: str
    engine: str
    engine_version: str
    model: str
    lines: list[Nested]
    mean_confidence: float
    duration_ms: int
    error_code: str | None = None
    error_message: str | None = None
    produced_at: Millis
    lines_uri: str | None = None
    orientation: int | None = None
    skew: float | None = None


@dataclass(frozen=True, kw_only=True)
class PageRendered(Record):
    doc_id: str
    tenant: str
    page_no: int
    page_count: int
    image_uri: str
    image_sha256: str
    image_bytes: int
    width: int
    height: int
    dpi: int
    source_kind: str
    renderer: str
    ocr_engine: str | None = None
    rendered_at: Millis
    duration_ms: int


@dataclass(frozen=True, kw_only=True)
class RetryEvent(Record):
    doc_id: str
    tenant: str | None = None
    page_no: int | None = None
    stage: str
    target_topic: str
    key: bytes | None = None
    value: bytes
    attempt: int
    max_attempts: int
    delay_ms: int
    not_before: Millis
    error_code: str
    error_class: str
    message: str
    input_ref: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    at: Millis


BUILDERS: dict[str, type[Record]] = {cls.__name__: cls for cls in Record.__subclasses__()}
