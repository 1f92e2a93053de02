"""Read-only SQL for people and dashboards: a query in, column names, types and rows out.

What a query is, ClickHouse decides, never a regex: the text goes to ClickHouse's own parser
(``formatQuerySingleLine``, on the same session that will run it), which refuses several
statements in one text and drops every comment, nested ones included. Its formatted text is
parsed again (``EXPLAIN AST``); exactly one statement whose root is a SELECT (or a UNION of
SELECTs) is accepted, the tree is checked (``tenantsql.check_ast``), and only the formatted
text runs, on a read-only session whose limits the query cannot change (``client.reader_client``).
Values become JSON: times as ISO 8601 UTC, bytes as base64, maps as objects.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import ipaddress
import re
import uuid
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from pagestream.streams.codec import iso_utc
from pagestream.streams.errors import PagestreamError

_ACCEPTED = "one SELECT statement (or a UNION of SELECTs, WITH allowed) is accepted"
_IN_FUNCTIONS = {"in", "notin", "globalin", "globalnotin", "nullin", "notnullin", "globalnullin", "globalnotnullin"}


class SqlError(PagestreamError):
    """A query was refused or failed; the message is ClickHouse's own, or says what is accepted."""

    code = "sql_error"


@dataclass(frozen=True)
class QueryResult:
    columns: list[dict[str, str]]
    rows: list[list[Any]]
    truncated: bool
    elapsed_ms: float

    def as_json(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "rows": self.rows,
            "row_count": len(self.rows),
            "truncated": self.truncated,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


def _refuse(why: str) -> SqlError:
    return SqlError(
        f"{why}; a query reads the tables of the analytics database only (documents, pages, fields, "
        "validation_issues, stage_events, errors), with one SELECT",
        code="sql_not_allowed",
    )


def check_ast(explained: list[str], database: str) -> None:
    """Refuse what a query may not do, from the lines of ``EXPLAIN AST`` of one SELECT: table
    functions (``merge``, ``file``, ``url``... read around the tenant filters and the server's
    files), tables outside ``database`` (``system.processes`` shows other queries), a table after
    ``IN`` outside it, the ``file()`` function, a ``SETTINGS`` clause, and anything beside the
    SELECTs at the top (``FORMAT``, ``INTO OUTFILE``): the answer's format is the endpoint's."""
    stack: list[tuple[int, str]] = []  # (depth, node kind) of the ancestors of the current line
    for number, line in enumerate(explained):
        depth = len(line) - len(line.lstrip(" "))
        kind, _, rest = line.strip().partition(" ")
        name = rest.split(" ")[0]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        grandparent = stack[-2][1] if len(stack) > 1 else ""
        client_format = number == len(explained) - 1 and line == " Identifier Native"  # clickhouse-connect's own
        if number > 0 and len(stack) == 1 and kind != "ExpressionList" and not client_format:
            raise _refuse(f"{kind} {name}".strip() + " after the SELECT is not accepted (no FORMAT, INTO OUTFILE)")
        if kind == "Function" and parent == "TableExpression":
            raise _refuse(f"table function {name}() is not accepted")
        if kind == "Function" and name.lower() == "file":
            raise _refuse("the file() function is not accepted")
        if kind == "TableIdentifier" and "." in name and name.split(".")[0] != database:
            raise _refuse(f"table {name} is outside the analytics database")
        in_table = kind == "Identifier" and parent == "ExpressionList" and grandparent.lower() in _IN_FUNCTIONS
        if in_table and "." in name and name.split(".")[0] != database:
            raise _refuse(f"IN {name} names a table outside the analytics database")
        if kind == "Set":
            raise _refuse("SETTINGS clauses are not accepted")
        stack.append((depth, kind if kind != "Function" else name))


def json_value(value: Any) -> Any:
    """One ClickHouse value as JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, bytes | bytearray):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(json_value(k)): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_value(v) for v in value]
    return str(value)


def parse_select(client: Client, query: str, database: str) -> str:
    """ClickHouse's own text of ``query`` if it is one SELECT that reads only ``database``'s
    tables (``tenantsql.check_ast``); ``SqlError`` saying what is accepted otherwise."""
    if not query.strip():
        raise SqlError(f"empty query: {_ACCEPTED}", code="sql_not_read_only")
    try:
        formatted = client.query("SELECT formatQuerySingleLine({q:String})", parameters={"q": query}).result_rows
        text = str(formatted[0][0])
        tree = [str(row[0]) for row in client.query(f"EXPLAIN AST {text}").result_rows]
    except ClickHouseError as exc:
        raise SqlError(_clean_message(str(exc)), code="sql_failed") from exc
    root = tree[0].strip().split(" ")[0] if tree else ""
    if root != "SelectWithUnionQuery":
        kind = root.removesuffix("Query") or "nothing"
        raise SqlError(f"{_ACCEPTED}, not {kind}", code="sql_not_read_only")
    check_ast(tree, database)
    return text


def run_query(client: Client, query: str, max_rows: int, database: str) -> QueryResult:
    """Run one SELECT after ``parse_select``; ClickHouse errors become ``SqlError`` with
    ClickHouse's message. The formatted text runs, never the text as sent."""
    text = parse_select(client, query, database)
    started = dt.datetime.now(dt.UTC)
    try:
        result = client.query(text)
        rows = result.result_rows
        columns = [{"name": n, "type": t.name} for n, t in zip(result.column_names, result.column_types, strict=True)]
        if not columns:  # chDB sends no header with an empty result: ask ClickHouse for the columns instead
            columns = [{"name": r[0], "type": r[1]} for r in client.query(f"DESCRIBE ({text})").result_rows]
    except ClickHouseError as exc:
        raise SqlError(_clean_message(str(exc)), code="sql_failed") from exc
    elapsed = (dt.datetime.now(dt.UTC) - started).total_seconds() * 1000
    return QueryResult(
        columns=columns,
        rows=[[json_value(v) for v in row] for row in rows[:max_rows]],
        truncated=len(rows) > max_rows,
        elapsed_ms=elapsed,
    )


def _clean_message(message: str) -> str:
    """ClickHouse's message without the output format clause the client appended to the query."""
    return re.sub(r"\n FORMAT Native", "", message).strip()
