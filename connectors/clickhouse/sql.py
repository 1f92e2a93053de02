"""Read-only SQL for people and dashboards: a query in, column names, types and rows out.

Only statements that read (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, EXISTS) are accepted, and
they run on a client in read-only mode with bounded rows and time (``client.reader_client``).
Values become JSON: times as ISO 8601 UTC, bytes as base64, maps as objects.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import ipaddress
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from pagestream.streams.errors import PagestreamError

READ_STATEMENTS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS")
_COMMENTS = re.compile(r"(--[^\n]*|#[^\n]*|/\*.*?\*/)", re.DOTALL)
_OUTFILE = re.compile(r"\bOUTFILE\b", re.IGNORECASE)  # anywhere, even split by comments


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


def check_read_only(query: str, statements: tuple[str, ...] = READ_STATEMENTS) -> str:
    """The query without surrounding blanks and a trailing ';', if it only reads (and starts with
    one of ``statements``)."""
    text = query.strip().rstrip(";").strip()
    bare = _COMMENTS.sub(" ", text).strip()
    if not bare:
        raise SqlError(f"empty query: one statement of {', '.join(statements)} is accepted")
    first = _first_word(bare)
    if first not in statements:
        raise SqlError(
            f"only read-only queries are accepted ({', '.join(statements)}), not {first}", code="sql_not_read_only"
        )
    if _OUTFILE.search(text):
        raise SqlError("INTO OUTFILE is not accepted: results come back in the response", code="sql_not_read_only")
    return text


def _first_word(text: str) -> str:
    return re.split(r"[\s(]", text, maxsplit=1)[0].upper()


def json_value(value: Any) -> Any:
    """One ClickHouse value as JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
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


def run_query(
    client: Client,
    query: str,
    max_rows: int,
    check: Callable[[list[str]], None] | None = None,
    statements: tuple[str, ...] = READ_STATEMENTS,
) -> QueryResult:
    """Run a read-only query; ClickHouse errors become ``SqlError`` with ClickHouse's message.
    ``check`` gets the lines of ``EXPLAIN AST`` of a SELECT first (ClickHouse's own parse of it)
    and raises ``SqlError`` for what it refuses."""
    text = check_read_only(query, statements)
    started = dt.datetime.now(dt.UTC)
    try:
        if check is not None and _first_word(_COMMENTS.sub(" ", text).strip()) in ("SELECT", "WITH"):
            check([row[0] for row in client.query(f"EXPLAIN AST {text}").result_rows])
        result = client.query(text)
        rows = result.result_rows
        columns = [{"name": n, "type": t.name} for n, t in zip(result.column_names, result.column_types, strict=True)]
        if not columns and _first_word(_COMMENTS.sub(" ", text).strip()) in ("SELECT", "WITH"):
            # chDB sends no header with an empty result: ask ClickHouse for the columns instead
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
