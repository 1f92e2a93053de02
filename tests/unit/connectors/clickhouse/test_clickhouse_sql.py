"""The SQL endpoint on a real embedded chDB: read-only checks, ClickHouse's messages as
problem+json, JSON values, row limits, sink status and download URLs (unknown documents, and
completed ones the sink has not written yet);
and the table printed by ``pagestream sql``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from pagestream.connectors.clickhouse.connections import reader_client, writer_client
from pagestream.connectors.clickhouse.http import ClickHouseService
from pagestream.connectors.clickhouse.schema import migrate
from pagestream.connectors.clickhouse.sql import SqlError, parse_select, run_query
from pagestream.streams.cli.sql_command import format_table
from pagestream.streams.settings import Settings
from tests.unit.connectors.test_results import MemoryStore


@pytest.fixture(scope="module")
def settings(chdb_state: Path) -> Iterator[Settings]:
    settings = Settings(state_dir=chdb_state, clickhouse_database=f"t_{uuid.uuid4().hex[:12]}", sql_max_rows=5)
    writer = writer_client(settings)
    migrate(writer, settings.clickhouse_database)
    writer.command(
        f"INSERT INTO {settings.clickhouse_database}.documents (doc_id, tenant, status, page_count, pages_ok, "
        "word_count, mean_confidence, text_inline, versions, completed_at, kafka_topic, kafka_partition, kafka_offset) "
        "VALUES ('d1', 'acme', 'OK', 2, 2, 40, 0.9, true, map('ocr', 'tesseract 5'), '2026-01-02 03:04:05.678', "
        "'docs.completed', 0, 1)"
    )
    writer.close()
    yield settings


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def http(settings: Settings, store: MemoryStore) -> Iterator[TestClient]:
    service = ClickHouseService(settings, run_sink=False)
    service._store = store
    with TestClient(Starlette(routes=service.routes, lifespan=service.lifespan)) as client:
        yield client


@pytest.mark.parametrize(
    "query",
    ["SELECT 1", "  with x AS (SELECT 1) SELECT * FROM x;", "-- note\nSELECT 2", "/* c */ SELECT 3 /* d */",
     "(SELECT 1) UNION ALL (SELECT 2)", "select 'a;b'"],
)  # fmt: skip
def test_one_select_is_accepted_as_clickhouse_formats_it(settings: Settings, query: str) -> None:
    reader = reader_client(settings)
    try:
        text = parse_select(reader, query, settings.clickhouse_database)
        assert "--" not in text and "/*" not in text and not text.endswith(";")
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("query", "says"),
    [("", "empty query"), (" ; ", "Empty query"), ("INSERT INTO documents VALUES (1)", "not Insert"),
     ("DROP TABLE documents", "not Drop"), ("/* SELECT */ ALTER TABLE x DELETE WHERE 1", "not Alter"),
     ("SELECT 1 INTO OUTFILE '/tmp/x'", "INTO OUTFILE"), ("SELECT '#' INTO/**/OUTFILE 'x'", "INTO OUTFILE"),
     ("SELECT 1 FORMAT JSON", "FORMAT"), ("SYSTEM SHUTDOWN", "not SYSTEM"), ("SET readonly = 0", "not Set"),
     ("SHOW TABLES", "not ShowTables"), ("EXPLAIN SELECT 1", "not Explain"), ("EXISTS documents", "not Exists")],
)  # fmt: skip
def test_anything_else_is_refused_with_what_is_accepted(settings: Settings, query: str, says: str) -> None:
    reader = reader_client(settings)
    try:
        with pytest.raises(SqlError) as caught:
            parse_select(reader, query, settings.clickhouse_database)
        assert says in caught.value.message, caught.value.message
    finally:
        reader.close()


def test_the_reader_cannot_write_or_read_files_even_past_the_check(settings: Settings) -> None:
    reader = reader_client(settings)
    try:
        for query in ("SELECT * FROM file('/etc/hostname', 'LineAsString')", "SELECT 1 SETTINGS readonly = 0"):
            with pytest.raises(SqlError, match=r"readonly|file"):
                run_query(reader, query, 10, settings.clickhouse_database)
        result = run_query(reader, "SELECT arrayJoin(range(100))", 5, settings.clickhouse_database)
        assert result.truncated and [r[0] for r in result.rows] == [0, 1, 2, 3, 4]
    finally:
        reader.close()


def test_post_sql_returns_columns_and_json_rows(http: TestClient) -> None:
    response = http.post(
        "/v1/sql", json={"query": "SELECT doc_id, completed_at, versions, mean_confidence FROM documents FINAL"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [c["name"] for c in body["columns"]] == ["doc_id", "completed_at", "versions", "mean_confidence"]
    assert body["columns"][1]["type"] == "DateTime64(3, 'UTC')"
    assert body["rows"] == [["d1", "2026-01-02T03:04:05.678000Z", {"ocr": "tesseract 5"}, pytest.approx(0.9)]]
    assert body["row_count"] == 1 and body["truncated"] is False


def test_an_empty_result_still_names_its_columns(http: TestClient) -> None:
    body = http.post("/v1/sql", json={"query": "-- none\nSELECT doc_id, page_count FROM documents WHERE 0"}).json()
    assert body["columns"] == [{"name": "doc_id", "type": "String"}, {"name": "page_count", "type": "Int32"}]
    assert body["rows"] == []


def test_sql_errors_are_problem_json_with_the_clickhouse_message(http: TestClient) -> None:
    cases = {
        "SELECT (1,": "Syntax error",
        "SELEC 1": "Syntax error",
        "SELECT nope FROM documents": "UNKNOWN_IDENTIFIER",
        "DROP TABLE documents": "is accepted, not Drop",
    }
    for query, expected in cases.items():
        response = http.post("/v1/sql", json={"query": query})
        assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 400 and expected in problem["detail"], problem
        assert "Traceback" not in response.text and "FORMAT Native" not in problem["detail"]
    for body in (b"not json", b'["SELECT 1"]', b'{"q": 1}'):
        response = http.post("/v1/sql", content=body)
        assert response.status_code == 400 and "query" in response.json()["detail"]


def test_sink_status_and_unknown_document_downloads(http: TestClient, store: MemoryStore) -> None:
    assert http.get("/v1/sink").json()["state"] == "stopped"  # this app runs no sink
    for doc_id in ("nope", "not..safe"):
        response = http.get(f"/v1/documents/{doc_id}/files")
        assert response.status_code == 404 and response.json()["title"] == "Unknown document"


def test_a_completed_document_downloads_before_the_sink_has_its_row(http: TestClient, store: MemoryStore) -> None:
    store.put("acme/d9/result.json", b"{}")  # validation wrote it before announcing the result
    store.put("acme/d9/document.md", b"# d9")
    answer = http.get("/v1/documents/d9/files").json()
    assert answer["tenant"] == "acme" and set(answer["files"]) == {"result.json", "document.md"}


def test_pagestream_sql_prints_an_aligned_table() -> None:
    result = {
        "columns": [{"name": "stage", "type": "String"}, {"name": "pages", "type": "UInt64"}],
        "rows": [["OCR", 12], ["LAYOUT", 3], [None, 100]],
        "truncated": False,
    }
    assert format_table(result).splitlines() == [
        "stage   pages",
        "------  -----",
        "OCR        12",
        "LAYOUT      3",
        "NULL      100",
        "3 rows",
    ]
