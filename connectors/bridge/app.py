"""The HTTP bridge (ASGI, Starlette): uploads, document status and results, SSE streams, page
images for the dashboard, health, Prometheus metrics and the OpenAPI description.

One process holds one Kafka feed (connectors.bridge.feed) and one Python client; handlers stay
thin and never block the event loop (Kafka and object-store calls run in threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pagestream.connectors.bridge import openapi, sse, uploads
from pagestream.connectors.bridge.audit import AuditLog
from pagestream.connectors.bridge.auth import Guard, KeyChecks, check_exposure, owns, require_operations, tenant_scope
from pagestream.connectors.bridge.bodylimit import BodyLimit
from pagestream.connectors.bridge.feed import Feed
from pagestream.connectors.bridge.lag import LagMonitor
from pagestream.connectors.bridge.limits import RateLimiter
from pagestream.connectors.bridge.origin import OriginCheck
from pagestream.connectors.client import Client
from pagestream.connectors.objectstore import ObjectStore, ObjectStoreError
from pagestream.connectors.problems import EXCEPTION_HANDLERS, Problem, problem_response
from pagestream.connectors.tenants import TenantStore
from pagestream.streams import kafka, metrics, topics
from pagestream.streams.codec import Codecs, registry_client, to_json
from pagestream.streams.settings import Settings

log = logging.getLogger(__name__)

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboard"
Lifespan = Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]


class EventJSON(JSONResponse):
    """JSON with event times as ISO 8601 (Avro records carry datetimes)."""

    def render(self, content: Any) -> bytes:
        return to_json(content).encode()


class Bridge:
    """What the handlers share: settings, the client (producer, object store), feed and lag,
    tenants and their keys, rate limits and the audit log."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = Client(settings)
        self.store: ObjectStore = self.client.store
        self.feed = Feed(settings, self.client.codecs)
        self.lag = LagMonitor(settings)
        self.admin = kafka.admin(settings)
        self.tenants = TenantStore(settings.tenants_file)
        self.key_checks = KeyChecks(self.tenants, settings.auth_check_workers)
        self.uploads_swept_at = 0.0  # when expired presigned uploads were last removed (uploads.py)
        self.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.failures = RateLimiter(settings.auth_failures_per_second, settings.auth_failures_burst)  # per address
        self.audit = AuditLog(settings, Codecs(registry_client(settings.registry_url), [topics.AUDIT_EVENTS]))

    async def start(self) -> None:
        await run_in_threadpool(self.feed.start)
        if not await run_in_threadpool(self.feed.caught_up.wait, 300):
            log.warning("the feed has not caught up with the result topics after 300 s; serving anyway")
        self.lag.start()

    def stop(self) -> None:
        self.lag.stop()
        self.feed.stop()
        self.key_checks.close()
        self.client.close()
        self.audit.close()

    async def wait_known(self, doc_id: str, timeout: float = 10.0) -> bool:
        """Wait until the feed has seen a document (just submitted), so links to it work."""
        deadline = time.monotonic() + timeout
        while self.feed.document(doc_id) is None:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True


# --- documents ----------------------------------------------------------------------------------


def _document(request: Request) -> tuple[dict[str, Any], dict[str, Any] | None]:
    doc_id = request.path_params["doc_id"]
    found = request.app.state.bridge.feed.document(doc_id)
    if found is None or not owns(request, found[0]["tenant"]):  # another tenant's: as if unknown
        raise Problem(
            404,
            "unknown_document",
            f"no document {doc_id!r} is known to the bridge (it keeps the "
            f"{request.app.state.bridge.settings.bridge_index_size} most recently active documents)",
        )
    return found


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Problem(400, f"bad_{name}", f"{name} must be an integer from {low} to {high}, not {raw[:50]!r}")
    return int(raw)


async def list_documents(request: Request) -> Response:
    limit = _int_param(request, "limit", 50, 1, 1000)
    tenant = tenant_scope(request, request.query_params.get("tenant") or None)
    return EventJSON({"documents": request.app.state.bridge.feed.latest(limit, tenant)})


async def get_document(request: Request) -> Response:
    summary, result = _document(request)
    base = f"/v1/documents/{summary['doc_id']}"
    links = {"self": base, "events": f"{base}/events"}
    if result and result["page_count"]:
        links["pages"] = f"{base}/pages/{{page_no}}"
    return EventJSON({**summary, "result": result, "links": links})


async def _page_result(request: Request) -> dict[str, Any]:
    summary, result = _document(request)
    page_no = request.path_params["page_no"]
    if result is None:
        raise Problem(409, "not_completed", f"document {summary['doc_id']} has not completed; its pages come with it")
    page = next((p for p in result["pages"] if p["page_no"] == page_no), None)
    if page is None or not page.get("result_uri"):
        raise Problem(
            404,
            "unknown_page",
            f"document {summary['doc_id']} has no page {page_no} with a result (it has {result['page_count']} pages)",
        )
    store = request.app.state.bridge.store
    try:
        return json.loads(await run_in_threadpool(store.get, page["result_uri"]))
    except ObjectStoreError as exc:
        raise Problem(404, "page_result_missing", str(exc)) from None


async def get_page(request: Request) -> Response:
    """The page's full result: size, lines and words with boxes, regions (for overlays)."""
    return JSONResponse(await _page_result(request))


async def get_page_image(request: Request) -> Response:
    page = await _page_result(request)
    store = request.app.state.bridge.store
    try:
        png = await run_in_threadpool(store.get, page["image_uri"])
    except ObjectStoreError as exc:
        raise Problem(404, "page_image_missing", str(exc)) from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})


