"""Attacks on the SQL endpoint, on a real embedded chDB (the one the bridge runs in its process):
several statements in one text, nested comments, statements that are not SELECTs, a memory
bomb, and one tenant's slow queries against another's; and a property test that the guard
accepts exactly the texts that are one permitted SELECT, whatever comments, semicolons,
unicode and whitespace surround it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pagestream.connectors.clickhouse.connections import reader_client, writer_client
from pagestream.connectors.clickhouse.fairqueue import FairQueue, QueueFull
from pagestream.connectors.clickhouse.http import ClickHouseService
from pagestream.connectors.clickhouse.schema import migrate
from pagestream.connectors.clickhouse.sql import SqlError, parse_select
from pagestream.streams.settings import Settings
from tests.conftest import process_rss_bytes


@pytest.fixture(scope="module")
def service(chdb_state: Path) -> Iterator[ClickHouseService]:
    settings = Settings(state_dir=chdb_state, clickhouse_database=f"t_{uuid.uuid4().hex[:12]}")
    writer = writer_client(settings)
    migrate(writer, settings.clickhouse_database)
    for doc_id, tenant in (("a1", "alpha"), ("b1", "beta")):
        writer.command(
            f"INSERT INTO {settings.clickhouse_database}.pages (doc_id, tenant, page_no, status, word_count, "
            "mean_confidence, text, completed_at, kafka_topic, kafka_partition, kafka_offset) "
            f"VALUES ('{doc_id}', '{tenant}', 1, 'OK', 1, 0.9, 'secret of {tenant}', now64(3), 'x', 0, 1)"
        )
    writer.close()
    service = ClickHouseService(settings, run_sink=False)
    yield service
    service.close()


def refused(service: ClickHouseService, query: str, tenant: str | None) -> str:
    with pytest.raises(SqlError) as caught:
        service.query(query, tenant)
    return caught.value.message


@pytest.mark.parametrize("tenant", [None, "alpha"])  # auth off (the local caller) and a tenant's key
@pytest.mark.parametrize(
    "query",
    [
        "SELECT 'x';SELECT file('/etc/hostname')",
        "SELECT 'x';SELECT concat(tenant, ':', doc_id, ':', text) FROM merge('{db}', '^pages$')",
        "SELECT 'x';SELECT file('/proc/self/environ')",
        "SELECT 'x'; SELECT * FROM system.processes",
        "SELECT 1;\n-- trailing comment\nSHOW DATABASES",
        "SELECT 'a;b'; KILL QUERY WHERE 1",
    ],
)
def test_several_statements_are_refused_by_clickhouses_parser(
    service: ClickHouseService, query: str, tenant: str | None
) -> None:
    message = refused(service, query.format(db=service.settings.clickhouse_database), tenant)
    assert "Multi-statements are not allowed" in message


@pytest.mark.parametrize("tenant", [None, "alpha"])
@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("/* /* */ SELECT */ SHOW PROCESSLIST", "ShowProcesslist"),
        ("/* /* */ SELECT */ SHOW CREATE TABLE pages", "ShowCreateTableQuery"),
        ("/* /* */ SELECT */ SHOW DATABASES", "ShowTables"),
        ("/* /* */ SELECT */ EXISTS pages", "Exists"),
        ("/* /* */ SELECT */ KILL QUERY WHERE 1", "KillQuery"),
        ("/*/**/SELECT*/ DESCRIBE pages", "Describe"),
    ],
)
def test_nested_comments_do_not_hide_what_a_statement_is(
    service: ClickHouseService, query: str, kind: str, tenant: str | None
) -> None:
    message = refused(service, query, tenant)
    assert "one SELECT statement" in message and kind.lower().removesuffix("query") in message.lower(), message


@pytest.mark.parametrize("tenant", [None, "alpha"])
def test_reading_around_the_tenant_filters_or_the_servers_files_is_refused(
    service: ClickHouseService, tenant: str | None
) -> None:
    db = service.settings.clickhouse_database
    for query, says in {
        f"SELECT text FROM merge('{db}', '^pages$')": "table function merge()",
        "SELECT file('/etc/hostname')": "file()",
        "SELECT * FROM system.tables": "outside the analytics database",
        "SELECT 1 WHERE 1 IN system.one": "outside the analytics database",
        "SELECT (SELECT count() FROM system.processes)": "outside the analytics database",
        "SELECT * FROM url('http://127.0.0.1:1/x', 'CSV')": "table function url()",
        "SELECT 1 INTO OUTFILE '/tmp/x'": "INTO OUTFILE",
    }.items():
        assert says in refused(service, query, tenant), query
    rows = service.query("SELECT doc_id, text FROM pages ORDER BY doc_id", tenant).rows
    assert rows == ([["a1", "secret of alpha"]] if tenant else [["a1", "secret of alpha"], ["b1", "secret of beta"]])


@pytest.mark.parametrize("tenant", [None, "alpha"])
def test_a_memory_bomb_fails_on_the_limit_and_the_process_stays_small(
    service: ClickHouseService, tenant: str | None
) -> None:
    before = process_rss_bytes()
    message = refused(service, "SELECT length(groupArray(x)) FROM (SELECT arrayJoin(range(150000000)) AS x)", tenant)
    assert "MEMORY_LIMIT_EXCEEDED" in message
    assert process_rss_bytes() - before < 300 * 1024 * 1024
    huge_scan = "SELECT count() FROM (SELECT arrayJoin(range(1000)) AS a, arrayJoin(range(1000000)) AS b)"
    assert "exceeded" in refused(service, huge_scan, tenant).lower()


def test_the_limits_cannot_be_changed_by_the_query(service: ClickHouseService) -> None:
    for query in (
        "SELECT 1 SETTINGS max_memory_usage = 0",
        "SELECT getSetting('max_memory_usage') SETTINGS readonly = 0",
    ):
        assert "readonly" in refused(service, query, "alpha").lower() or "SETTINGS" in refused(service, query, "alpha")
    limits = service.query("SELECT getSetting('max_memory_usage'), getSetting('max_execution_time')", "alpha").rows
    assert limits == [[service.settings.sql_max_memory_bytes, service.settings.sql_timeout_seconds]]


def test_one_tenants_slow_queries_do_not_hold_up_another_tenant(service: ClickHouseService) -> None:
    async def scenario() -> tuple[float, int]:
        slow = [
            asyncio.ensure_future(service.queue.run("alpha", lambda: service.query("SELECT sleep(2)", "alpha")))
            for _ in range(1 + service.settings.sql_max_waiting)
        ]
        await asyncio.sleep(0.2)  # alpha's first query is running, the rest wait in alpha's lane
        with pytest.raises(QueueFull):
            await service.queue.run("alpha", lambda: service.query("SELECT 1", "alpha"))
        started = time.monotonic()
        rows = (await service.queue.run("beta", lambda: service.query("SELECT count() FROM pages", "beta"))).rows
        waited = time.monotonic() - started
        for task in slow:
            task.cancel()
        await asyncio.gather(*slow, return_exceptions=True)
        return waited, rows[0][0]

    waited, count = asyncio.run(scenario())
    assert count == 1 and waited < 0.5, waited


def test_the_fair_queue_takes_lanes_in_turn() -> None:
    order: list[str] = []

    async def scenario() -> None:
        queue = FairQueue(workers=1, max_waiting=10)
        calls = [queue.run(lane, lambda lane=lane: order.append(lane) or time.sleep(0.01)) for lane in "aaaab"]
        await asyncio.gather(*calls)
        queue.close()

    asyncio.run(scenario())
    assert order == ["a", "a", "b", "a", "a"]  # b, queued after all of a's, goes before a's third


# --- the guard's decision against what the text is ---------------------------------------------

_PERMITTED = ["SELECT 1", "select count() from pages", "SELECT 'a;b' AS x", "WITH 1 AS x SELECT x",
              "SELECT 1 UNION ALL SELECT 2", "(SELECT doc_id FROM pages)", "SELECT '/* not a comment */'"]  # fmt: skip
_FORBIDDEN = ["SHOW PROCESSLIST", "SHOW TABLES", "KILL QUERY WHERE 1", "SELECT file('/etc/hostname')",
              "SELECT * FROM system.processes", "EXISTS pages", "DESCRIBE pages", "EXPLAIN SELECT 1",
              "SELECT * FROM merge(currentDatabase(), '.*')", "SELECT 1 FORMAT JSON"]  # fmt: skip
_DECORATIONS = ["", " ", "\t", "\n", "-- note\n", "/* c */", "/* /* nested */ SELECT */", "/* ünï ✓ 名 */",
                "# hash\n", "\u00a0"]  # fmt: skip
_AROUND = st.lists(st.sampled_from(_DECORATIONS), max_size=3).map("".join)


@st.composite
def texts(draw: st.DrawFn) -> tuple[str, str | None]:
    """A query text and the statement it must run as (None: it must be refused)."""
    first = draw(st.sampled_from(_PERMITTED + _FORBIDDEN))
    text = draw(_AROUND) + first + draw(_AROUND)
    second = draw(st.none() | st.sampled_from(_PERMITTED + _FORBIDDEN))
    if second is not None:
        text += ";" + draw(_AROUND) + second + draw(_AROUND)
    if draw(st.booleans()):
        text += ";" + draw(_AROUND)
    return text, first if second is None and first in _PERMITTED else None


def test_the_guard_accepts_exactly_one_permitted_select(service: ClickHouseService) -> None:
    reader = reader_client(service.settings)
    database = service.settings.clickhouse_database

    def as_formatted(statement: str) -> str:
        return reader.query("SELECT formatQuerySingleLine({q:String})", parameters={"q": statement}).result_rows[0][0]

    @hypothesis_settings(
        max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(texts())
    def check(case: tuple[str, str | None]) -> None:
        text, expected = case
        try:
            decided = parse_select(reader, text, database)
        except SqlError:
            decided = None
        assert decided == (as_formatted(expected) if expected else None), text

    try:
        check()
    finally:
        reader.close()
