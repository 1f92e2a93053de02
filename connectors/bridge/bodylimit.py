"""Request bodies have a size limit, enforced while they are read: a 200 MB JSON body is refused
with 413 after its first megabyte, not buffered whole before anything looks at it.

A multipart document upload (``POST /v1/documents``) may carry ``PAGESTREAM_MAX_UPLOAD_BYTES``
plus room for its boundaries and form fields; every other body (JSON: SQL, presigned uploads,
submit) ``PAGESTREAM_MAX_REQUEST_BODY_BYTES``. A declared ``Content-Length`` over the limit is
refused before reading; a chunked or lying body is cut off when its bytes pass the limit.
"""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pagestream.connectors.problems import Problem, problem_response
from pagestream.streams.settings import Settings

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and headers around the file and the few form fields


def is_upload(method: str, path: str) -> bool:
    """Whether a request is a multipart document upload (the one body that may be large)."""
    return method == "POST" and path.rstrip("/") == "/v1/documents"


def upload_too_large(limit: int, size: int | None = None) -> Problem:
    got = f"{size} bytes" if size is not None else "more"
    return Problem(
        413, "upload_too_large", f"the document has {got}; the limit is {limit} bytes (PAGESTREAM_MAX_UPLOAD_BYTES)"
    )


def body_too_large(limit: int, size: int | None = None) -> Problem:
    got = f"{size} bytes" if size is not None else "more bytes"
    return Problem(
        413,
        "body_too_large",
        f"the request body has {got}; this endpoint accepts at most {limit} bytes "
        "(PAGESTREAM_MAX_REQUEST_BODY_BYTES); documents go to POST /v1/documents or POST /v1/uploads",
    )


class BodyLimit:
    """ASGI middleware: 413 for a body over its route's limit, declared or read."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if is_upload(scope["method"], scope["path"]):
            limit = self.settings.max_upload_bytes + MULTIPART_OVERHEAD
            refusal = partial(upload_too_large, self.settings.max_upload_bytes)
        else:
            limit = self.settings.max_request_body_bytes
            refusal = partial(body_too_large, limit)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            problem = refusal(int(declared))
            response = problem_response(Request(scope), problem.status, problem.kind, problem.detail)
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise refusal()
            return message

        await self.app(scope, limited_receive, send)
