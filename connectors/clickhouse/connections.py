"""clickhouse-connect clients for the sink (writes) and the SQL endpoint (read-only).

Both talk to the same database: chDB in the state directory by default, a ClickHouse server when
``PAGESTREAM_CLICKHOUSE_URL`` is set. chDB allows one data directory per process and any number
of clients on it; each client has its own session, so the read-only one cannot be talked out of
read-only mode by a query.
"""

from __future__ import annotations

from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from pagestream.streams.settings import Settings


def is_embedded(settings: Settings) -> bool:
    return settings.clickhouse_dsn.startswith("chdb:")


def writer_client(settings: Settings) -> Client:
    """A client that may create tables and insert (the sink's)."""
    if is_embedded(settings):
        Path(settings.clickhouse_dsn.removeprefix("chdb://")).mkdir(parents=True, exist_ok=True)
    return clickhouse_connect.get_client(dsn=settings.clickhouse_dsn)


def reader_client(settings: Settings, table_filters: dict[str, str] | None = None) -> Client:
    """A client for untrusted read queries: bounded memory, rows read, result size and time, and
    read-only; with
    ``table_filters`` (``additional_table_filters``) it sees only the rows they let through.

    ``readonly`` comes last: once set it forbids changing settings. chDB keeps it for the
    session (``readonly=1`` also refuses table functions such as ``file()``); a server gets it
    with every request as ``readonly=2``, which still lets the client send its own settings.
    """
    limits = {
        "max_result_rows": settings.sql_max_rows + 1,
        "result_overflow_mode": "break",
        "max_result_bytes": settings.sql_max_result_bytes,
        "max_execution_time": int(settings.sql_timeout_seconds),
        "max_memory_usage": settings.sql_max_memory_bytes,
        "max_rows_to_read": settings.sql_max_rows_read,
        **({"additional_table_filters": table_filters} if table_filters else {}),
        "readonly": 1 if is_embedded(settings) else 2,
    }
    return clickhouse_connect.get_client(
        dsn=settings.clickhouse_dsn, database=settings.clickhouse_database, settings=limits
    )