# --- streams ------------------------------------------------------------------------------------

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _last_event_id(request: Request) -> str | None:
    return request.headers.get("last-event-id") or request.query_params.get("last_event_id") or None


async def document_events(request: Request) -> Response:
    feed = request.app.state.bridge.feed
    stream = sse.document_stream(
        feed, request.path_params["doc_id"], _last_event_id(request), lambda tenant: owns(request, tenant)
    )
    if stream is None:
        return Response(status_code=204)  # the client has the final event: EventSource stops
    return StreamingResponse(stream, media_type="text/event-stream", headers=_SSE_HEADERS)


async def tenant_events(request: Request) -> Response:
    feed = request.app.state.bridge.feed
    tenant = tenant_scope(request, request.query_params.get("tenant") or None)
    stream = sse.tenant_stream(feed, tenant, _last_event_id(request))
    return StreamingResponse(stream, media_type="text/event-stream", headers=_SSE_HEADERS)


# --- operations ---------------------------------------------------------------------------------


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the feed has caught up and Kafka, the registry and the object store answer."""
    bridge: Bridge = request.app.state.bridge
    settings = bridge.settings

    def kafka() -> bool:
        return bridge.feed.caught_up.is_set() and bool(bridge.admin.list_topics(timeout=2).topics)

    async def registry() -> bool:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{settings.registry_url}/subjects")).status_code == 200

    checks: dict[str, bool] = {}
    for name, check in (
        ("kafka", lambda: run_in_threadpool(kafka)),
        ("registry", registry),
        ("object_store", lambda: run_in_threadpool(bridge.store.healthy)),
    ):
        try:
            checks[name] = bool(await check())
        except Exception:
            checks[name] = False
    if all(checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    down = ", ".join(name for name, ok in checks.items() if not ok)
    return problem_response(request, 503, "not_ready", f"not reachable or not caught up: {down}", checks=checks)


async def prometheus_metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def consumer_lag(request: Request) -> Response:
    require_operations(request, request.app.state.bridge.settings)
    return JSONResponse(request.app.state.bridge.lag.snapshot)


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi.SPEC)


async def dashboard(request: Request) -> Response:
    return FileResponse(DASHBOARD_DIR / "index.html", media_type="text/html")


async def root(request: Request) -> Response:
    return RedirectResponse("/dashboard")


_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}


class HttpMetrics:
    """Counts requests and times them (for SSE: until the stream opens), labelled by endpoint."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                endpoint = scope.get("endpoint")
                route = getattr(endpoint, "__name__", None) or ("static" if scope.get("root_path") else "unmatched")
                method = scope["method"] if scope["method"] in _METHODS else "other"  # bounded label values
                metrics.HTTP_REQUESTS.labels(method, route, str(message["status"])).inc()
                metrics.HTTP_SECONDS.labels(method, route).observe(time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, timed_send)


def routes() -> list[BaseRoute]:
    return [
        Route("/", root, include_in_schema=False),
        Route("/v1/documents", uploads.upload_document, methods=["POST"]),
        Route("/v1/documents", list_documents, methods=["GET"]),
        Route("/v1/uploads", uploads.create_upload, methods=["POST"]),
        Route("/v1/documents/{doc_id}", get_document, methods=["GET"]),
        Route("/v1/documents/{doc_id}/submit", uploads.submit_upload, methods=["POST"]),
        Route("/v1/documents/{doc_id}/events", document_events, methods=["GET"]),
        Route("/v1/documents/{doc_id}/pages/{page_no:int}", get_page, methods=["GET"]),
        Route("/v1/documents/{doc_id}/pages/{page_no:int}/image", get_page_image, methods=["GET"]),
        Route("/v1/events", tenant_events, methods=["GET"]),
        Route("/v1/lag", consumer_lag, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", prometheus_metrics, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/dashboard", dashboard, methods=["GET"]),
        Mount("/dashboard/static", StaticFiles(directory=DASHBOARD_DIR), name="dashboard-static"),
    ]


def create_app(
    settings: Settings, extra_routes: Sequence[BaseRoute] = (), extra_lifespans: Sequence[Lifespan] = ()
) -> Starlette:
    """The bridge app. ``extra_routes`` and ``extra_lifespans`` mount other connectors in the
    same process (the ClickHouse sink and its SQL endpoint)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        bridge = Bridge(settings)
        app.state.bridge = bridge
        await bridge.start()
        try:
            async with contextlib.AsyncExitStack() as stack:
                for extra in extra_lifespans:
                    await stack.enter_async_context(extra(app))
                yield
        finally:
            await run_in_threadpool(bridge.stop)

    check_exposure(settings)
    app = Starlette(routes=[*routes(), *extra_routes], exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)
    app.add_middleware(Guard, settings=settings)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(OriginCheck, settings=settings)
    app.add_middleware(HttpMetrics)
    return app


def serve(settings: Settings) -> None:
    """Run the bridge in the foreground (what ``pagestream up`` starts as a process), with the
    ClickHouse sink and its SQL endpoint: chDB lets one process own its data, so they live here."""
    import uvicorn

    from pagestream.connectors.clickhouse.http import ClickHouseService

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    clickhouse = ClickHouseService(settings)
    uvicorn.run(
        create_app(settings, clickhouse.routes, [clickhouse.lifespan]),
        host=settings.bridge_host,
        port=settings.bridge_port,
        log_level="info",
        timeout_graceful_shutdown=3,
    )
