"""Test helpers for the HTTP bridge: its URL, uploads, waiting for results, reading SSE streams."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx


def upload(settings, path: Path, tenant: str = "default", **fields: str) -> dict:
    with path.open("rb") as fh:
        response = httpx.post(
            f"{settings.bridge_url}/v1/documents",
            files={"file": (path.name, fh, "application/pdf")},
            data={"tenant": tenant, **fields},
            timeout=60,
        )
    assert response.status_code == 202, response.text
    return response.json()


def wait_for_result(settings, doc_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(f"{settings.bridge_url}/v1/documents/{doc_id}", timeout=10).json()
        if body.get("result"):
            return body
        time.sleep(0.5)
    raise TimeoutError(f"no result for {doc_id} within {timeout} s")


def read_sse(
    url: str,
    headers: dict[str, str] | None = None,
    stop: Callable[[list[dict[str, Any]]], bool] = lambda events: False,
    timeout: float = 300,
) -> tuple[int, list[dict[str, Any]]]:
    """Status and events of an SSE stream, read until it ends or ``stop(events)`` holds (then the
    connection is dropped, as a client that goes away would)."""
    events: list[dict[str, Any]] = []
    with httpx.stream("GET", url, headers=headers or {}, timeout=httpx.Timeout(timeout, connect=10)) as response:
        if response.status_code != 200:
            response.read()
            return response.status_code, [{"problem": response.json()}] if response.content else []
        assert response.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, Any] = {}
        for line in response.iter_lines():
            if line == "":
                if "data" in fields:
                    fields["data"] = json.loads(fields["data"])
                    events.append(fields)
                    if stop(events):
                        break
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
    return 200, events


@contextlib.contextmanager
def running_bridge(settings) -> Iterator[None]:
    """The bridge as `pagestream up` runs it (with the ClickHouse sink and its SQL endpoint) on
    ``settings.bridge_port`` in this process, until the block ends."""
    import uvicorn

    from pagestream.connectors.bridge.app import create_app
    from pagestream.connectors.clickhouse.http import ClickHouseService

    clickhouse = ClickHouseService(settings)
    app = create_app(settings, clickhouse.routes, [clickhouse.lifespan])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.bridge_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(30)


def add_tenant(state_dir: Path, name: str) -> dict:
    """`pagestream tenant add NAME --json`, as an operator runs it."""
    out = subprocess.run(
        [sys.executable, "-m", "pagestream.streams.cli", "tenant", "add", name, "--json"],
        env={**os.environ, "PAGESTREAM_STATE_DIR": str(state_dir)},
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return json.loads(out.stdout)
