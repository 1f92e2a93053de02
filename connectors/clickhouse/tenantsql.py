"""SQL of one tenant: ClickHouse's own parser checks what a query reads, and the session it runs
on sees only that tenant's rows.

chDB has no users, so no row policies. Instead each tenant gets its own read-only session whose
``additional_table_filters`` add ``tenant = '<tenant>'`` to every read of every table of the
analytics database (set before ``readonly=1``, so a query cannot change it: ClickHouse refuses
to modify settings in read-only mode). Filters apply to tables, not to what a table function or
a system table reads, so before running, the query is parsed by ClickHouse itself (``EXPLAIN
AST``, the same parser that runs it, never a home-made one) and refused when it names a table
function, a table outside the analytics database (``system.processes`` shows other queries), a
table after ``IN`` outside it, a ``SETTINGS`` clause, or the ``file()`` function (reads files of
the server, even read-only). Only one ``SELECT`` (or ``WITH ... SELECT``) is accepted.
"""

from __future__ import annotations


def tenant_filters(tenant: str, database: str, tables: list[str]) -> dict[str, str]:
    """``additional_table_filters`` for every table, by bare and by qualified name."""
    condition = "tenant = '{}'".format(tenant.replace("\\", "\\\\").replace("'", "\\'"))
    filters = {}
    for table in tables:
        filters[table] = condition
        filters[f"{database}.{table}"] = condition
    return filters
