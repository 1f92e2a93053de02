"""Typed views of the result events, for Python consumers (the client, the bridge).

Each is built from a decoded Avro record; fields added to the schemas later (always optional)
are kept in ``extra`` so a newer producer never breaks an older reader.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any, Self


def _split(cls: type, record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    names = {f.name for f in fields(cls)} - {"extra"}
    return {k: v for k, v in record.items() if k in names}, {k: v for k, v in record.items() if k not in names}


@dataclass(frozen=True)
class CompletedPage:
    """One page of a result: its text (when inlined), word count, confidence and engine."""

    page_no: int
    status: str
    text: str | None
    word_count: int
    mean_confidence: float
    text_source: str
    engine: str
    result_uri: str | None = None
    error_message: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        known, extra = _split(cls, record)
        return cls(**known, extra=extra)


@dataclass(frozen=True)
class DocumentCompleted:
    """The final result of a document (topic docs.completed)."""

    doc_id: str
    tenant: str
    status: str  # OK, PARTIAL or FAILED
    page_count: int
    pages: tuple[CompletedPage, ...]
    completed_at: dt.datetime
    filename: str | None = None
    text_inline: bool = True
    result_uri: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    submitted_at: dt.datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        known, extra = _split(cls, record)
        known["pages"] = tuple(CompletedPage.from_record(p) for p in known.get("pages", ()))
        return cls(**known, extra=extra)

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    @property
    def text(self) -> str:
        """The document's text, pages separated by a form feed (empty when not inlined)."""
        return "\f".join(p.text or "" for p in self.pages)


@dataclass(frozen=True)
class Progress:
    """A stage started, finished a page, completed or failed (topic docs.progress)."""

    doc_id: str
    tenant: str
    stage: str
    status: str
    at: dt.datetime
    page_no: int | None = None
    page_count: int | None = None
    pages_done: int | None = None
    message: str | None = None
    duration_ms: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        known, extra = _split(cls, record)
        return cls(**known, extra=extra)
