"""Who may talk to the bridge from a browser: no other site, and with authentication off, nobody
who reached it by a name other than a loopback one.

With ``PAGESTREAM_AUTH=off`` the bridge trusts whoever can connect, which is meant to be the
local user only. A web page on another site can still make the local browser send requests to
127.0.0.1 (a cross-site form or ``text/plain`` POST needs no CORS preflight), and DNS rebinding
makes ``attacker.example`` resolve to 127.0.0.1, so the page's own scripts read the answers.
So, with auth off, a request must name a loopback host (``Host: localhost``, ``127.0.0.1``,
``[::1]`` or another loopback address, any port). In both modes a request that changes
something (any method but GET, HEAD, OPTIONS) and comes from a page (``Origin``, or
``Sec-Fetch-Site: cross-site``) must come from the bridge's own origin.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from pagestream.connectors.problems import problem_response
from pagestream.streams.settings import Settings

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _hostname(host_header: str) -> str:
    """The name in a ``Host`` header or an origin's netloc, without port or brackets."""
    return (urlsplit(f"//{host_header}").hostname or "").lower()


def is_loopback(name: str) -> bool:
    """Whether a host name or address can only mean this machine: ``localhost`` or a loopback IP
    (with auth off the bridge listens on nothing else: ``auth.check_exposure``)."""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class OriginCheck:
    """ASGI middleware: 403 for a non-loopback Host with auth off, and for cross-site writes."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        why = self.refusal(request)
        if why is not None:
            await problem_response(request, 403, why[0], why[1])(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, request: Request) -> tuple[str, str] | None:
        """(kind, detail) of the refusal, or None when the request may go ahead."""
        host = request.headers.get("host", "")
        if self.settings.auth == "off" and not is_loopback(_hostname(host)):
            return (
                "host_not_allowed",
                f"this bridge runs without authentication and answers to loopback names only, not {host[:100]!r}; "
                "use http://127.0.0.1 or http://localhost, or turn authentication on (PAGESTREAM_AUTH=on)",
            )
        if request.method in _SAFE_METHODS:
            return None
        origin = request.headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin)
            if origin == "null" or parts.netloc.lower() != host.lower():
                return (
                    "cross_site_request",
                    f"requests that change something are accepted from this bridge's own pages only, not from "
                    f"{origin[:100]!r}; call the API from a program (no Origin header) or from the dashboard",
                )
        elif request.headers.get("sec-fetch-site") == "cross-site":
            return "cross_site_request", "cross-site requests that change something are not accepted"
        return None
