"""Tenant keys stored hashed, rate limits, the exposure check, and tenant-scoped SQL on a real
embedded chDB: a tenant's session sees only its rows and cannot reach around its filters."""

from __future__ import annotations

import json
import stat
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from pagestream.connectors.bridge.auth import check_exposure
from pagestream.connectors.bridge.limits import RateLimiter
from pagestream.connectors.clickhouse.connections import reader_client, writer_client
from pagestream.connectors.clickhouse.schema import migrate
from pagestream.connectors.clickhouse.sql import SqlError, run_query
from pagestream.connectors.clickhouse.tenantsql import tenant_filters
from pagestream.connectors.tenants import TenantError, TenantStore
from pagestream.streams.errors import ServiceError
from pagestream.streams.settings import Settings


def test_keys_are_stored_hashed_and_checked(tmp_path: Path) -> None:
    store = TenantStore(tmp_path / "tenants.json")
    acme, key = store.add("acme")
    other, other_key = store.add("acme")
    text = (tmp_path / "tenants.json").read_text()
    assert key not in text and key.split("_")[-1] not in text and acme.key_id in text
    assert stat.S_IMODE((tmp_path / "tenants.json").stat().st_mode) == 0o600
    assert store.authenticate(key) == acme and store.authenticate(other_key) == other
    assert store.authenticate(key) == acme  # cached
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for bad in (wrong_secret, "psk_000000000000_" + "x" * 43, "nonsense", ""):
        assert store.authenticate(bad) is None
    assert [t["tenant"] for t in store.tenants()] == ["acme"] and len(store.tenants()[0]["keys"]) == 2
    # Another process (the CLI) adds a key: a running store sees it without a restart.
    _, late = TenantStore(tmp_path / "tenants.json").add("beta")
    assert store.authenticate(late).tenant == "beta"
    # A key removed from the file stops working, cache or not.
    data = json.loads((tmp_path / "tenants.json").read_text())
    del data["keys"][acme.key_id]
    (tmp_path / "tenants.json").write_text(json.dumps(data))
    assert store.authenticate(key) is None
    with pytest.raises(TenantError, match="not allowed"):
        store.add("../etc")


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    limiter = RateLimiter(per_second=2.0, burst=3)
    assert [limiter.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a", now=0.0) == pytest.approx(0.5)
    assert limiter.take("b", now=0.0) == 0.0  # buckets are per tenant
    assert limiter.take("a", now=0.6) == 0.0 and limiter.take("a", now=0.6) > 0
    assert limiter.waiting("a", now=0.6) == limiter.waiting("a", now=0.6) > 0  # looking spends nothing
    assert limiter.waiting("c", now=0.0) == 0.0


def test_no_authentication_is_refused_off_loopback() -> None:
    check_exposure(Settings(auth="off", bridge_host="127.0.0.1"))
    check_exposure(Settings(auth="on", bridge_host="0.0.0.0"))
    with pytest.raises(ServiceError, match="PAGESTREAM_AUTH=on"):
        check_exposure(Settings(auth="off", bridge_host="0.0.0.0"))


@pytest.fixture(scope="module")
def db(chdb_state: Path) -> Iterator[Settings]:
    settings = Settings(state_dir=chdb_state, clickhouse_database=f"t_{uuid.uuid4().hex[:12]}")
    writer = writer_client(settings)
    migrate(writer, settings.clickhouse_database)
    for doc_id, tenant in (("a1", "alpha"), ("a2", "alpha"), ("b1", "beta")):
        writer.command(
            f"INSERT INTO {settings.clickhouse_database}.documents (doc_id, tenant, status, page_count, pages_ok, "
            "word_count, mean_confidence, text_inline, versions, completed_at, kafka_topic, kafka_partition, "
            f"kafka_offset) VALUES ('{doc_id}', '{tenant}', 'OK', 1, 1, 1, 0.9, true, map(), now64(3), 'x', 0, 1)"
        )
        writer.command(
            f"INSERT INTO {settings.clickhouse_database}.pages (doc_id, tenant, page_no, status, word_count, "
            "mean_confidence, completed_at, kafka_topic, kafka_partition, kafka_offset) "
            f"VALUES ('{doc_id}', '{tenant}', 1, 'OK', 1, 0.9, now64(3), 'x', 0, 1)"
        )
    tables = [r[0] for r in writer.query(f"SHOW TABLES FROM {settings.clickhouse_database}").result_rows]
    writer.close()
    yield settings, tables


def test_a_tenant_session_sees_only_its_rows_and_cannot_reach_around(db) -> None:
    settings, tables = db
    database = settings.clickhouse_database
    reader = reader_client(settings, tenant_filters("alpha", database, tables))
    run = partial(run_query, reader, max_rows=100, database=database)
    try:
        seen = {
            "SELECT doc_id FROM documents FINAL ORDER BY doc_id": [["a1"], ["a2"]],
            f"SELECT doc_id FROM {database}.documents ORDER BY doc_id": [["a1"], ["a2"]],
            "SELECT d.doc_id FROM documents d JOIN pages p USING doc_id ORDER BY 1": [["a1"], ["a2"]],
            "WITH x AS (SELECT * FROM pages) SELECT count() FROM x": [[2]],
            "SELECT count() FROM (SELECT tenant FROM documents WHERE tenant = 'beta')": [[0]],
            "SELECT 1 WHERE ('b1', 'beta') IN (SELECT doc_id, tenant FROM documents)": [],
        }
        for query, rows in seen.items():
            assert run(query=query).rows == rows, query
        refused = {
            "SELECT * FROM merge(currentDatabase(), '.*')": "table function merge()",
            f"SELECT * FROM view(SELECT * FROM {database}.documents)": "table function view()",
            "SELECT query FROM system.processes": "outside the analytics database",
            "SELECT count() FROM documents d, system.parts p": "outside the analytics database",
            "SELECT 1 WHERE 'x' IN system.processes": "outside the analytics database",
            "SELECT file('/etc/hostname')": "file()",
            "SELECT count() FROM documents SETTINGS additional_table_filters = {}": "readonly mode",
            "SHOW TABLES": "is accepted, not ShowTables",
            "DESCRIBE documents": "is accepted, not Describe",
            "INSERT INTO documents SELECT * FROM documents": "is accepted, not Insert",
            "SELECT 1; SELECT 2": "Multi-statements are not allowed",
        }
        for query, says in refused.items():
            with pytest.raises(SqlError, match=None) as caught:
                run(query=query)
            assert says in caught.value.message, (query, caught.value.message)
    finally:
        reader.close()
    # Past the parse check, the session's filters still hold and cannot be changed.
    raw = reader_client(settings, tenant_filters("beta", database, tables))
    try:
        assert raw.query("SELECT doc_id FROM documents").result_rows == [("b1",)]
        with pytest.raises(Exception, match="readonly"):
            raw.query("SELECT doc_id FROM documents SETTINGS additional_table_filters = {}")
    finally:
        raw.close()
