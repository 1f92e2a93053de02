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
from typing import Any

from clickhouse_connect.driver.client import Client
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pagestream.connectors.clickhouse.connections import reader_client
from pagestream.connectors.clickhouse.consumer import SinkRunner
from pagestream.connectors.clickhouse.fairqueue import FairQueue, QueueFull
from pagestream.connectors.clickhouse.sql import QueryResult, SqlError, run_query
from pagestream.connectors.clickhouse.tenantsql import tenant_filters
from pagestream.connectors.objectstore import ObjectStore, ObjectStoreError
from pagestream.connectors.problems import problem_response
from pagestream.connectors.results import download_urls, find_result
from pagestream.connectors.tenants import is_operator
from pagestream.streams.errors import PagestreamError
from pagestream.streams.settings import Settings

log = logging.getLogger(__name__)


class DatabaseNotReady(PagestreamError):
    """The sink has not connected to ClickHouse (or migrated it) yet."""

    code = "not_ready"


class ClickHouseService:
    """Sink thread plus read-only SQL access to the same database, for one ASGI app.

    Callers' queries run on a ``FairQueue`` (their own threads, one query per tenant at a time,
    round robin), each tenant on its own session (``tenantsql``), the local caller (auth off) on
    one unfiltered session; the service's own lookups (a document's tenant) on a third."""

    _LOCAL = "*"  # the lane and session of the caller when authentication is off

    def __init__(self, settings: Settings, *, run_sink: bool = True) -> None:
        self.settings = settings
        self.runner = SinkRunner(settings)
        self.run_sink = run_sink
        self.queue = FairQueue(settings.sql_workers, settings.sql_max_waiting)
        self._lookup: Client | None = None
        self._readers: OrderedDict[str, Client] = OrderedDict()  # by lane, most recently used last
        self._store = ObjectStore(settings)
        self._lock = threading.Lock()  # guards the sessions; each lane runs one query at a time
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
        self.queue.close()
        with self._lock:
            for reader in [self._lookup, *self._readers.values()]:
                if reader is not None:
                    reader.close()
            self._lookup = None
            self._readers.clear()

    # --- queries --------------------------------------------------------------------------------

    def _ready(self) -> Client:
        """The service's own session, made once the sink has created the database."""
        if self._lookup is None:
            if self.run_sink and self.runner.state in ("stopped", "connecting"):
                raise DatabaseNotReady(
                    "the analytics database is not ready: the sink is still connecting to it; try again shortly"
                )
            self._lookup = reader_client(self.settings)
        return self._lookup

    def lookup(self, sql: str, parameters: dict[str, Any]) -> list[Any]:
        """Rows of one of the service's own parameterised queries (never a caller's text)."""
        with self._lock:
            return self._ready().query(sql, parameters=parameters).result_rows

    def _reader(self, lane: str) -> Client:
        """The session of a lane: a tenant's filtered one, or the local caller's (kept for the
        most recently active lanes)."""
        with self._lock:
            lookup = self._ready()
            if lane in self._readers:
                self._readers.move_to_end(lane)
                return self._readers[lane]
            database = self.settings.clickhouse_database
            filters = None
            if lane != self._LOCAL:
                tables = [
                    row[0]
                    for row in lookup.query(
                        "SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": database}
                    ).result_rows
                ]
                filters = tenant_filters(lane, database, tables)
            reader = reader_client(self.settings, filters)
            self._readers[lane] = reader
            while len(self._readers) > self.settings.sql_tenant_readers:
                self._readers.popitem(last=False)[1].close()
            return reader

    def query(self, sql: str, tenant: str | None = None) -> QueryResult:
        """Run a caller's query on its lane's session: one SELECT of the analytics tables
        (``sql.parse_select``), with ``tenant`` only that tenant's rows."""
        reader = self._reader(tenant or self._LOCAL)
        return run_query(reader, sql, self.settings.sql_max_rows, self.settings.clickhouse_database)

    async def sql(self, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return problem_response(request, 400, "bad-request", 'send JSON: {"query": "SELECT ..."}')
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, str):
            return problem_response(request, 400, "bad-request", 'send JSON: {"query": "SELECT ..."}')
        who = request.scope.get("state", {}).get("caller")  # set by the bridge's Guard (auth on)
        tenant = who.tenant if who else None
        try:
            result = await self.queue.run(tenant or self._LOCAL, lambda: self.query(query, tenant))
        except QueueFull as exc:
            response = problem_response(request, 429, "sql-queue-full", exc.message)
            response.headers["Retry-After"] = "1"
            return response
        except DatabaseNotReady as exc:
            return problem_response(request, 503, "not-ready", exc.message, title="Analytics database not ready")
        except SqlError as exc:
            return problem_response(request, 400, exc.code.replace("_", "-"), exc.message, title="SQL error")
        except Exception:  # the database went away under us: say so, without a trace or its text
            log.exception("query failed")
            return problem_response(
                request,
                503,
                "unavailable",
                "the query could not run; try again",
                title="Analytics database unavailable",
            )
        return JSONResponse(result.as_json())

    async def sink_status(self, request: Request) -> JSONResponse:
        if not is_operator(request.scope.get("state", {}).get("caller"), self.settings.operator_tenants):
            detail = "the sink's state answers to operator tenants only (PAGESTREAM_OPERATOR_TENANTS)"
            return problem_response(request, 403, "operators-only", detail)
        return JSONResponse(self.runner.status())

    async def files(self, request: Request) -> JSONResponse:
        """Presigned download URLs of a completed document's results and page images."""
        doc_id = request.path_params["doc_id"]
        try:
            rows = await run_in_threadpool(
                self.lookup,
                "SELECT tenant FROM documents FINAL WHERE doc_id = {doc_id:String} LIMIT 1",
                {"doc_id": doc_id},
            )
        except DatabaseNotReady as exc:
            return problem_response(request, 503, "not-ready", exc.message, title="Analytics database not ready")
        except Exception:  # the database went away under us
            log.exception("document lookup failed")
            return problem_response(
                request,
                503,
                "unavailable",
                "the lookup could not run; try again",
                title="Analytics database unavailable",
            )
        who = request.scope.get("state", {}).get("caller")
        tenant = rows[0][0] if rows else None
        unknown = problem_response(
            request, 404, "unknown-document", f"no completed document with id {doc_id!r}", title="Unknown document"
        )
        try:
            if tenant is None:  # completed, but the sink has not written its row yet: its result.json says so
                key = await run_in_threadpool(find_result, self._store, doc_id, "result.json", who and who.tenant)
                tenant = key.split("/", 1)[0] if key else None
            if tenant is None or (who is not None and tenant != who.tenant):  # another tenant's: as if unknown
                return unknown
            expires = dt.timedelta(seconds=self.settings.presign_expiry_seconds)
            urls = await run_in_threadpool(download_urls, self._store, tenant, doc_id, expires)
        except ObjectStoreError as exc:
            if exc.code == "bad_key":  # no document can have such an id
                return unknown
            log.exception("finding or presigning the result files failed")
            return problem_response(
                request,
                503,
                "unavailable",
                "the object store did not answer; try again",
                title="Object store unavailable",
            )
        return JSONResponse(urls)
