"""Tables of the analytics database and the migrations that create them, in code.

Every table is a ReplacingMergeTree whose sorting key is the natural identity of a row (a
document, a page, a page's stage event, an error), so a redelivered or re-produced event
replaces its earlier copy instead of adding one. Merges happen in the background: queries read
``FINAL`` (or ``argMax``) to see exactly one row per key. Fields and issues are keyed by name and
rule: if a document is validated again with other results, rows of the older verdict remain
beside the new ones (filter on the document's latest ``completed_at``). Parts are fsynced on insert, so a
write the sink has confirmed (and committed in Kafka) survives a crash of the machine.

Applied migrations are rows of ``schema_migrations``; ``migrate`` applies the missing ones in
order. Add a migration at the end of ``MIGRATIONS``; never edit one that has shipped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

_DURABLE = "SETTINGS fsync_after_insert = 1, fsync_part_directory = 1"
_KAFKA = """
    kafka_topic LowCardinality(String) COMMENT 'Topic the row was read from',
    kafka_partition Int32 COMMENT 'Partition of that message',
    kafka_offset Int64 COMMENT 'Offset of that message',
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the sink wrote the row'"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "documents, pages, stage events, errors",
        (
            f"""CREATE TABLE IF NOT EXISTS {{db}}.documents (
    doc_id String,
    tenant LowCardinality(String),
    filename Nullable(String),
    status LowCardinality(String) COMMENT 'OK, PARTIAL or FAILED',
    doc_type Nullable(String) COMMENT 'Document type; NULL until classification reports one',
    page_count Int32,
    pages_ok Int32,
    word_count Int32,
    mean_confidence Float64 COMMENT 'Mean word confidence of the OK pages, 0..1',
    text_inline Bool,
    result_uri Nullable(String),
    error_code Nullable(String),
    error_message Nullable(String),
    versions Map(String, String) COMMENT 'Engines, models and schema that produced the result',
    submitted_at Nullable(DateTime64(3, 'UTC')),
    completed_at DateTime64(3, 'UTC'),{_KAFKA}
) ENGINE = ReplacingMergeTree(completed_at) ORDER BY (tenant, doc_id) {_DURABLE}""",
            f"""CREATE TABLE IF NOT EXISTS {{db}}.pages (
    doc_id String,
    tenant LowCardinality(String),
    page_no Int32,
    status LowCardinality(String) COMMENT 'OK or FAILED',
    word_count Int32,
    mean_confidence Float64,
    text_source LowCardinality(String) COMMENT 'OCR or TEXT_LAYER',
    engine LowCardinality(String) COMMENT 'OCR engine and version',
    text Nullable(String) COMMENT 'NULL when failed or not inlined in the event (read result_uri)',
    result_uri Nullable(String),
    error_message Nullable(String),
    completed_at DateTime64(3, 'UTC') COMMENT 'When its document was assembled',{_KAFKA}
) ENGINE = ReplacingMergeTree(completed_at) ORDER BY (tenant, doc_id, page_no) {_DURABLE}""",
            f"""CREATE TABLE IF NOT EXISTS {{db}}.stage_events (
    doc_id String,
    tenant LowCardinality(String),
    stage LowCardinality(String) COMMENT 'INGEST, OCR, LAYOUT, ASSEMBLE, ...',
    status LowCardinality(String) COMMENT 'STARTED, PAGE_DONE, COMPLETED or FAILED',
    page_no Int32 COMMENT '0 for events about the whole document',
    page_count Nullable(Int32),
    pages_done Nullable(Int32),
    duration_ms Nullable(Int64) COMMENT 'Time the stage spent on the item',
    message Nullable(String),
    versions Map(String, String) COMMENT 'Engine, model or renderer that did the work',
    at DateTime64(3, 'UTC'),{_KAFKA}
) ENGINE = ReplacingMergeTree(at) ORDER BY (tenant, doc_id, stage, status, page_no) {_DURABLE}""",
            f"""CREATE TABLE IF NOT EXISTS {{db}}.errors (
    doc_id String COMMENT 'Empty when the message could not be read',
    tenant LowCardinality(String),
    page_no Int32 COMMENT '0 for document-level errors',
    stage LowCardinality(String) COMMENT 'Stage that failed; SINK for messages the sink could not decode',
    error_code LowCardinality(String),
    error_class String,
    message String,
    input_ref Nullable(String),
    source_topic Nullable(String),
    source_partition Nullable(Int32),
    source_offset Nullable(Int64),
    attempts Int32,
    versions Map(String, String),
    at DateTime64(3, 'UTC'),{_KAFKA}
) ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (tenant, doc_id, stage, page_no, error_code, at, ifNull(source_partition, -1), ifNull(source_offset, -1))
{_DURABLE}""",
        ),
    ),
    Migration(
        2,
        "document type and validation verdict, fields, validation issues",
        (
            """ALTER TABLE {db}.documents
    ADD COLUMN IF NOT EXISTS doc_type_confidence Nullable(Float64) AFTER doc_type,
    ADD COLUMN IF NOT EXISTS validation_status LowCardinality(Nullable(String))
        COMMENT 'OK, NEEDS_REVIEW or FAILED; NULL when the document never reached validation' AFTER status""",
            f"""CREATE TABLE IF NOT EXISTS {{db}}.fields (
    doc_id String,
    tenant LowCardinality(String),
    doc_type Nullable(String),
    name String COMMENT 'Field name; list fields flattened as name[i].column',
    value String COMMENT 'As printed',
    normalized Nullable(String) COMMENT 'ISO date, decimal amount, currency code, compact IBAN',
    confidence Float64,
    page_no Int32 COMMENT '0 when unknown',
    bbox Array(Int32),
    completed_at DateTime64(3, 'UTC'),{_KAFKA}
) ENGINE = ReplacingMergeTree(completed_at) ORDER BY (tenant, doc_id, name) {_DURABLE}""",
            f"""CREATE TABLE IF NOT EXISTS {{db}}.validation_issues (
    doc_id String,
    tenant LowCardinality(String),
    doc_type Nullable(String),
    validation_status LowCardinality(String) COMMENT 'Verdict of the document the issue belongs to',
    rule LowCardinality(String),
    severity LowCardinality(String) COMMENT 'review or error',
    fields Array(String) COMMENT 'Fields the rule looked at',
    expected Nullable(String),
    found Nullable(String),
    message String,
    completed_at DateTime64(3, 'UTC'),{_KAFKA}
) ENGINE = ReplacingMergeTree(completed_at) ORDER BY (tenant, doc_id, rule, message) {_DURABLE}""",
        ),
    ),
    Migration(
        3,
        "labels and replayed model results",
        (
            f"""CREATE TABLE IF NOT EXISTS {{db}}.labels (
    doc_id String,
    tenant LowCardinality(String),
    doc_type LowCardinality(String) COMMENT 'The true document type',
    source String COMMENT 'Who or what labelled it',
    labelled_at DateTime64(3, 'UTC'),{_KAFKA}
) ENGINE = ReplacingMergeTree(labelled_at) ORDER BY (tenant, doc_id) {_DURABLE}""",
            f"""CREATE TABLE IF NOT EXISTS {{db}}.model_runs (
    doc_id String,
    tenant LowCardinality(String),
    run_id String COMMENT 'The replay run that produced the row (its latest)',
    model_name LowCardinality(String),
    model_alias LowCardinality(String) COMMENT 'Alias resolved by the run, e.g. challenger',
    model_version String,
    doc_type LowCardinality(String),
    doc_type_confidence Float64,
    doc_type_reason Nullable(String),
    page_types Array(String) COMMENT 'Type per page in page order, empty string for a page without text',
    page_confidences Array(Float64),
    baseline_doc_type Nullable(String) COMMENT 'Type of the stored pipeline result that was replayed',
    baseline_classifier_version Nullable(String),
    source_completed_at DateTime64(3, 'UTC'),
    replayed_at DateTime64(3, 'UTC'),{_KAFKA}
) ENGINE = ReplacingMergeTree(replayed_at) ORDER BY (tenant, doc_id, model_name, model_version) {_DURABLE}""",
        ),
    ),
)

TABLES = ("documents", "pages", "fields", "validation_issues", "stage_events", "errors", "labels", "model_runs")


def identifier(name: str) -> str:
    """A database name safe to write into SQL (it comes from settings, never from a request)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
        raise ValueError(f"not a ClickHouse identifier: {name!r} (letters, digits and '_')")
    return name


def applied_versions(client: Client, database: str) -> set[int]:
    rows = client.query(f"SELECT version FROM {database}.schema_migrations").result_rows
    return {row[0] for row in rows}


def migrate(client: Client, database: str) -> list[int]:
    """Create the database and apply the missing migrations in order; returns those applied."""
    database = identifier(database)
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(
        f"""CREATE TABLE IF NOT EXISTS {database}.schema_migrations (
    version UInt32, name String, applied_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree ORDER BY version {_DURABLE}"""
    )
    done = applied_versions(client, database)
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.statements:
            client.command(statement.format(db=database))
        client.insert(
            f"{database}.schema_migrations",
            [[migration.version, migration.name, dt.datetime.now(dt.UTC)]],
            column_names=["version", "name", "applied_at"],
        )
        applied.append(migration.version)
    return applied
