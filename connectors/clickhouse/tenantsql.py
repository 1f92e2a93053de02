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

from pagestream.connectors.clickhouse.sql import SqlError

SELECT_STATEMENTS = ("SELECT", "WITH")
_IN_FUNCTIONS = {"in", "notin", "globalin", "globalnotin", "nullin", "notnullin", "globalnullin", "globalnotnullin"}


def tenant_filters(tenant: str, database: str, tables: list[str]) -> dict[str, str]:
    """``additional_table_filters`` for every table, by bare and by qualified name."""
    condition = "tenant = '{}'".format(tenant.replace("\\", "\\\\").replace("'", "\\'"))
    filters = {}
    for table in tables:
        filters[table] = condition
        filters[f"{database}.{table}"] = condition
    return filters


def _refuse(why: str) -> SqlError:
    return SqlError(
        f"{why}; a tenant's query reads the tables of the analytics database only (documents, pages, fields, "
        "validation_issues, stage_events, errors), with one SELECT",
        code="sql_not_allowed",
    )


def check_ast(explained: list[str], database: str | None) -> None:
    """Refuse what a query may not do, from the lines of ``EXPLAIN AST``. ``database`` None: an
    unscoped caller, for whom only ``file()`` is refused (read-only mode refuses the rest)."""
    stack: list[tuple[int, str]] = []  # (depth, node kind) of the ancestors of the current line
    for line in explained:
        depth = len(line) - len(line.lstrip(" "))
        kind, _, rest = line.strip().partition(" ")
        name = rest.split(" ")[0]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        grandparent = stack[-2][1] if len(stack) > 1 else ""
        if kind == "Function" and parent == "TableExpression":
            if database is not None:
                raise _refuse(f"table function {name}() is not accepted")
        elif kind == "Function" and name.lower() == "file":
            raise _refuse("the file() function is not accepted")
        elif database is not None and kind == "TableIdentifier" and "." in name and name.split(".")[0] != database:
            raise _refuse(f"table {name} is outside the analytics database")
        elif database is not None and kind == "Identifier" and parent == "ExpressionList" and "." in name:
            if grandparent.lower() in _IN_FUNCTIONS and name.split(".")[0] != database:
                raise _refuse(f"IN {name} names a table outside the analytics database")
        elif database is not None and kind == "Set":
            raise _refuse("SETTINGS clauses are not accepted")
        stack.append((depth, kind if kind != "Function" else name))
