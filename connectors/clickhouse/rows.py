"""Events in, table rows out: the pure core of the ClickHouse sink.

One Kafka message becomes rows of one or more tables: a ``DocumentCompleted`` is a row of
``documents`` plus one row per page, per extracted field and per validation issue; a
``DocumentProgress`` is a row of ``stage_events``; an ``ErrorEvent`` (or a message the sink
could not decode) is a row of ``errors``; a ``DocumentLabel`` a row of ``labels`` and a
``DocumentReplayed`` a row of ``model_runs``. Every row keeps
the Kafka coordinates it came from. A row names its columns (the sink inserts exactly those);
the tables declare them, in ``schema``'s migrations, and a unit test holds the two together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pagestream.streams import topics
from pagestream.streams.errors import DecodeError

Row = dict[str, Any]  # column name -> value; the tables' columns are declared in ``schema`` only


@dataclass(frozen=True)
class Origin:
    """Where a message came from in Kafka (``timestamp`` in ms, the broker's or producer's)."""

    topic: str
    partition: int
    offset: int
    timestamp: int

    def columns(self) -> Row:
        return {"kafka_topic": self.topic, "kafka_partition": self.partition, "kafka_offset": self.offset}


def _utc(value: dt.datetime | int | None) -> dt.datetime | None:
    """Avro timestamp-millis decode to aware datetimes; plain millis are accepted too."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromtimestamp(value / 1000, dt.UTC)


def _row(record: dict[str, Any], origin: Origin, **columns: Any) -> Row:
    """A row of one document's record: its key columns, ``columns``, and where it came from."""
    return {"doc_id": record["doc_id"], "tenant": record["tenant"], **columns, **origin.columns()}


def document_rows(record: dict[str, Any], origin: Origin) -> list[tuple[str, Row]]:
    """A DocumentCompleted: a ``documents`` row, and ``pages``, ``fields``, ``validation_issues`` rows."""
    pages = record["pages"]
    ok = [p for p in pages if p["status"] == "OK"]
    words = sum(p["word_count"] for p in ok)
    confidence = sum(p["mean_confidence"] * p["word_count"] for p in ok) / words if words else 0.0
    completed_at = _utc(record["completed_at"])
    document = _row(
        record,
        origin,
        filename=record.get("filename"),
        status=record["status"],
        validation_status=record.get("validation_status"),
        doc_type=record.get("doc_type"),
        doc_type_confidence=record.get("doc_type_confidence"),
        page_count=record["page_count"],
        pages_ok=len(ok),
        word_count=words,
        mean_confidence=confidence,
        text_inline=record.get("text_inline", True),
        result_uri=record.get("result_uri"),
        error_code=record.get("error_code"),
        error_message=record.get("error_message"),
        versions=dict(record.get("versions") or {}),
        submitted_at=_utc(record.get("submitted_at")),
        completed_at=completed_at,
    )
    rows: list[tuple[str, Row]] = [("documents", document)]
    rows += [
        (
            "pages",
            _row(
                record,
                origin,
                page_no=page["page_no"],
                status=page["status"],
                word_count=page["word_count"],
                mean_confidence=page["mean_confidence"],
                text_source=page["text_source"],
                engine=page["engine"],
                text=page.get("text"),
                result_uri=page.get("result_uri"),
                error_message=page.get("error_message"),
                completed_at=completed_at,
            ),
        )
        for page in pages
    ]
    rows += [
        (
            "fields",
            _row(
                record,
                origin,
                doc_type=record.get("doc_type"),
                name=field["name"],
                value=field["value"],
                normalized=field.get("normalized"),
                confidence=field["confidence"],
                page_no=field.get("page_no") or 0,
                bbox=list(field.get("bbox") or []),
                completed_at=completed_at,
            ),
        )
        for field in record.get("fields") or []
    ]
    rows += [
        (
            "validation_issues",
            _row(
                record,
                origin,
                doc_type=record.get("doc_type"),
                validation_status=record.get("validation_status") or "",
                rule=issue["rule"],
                severity=issue["severity"],
                fields=list(issue.get("fields") or []),
                expected=issue.get("expected"),
                found=issue.get("found"),
                message=issue["message"],
                completed_at=completed_at,
            ),
        )
        for issue in record.get("issues") or []
    ]
    return rows


