"""HTTP errors as problem details (RFC 9457, ``application/problem+json``), never a stack trace.

The one shape of every HTTP error the project answers, the bridge's and the ClickHouse routes'
alike (which any Starlette app may host). Handlers raise ``Problem`` with a message that says what
was wrong and what is accepted, or answer with ``problem_response``; the exception handlers here
turn a ``Problem``, Starlette's own HTTP errors and any unexpected exception into that body.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Content too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    """An error answered to the client: status, a stable ``kind`` and a clear ``detail``."""

    def __init__(self, status: int, kind: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.extra = extra


def problem_response(
    request: Request, status: int, kind: str, detail: str, *, title: str | None = None, **extra: Any
) -> JSONResponse:
    """The problem document; ``title`` defaults to the status's, ``kind`` names the problem type."""
    body = {
        "type": f"urn:pagestream:problem:{kind}",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


async def on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(request, exc.status, exc.kind, exc.detail, **exc.extra)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = {
        404: f"no such endpoint: {request.url.path}; the API is described at /openapi.json",
        405: f"{request.method} is not allowed on {request.url.path}; see /openapi.json",
    }.get(exc.status_code, str(exc.detail))
    kind = {404: "no_such_endpoint", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    response = problem_response(request, exc.status_code, kind, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(
        request, 500, "internal_error", "the bridge failed to answer this request; its log has the details"
    )


EXCEPTION_HANDLERS = {Problem: on_problem, HTTPException: on_http_error, Exception: on_unexpected}
