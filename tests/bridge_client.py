"""Test helpers for the HTTP bridge: its URL, uploads, waiting for results, reading SSE streams."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
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
