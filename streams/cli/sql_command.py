"""``pagestream sql``: post a query to the SQL endpoint and print the result as a table or JSON."""

from __future__ import annotations

import json
from typing import Any

import httpx

from pagestream.streams.errors import PagestreamError, ServiceError
from pagestream.streams.settings import Settings

_CELL_WIDTH = 60  # the table view shortens longer values; --json has them whole


class SqlFailed(PagestreamError):
    """The endpoint refused or could not run the query (its problem detail is the message)."""

    code = "sql_error"


def post_sql(settings: Settings, query: str) -> dict[str, Any]:
    """The endpoint's JSON answer (columns, rows); ``SqlFailed`` with its problem detail otherwise."""
    url = f"{settings.bridge_url}/v1/sql"
    try:
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        response = httpx.post(url, json={"query": query}, headers=headers, timeout=settings.sql_timeout_seconds + 10)
    except httpx.TransportError as exc:
        raise ServiceError(
            f"the SQL endpoint at {url} is not reachable ({type(exc).__name__}): start it with 'pagestream up'"
        ) from exc
    if response.status_code != 200:
        try:
            detail = response.json().get("detail") or response.text
        except ValueError:
            detail = response.text
        raise SqlFailed(f"{detail} (HTTP {response.status_code})")
    return response.json()


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
    text = " ".join(text.split()) if "\n" in text or "\t" in text else text
    return text if len(text) <= _CELL_WIDTH else text[: _CELL_WIDTH - 1] + "…"


def format_table(result: dict[str, Any]) -> str:
    """Columns aligned, numbers to the right, a row count at the end."""
    names = [c["name"] for c in result["columns"]]
    numeric = [any(t in c["type"] for t in ("Int", "Float", "Decimal")) for c in result["columns"]]
    cells = [[_cell(v) for v in row] for row in result["rows"]]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [line(names), "  ".join("-" * w for w in widths)] + [line(r) for r in cells]
    count = f"{len(cells)} row{'s' if len(cells) != 1 else ''}"
    if result.get("truncated"):
        count += f" (truncated at {len(cells)})"
    return "\n".join([*out, count])
