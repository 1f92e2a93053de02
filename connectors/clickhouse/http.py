"""The HTTP side of the ClickHouse sink: the SQL endpoint, sink status and download URLs.

``ClickHouseService`` owns the sink thread and the read-only client of one process (chDB lets
one process own its data directory, so the sink and the SQL endpoint must live together). Any
Starlette app hosts it with ``routes`` and ``lifespan``:

    service = ClickHouseService(settings)
    app = Starlette(routes=[*service.routes, ...], lifespan=service.lifespan)

The bridge (connectors/bridge) hosts it, so ``pagestream up`` runs sink and SQL in its process.
Every error is a problem+json body (RFC 9457) with ClickHouse's message for SQL errors, never
a stack trace.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from clickhouse_connect.driver.client import Client
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pagestream.connectors.clickhouse.connections import reader_client
from pagestream.connectors.clickhouse.consumer import SinkRunner
from pagestream.connectors.clickhouse.sql import SqlError, run_query
from pagestream.connectors.clickhouse.tenantsql import SELECT_STATEMENTS, check_ast, tenant_filters
from pagestream.connectors.objectstore import ObjectStore, ObjectStoreError
from pagestream.connectors.results import download_urls
from pagestream.streams.errors import PagestreamError
from pagestream.streams.settings import Settings

log = logging.getLogger(__name__)


class DatabaseNotReady(PagestreamError):
    """The sink has not connected to ClickHouse (or migrated it) yet."""

    code = "not_ready"


def problem(status: int, title: str, detail: str, kind: str) -> JSONResponse:
    """An RFC 9457 problem document."""
    body = {"type": f"urn:pagestream:problem:{kind}", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


class ClickHouseService:
    """Sink thread plus read-only SQL access to the same database, for one ASGI app."""

    def __init__(self, settings: Settings, *, run_sink: bool = True) -> None:
        self.settings = settings
        self.runner = SinkRunner(settings)
        self.run_sink = run_sink
        self._reader: Client | None = None
        self._tenant_readers: OrderedDict[str, Client] = OrderedDict()  # most recently used last
        self._store = ObjectStore(settings)
        self._lock = threading.Lock()  # one query at a time on the reader's session
        self.routes = [
            Route("/v1/sql", self.sql, methods=["POST"]),
            Route("/v1/sink", self.sink_status, methods=["GET"]),
            Route("/v1/documents/{doc_id}/files", self.files, methods=["GET"]),
        ]

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        if self.run_sink:
            self.runner.start()
        try:
            yield
        finally:
            await run_in_threadpool(self.close)

    def close(self) -> None:
        self.runner.stop()
        with self._lock:
            for reader in [self._reader, *self._tenant_readers.values()]:
                if reader is not None:
                    reader.close()
            self._reader = None
            self._tenant_readers.clear()

    # --- queries --------------------------------------------------------------------------------

    def query(self, sql: str, parameters: dict[str, Any] | None = None, tenant: str | None = None) -> Any:
        """Run a read-only query on the reader (made once the sink has created the database); with
        ``tenant``, on that tenant's session and only if it reads that tenant's tables
        (``tenantsql``)."""
        with self._lock:
            if self._reader is None:
                if self.run_sink and self.runner.state in ("stopped", "connecting"):
                    raise DatabaseNotReady(self.runner.status()["last_error"] or "the sink is still starting")
                self._reader = reader_client(self.settings)
            if parameters is not None:
                return self._reader.query(sql, parameters=parameters).result_rows
            max_rows = self.settings.sql_max_rows
            if tenant is None:
                return run_query(self._reader, sql, max_rows, partial(check_ast, database=None))
            reader = self._tenant_reader(tenant)
            return run_query(
                reader, sql, max_rows, partial(check_ast, database=self.settings.clickhouse_database), SELECT_STATEMENTS
            )

    def _tenant_reader(self, tenant: str) -> Client:
        """The tenant's read-only session (kept for the most recently active tenants)."""
        if tenant in self._tenant_readers:
            self._tenant_readers.move_to_end(tenant)
            return self._tenant_readers[tenant]
        database = self.settings.clickhouse_database
        assert self._reader is not None
        tables = [
            row[0]
            for row in self._reader.query(
                "SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": database}
            ).result_rows
        ]
        reader = reader_client(self.settings, tenant_filters(tenant, database, tables))
        self._tenant_readers[tenant] = reader
        while len(self._tenant_readers) > self.settings.sql_tenant_readers:
            self._tenant_readers.popitem(last=False)[1].close()
        return reader

    async def sql(self, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return problem(400, "Bad request", 'send JSON: {"query": "SELECT ..."}', "bad-request")
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, str):
            return problem(400, "Bad request", 'send JSON: {"query": "SELECT ..."}', "bad-request")
        who = request.scope.get("state", {}).get("caller")  # set by the bridge's Guard (auth on)
        try:
            result = await run_in_threadpool(self.query, query, None, who.tenant if who else None)
        except DatabaseNotReady as exc:
            return problem(503, "Analytics database not ready", exc.message, "not-ready")
        except SqlError as exc:
            return problem(400, "SQL error", exc.message, exc.code.replace("_", "-"))
        except Exception as exc:  # the database went away under us: say so, without a trace
            log.exception("query failed")
            return problem(503, "Analytics database unavailable", f"{type(exc).__name__}: {exc}", "unavailable")
        return JSONResponse(result.as_json())

    async def sink_status(self, _request: Request) -> JSONResponse:
        return JSONResponse(self.runner.status())

    async def files(self, request: Request) -> JSONResponse:
        """Presigned download URLs of a completed document's results and page images."""
        doc_id = request.path_params["doc_id"]
        try:
            rows = await run_in_threadpool(
                self.query,
                "SELECT tenant FROM documents FINAL WHERE doc_id = {doc_id:String} LIMIT 1",
                {"doc_id": doc_id},
            )
        except DatabaseNotReady as exc:
            return problem(503, "Analytics database not ready", exc.message, "not-ready")
        except Exception as exc:  # the database went away under us
            log.exception("document lookup failed")
            return problem(503, "Analytics database unavailable", f"{type(exc).__name__}: {exc}", "unavailable")
        who = request.scope.get("state", {}).get("caller")
        if not rows or (who is not None and rows[0][0] != who.tenant):  # another tenant's: as if unknown
            return problem(404, "Unknown document", f"no completed document with id {doc_id!r}", "unknown-document")
        expires = dt.timedelta(seconds=self.settings.presign_expiry_seconds)
        try:
            urls = await run_in_threadpool(download_urls, self._store, rows[0][0], doc_id, expires)
        except ObjectStoreError as exc:
            return problem(503, "Object store unavailable", exc.message, "unavailable")
        return JSONResponse(urls)

