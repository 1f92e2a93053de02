"""Who is asking: API keys, per-tenant rate limits and the audit record of every /v1 request.

``Guard`` wraps the whole app, so no /v1 endpoint can be reached around it. With
``PAGESTREAM_AUTH=on`` a request carries its key as ``Authorization: Bearer``, ``X-API-Key``,
or, for the dashboard's EventSource and images (which cannot set headers), the same-site cookie
``pagestream_key``; the tenant is the key's, never a form field or parameter. A missing or unknown
key is a 401, a tenant's requests beyond its token bucket a 429 with ``Retry-After``. With
``PAGESTREAM_AUTH=off`` (local use, loopback only) there is no caller and no limit, and
``?tenant=`` stays a filter. Every answered /v1 request, refused ones included, becomes an
AuditEvent.

Handlers scope their reads with ``tenant_scope`` and ``check_owner``: another tenant's document
answers exactly like an unknown one (404), so its existence does not leak.
"""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pagestream.connectors.bridge.origin import is_loopback
from pagestream.connectors.problems import Problem, problem_response
from pagestream.connectors.tenants import Caller, TenantStore, is_operator
from pagestream.streams.errors import ServiceError
from pagestream.streams.settings import Settings

COOKIE = "pagestream_key"
# Operational endpoints polled every few seconds: authenticated, but not audited.
_NOT_AUDITED = {"consumer_lag", "sink_status"}


def check_exposure(settings: Settings) -> None:
    """Refuse to serve without authentication anywhere but on a loopback address."""
    if settings.auth == "on":
        return
    host = settings.bridge_host
    if not is_loopback(host):
        raise ServiceError(
            f"the bridge would listen on {host} without authentication: set PAGESTREAM_AUTH=on (and give "
            "tenants keys with 'pagestream tenant add NAME'), or PAGESTREAM_BRIDGE_HOST=127.0.0.1"
        )


def presented_key(request: Request) -> str | None:
    """The API key a request carries, if any."""
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return request.headers.get("x-api-key") or request.cookies.get(COOKIE) or None


def caller(request: Request) -> Caller | None:
    """The authenticated caller, or None when authentication is off."""
    return request.scope.get("state", {}).get("caller")


def tenant_scope(request: Request, asked: str | None) -> str | None:
    """The tenant a request may see or act for: the key's (naming another one is a 403), or
    without authentication the one asked for (None: every tenant)."""
    who = caller(request)
    if who is None:
        return asked
    if asked and asked != who.tenant:
        raise Problem(
            403,
            "forbidden_tenant",
            f"this API key belongs to tenant {who.tenant!r} and cannot act for tenant {asked[:200]!r}; "
            "leave the tenant out (it comes from the key) or use that tenant's key",
        )
    return who.tenant


def owns(request: Request, tenant: str) -> bool:
    """Whether the caller may read something of ``tenant``."""
    who = caller(request)
    return who is None or who.tenant == tenant


def sees_operations(request: Request, settings: Settings) -> bool:
    """Whether the caller may read the global operational views (sink state, consumer lag): they
    show every tenant's volumes, so with auth on only ``PAGESTREAM_OPERATOR_TENANTS`` may."""
    return is_operator(caller(request), settings.operator_tenants)


def require_operations(request: Request, settings: Settings) -> None:
    if not sees_operations(request, settings):
        raise Problem(
            403,
            "operators_only",
            "this view shows every tenant's volumes: it answers to the keys of operator tenants only "
            "(PAGESTREAM_OPERATOR_TENANTS)",
        )


class KeyChecks:
    """API key checks that a flood of made-up keys cannot turn into a denial of service: a key
    checked before is answered from memory; a new one costs a scrypt hash (~50 ms) on one of
    ``workers`` threads of its own, so made-up keys use at most that much CPU and never take the
    threads that serve pages, while a valid key is always checked (later, never refused)."""

    def __init__(self, tenants: TenantStore, workers: int) -> None:
        self.tenants = tenants
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="keycheck")

    async def check(self, key: str) -> Caller | None:
        known = self.tenants.cached(key)
        if known is not None:
            return known
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.tenants.authenticate, key)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def note_document(request: Request, doc_id: str) -> None:
    """Name the document a request created, for its audit event."""
    request.scope.setdefault("state", {})["audit_doc_id"] = doc_id


class Guard:
    """ASGI middleware: authenticate, rate-limit and audit every /v1 request."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        bridge = scope["app"].state.bridge
        request = Request(scope)
        state = scope.setdefault("state", {})
        refusal = None
        client = scope.get("client")
        if self.settings.auth == "on":
            key = presented_key(request)
            address = client[0] if client else "unknown"
            who = await bridge.key_checks.check(key) if key else None
            state["caller"] = who
            if key is None:
                refusal = problem_response(
                    request,
                    401,
                    "missing_api_key",
                    "this bridge requires an API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
                    "(keys come from 'pagestream tenant add NAME')",
                )
            elif who is None and (backoff := bridge.failures.take(address)) > 0:
                refusal = problem_response(
                    request,
                    429,
                    "too_many_failed_keys",
                    f"{address} sent more than {self.settings.auth_failures_burst} unknown API keys; "
                    "retry after the Retry-After seconds (a valid key is always accepted)",
                )
                refusal.headers["Retry-After"] = str(max(1, math.ceil(backoff)))
            elif who is None:
                refusal = problem_response(
                    request, 401, "unknown_api_key", "the API key is not known to this bridge (revoked, mistyped, or "
                    "issued by another deployment); ask for a key with 'pagestream tenant add NAME'"
                )  # fmt: skip
            else:
                wait = bridge.limiter.take(who.tenant)
                if wait > 0:
                    refusal = problem_response(
                        request,
                        429,
                        "rate_limited",
                        f"tenant {who.tenant!r} made more than {self.settings.rate_limit_burst} requests at "
                        f"{self.settings.rate_limit_per_second:g} per second; retry after the Retry-After seconds",
                    )
                    refusal.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            if refusal is not None and refusal.status_code == 401:
                refusal.headers["WWW-Authenticate"] = "Bearer"

        async def audited_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                endpoint = scope.get("endpoint")
                action = getattr(endpoint, "__name__", None) or "unmatched"
                if action not in _NOT_AUDITED:
                    bridge.audit.record(
                        state.get("caller"),
                        action if refusal is None else "refused",
                        doc_id=state.get("audit_doc_id") or scope.get("path_params", {}).get("doc_id"),
                        method=scope["method"],
                        path=scope["path"],
                        status=message["status"],
                        client=f"{client[0]}:{client[1]}" if client else None,
                    )
            await send(message)

        if refusal is not None:
            await refusal(scope, receive, audited_send)
            return
        await self.app(scope, receive, audited_send)