def stage_event_row(record: dict[str, Any], origin: Origin) -> Row:
    """A DocumentProgress: one ``stage_events`` row (page 0 for document-level events)."""
    return _row(
        record,
        origin,
        stage=record["stage"],
        status=record["status"],
        page_no=record.get("page_no") or 0,
        page_count=record.get("page_count"),
        pages_done=record.get("pages_done"),
        duration_ms=record.get("duration_ms"),
        message=record.get("message"),
        versions=dict(record.get("versions") or {}),
        at=_utc(record["at"]),
    )


def error_row(record: dict[str, Any], origin: Origin) -> Row:
    """An ErrorEvent from the dead-letter topic: one ``errors`` row."""
    return {
        "doc_id": record.get("doc_id") or "",
        "tenant": record.get("tenant") or "",
        "page_no": record.get("page_no") or 0,
        "stage": record["stage"],
        "error_code": record["error_code"],
        "error_class": record["error_class"],
        "message": record["message"],
        "input_ref": record.get("input_ref"),
        "source_topic": record.get("source_topic"),
        "source_partition": record.get("source_partition"),
        "source_offset": record.get("source_offset"),
        "attempts": record.get("attempts", 1),
        "versions": dict(record.get("versions") or {}),
        "at": _utc(record["at"]),
        **origin.columns(),
    }


def label_row(record: dict[str, Any], origin: Origin) -> Row:
    """A DocumentLabel: one ``labels`` row (the latest label of a document wins)."""
    return _row(
        record, origin, doc_type=record["doc_type"], source=record["source"], labelled_at=_utc(record["labelled_at"])
    )


def replay_row(record: dict[str, Any], origin: Origin) -> Row:
    """A DocumentReplayed: one ``model_runs`` row, beside (never replacing) the pipeline's result."""
    pages = record["pages"]
    return _row(
        record,
        origin,
        **{k: record[k] for k in ("run_id", "model_name", "model_alias", "model_version")},
        doc_type=record["doc_type"],
        doc_type_confidence=record["doc_type_confidence"],
        doc_type_reason=record.get("doc_type_reason"),
        page_types=[p.get("page_type") or "" for p in pages],
        page_confidences=[p.get("page_type_confidence") or 0.0 for p in pages],
        baseline_doc_type=record.get("baseline_doc_type"),
        baseline_classifier_version=record.get("baseline_classifier_version"),
        source_completed_at=_utc(record["source_completed_at"]),
        replayed_at=_utc(record["replayed_at"]),
    )


def undecodable_row(error: DecodeError, origin: Origin) -> Row:
    """A message on a sink topic that did not decode: an ``errors`` row, so it is seen in SQL.

    Its time is the message's Kafka timestamp, so a redelivery of the same message replaces it.
    """
    return {
        "doc_id": "",
        "tenant": "",
        "page_no": 0,
        "stage": "SINK",
        "error_code": error.code,
        "error_class": type(error).__name__,
        "message": str(error),
        "input_ref": None,
        "source_topic": origin.topic,
        "source_partition": origin.partition,
        "source_offset": origin.offset,
        "attempts": 1,
        "versions": {},
        "at": _utc(origin.timestamp),
        **origin.columns(),
    }


def rows_for(value: dict[str, Any] | DecodeError, origin: Origin) -> list[tuple[str, Row]]:
    """The rows of one message of a sink topic (``value`` decoded, or the error decoding it)."""
    if isinstance(value, DecodeError):
        return [("errors", undecodable_row(value, origin))]
    if origin.topic == topics.DOCS_COMPLETED.name:
        return document_rows(value, origin)
    if origin.topic == topics.DOCS_PROGRESS.name:
        return [("stage_events", stage_event_row(value, origin))]
    if origin.topic == topics.PAGES_DLQ.name:
        return [("errors", error_row(value, origin))]
    if origin.topic == topics.DOCS_LABELS.name:
        return [("labels", label_row(value, origin))]
    if origin.topic == topics.DOCS_REPLAYED.name:
        return [("model_runs", replay_row(value, origin))]
    raise ValueError(f"the ClickHouse sink does not read topic {origin.topic}")


SINK_TOPICS = (topics.DOCS_PROGRESS, topics.DOCS_COMPLETED, topics.PAGES_DLQ, topics.DOCS_LABELS, topics.DOCS_REPLAYED)
