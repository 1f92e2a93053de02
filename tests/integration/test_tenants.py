"""Tenants on the real stack: a bridge with PAGESTREAM_AUTH=on (and the ClickHouse sink with its
SQL endpoint, as `pagestream up` runs it) serves two tenants with keys from `pagestream tenant
add`. Tenant A cannot read tenant B's document, pages, events, SSE streams, rows through SQL or
files through presigned URLs; unknown keys and foreign tenants are refused; limits answer 413
and 429; every request lands on the audit topic; and fuzzed uploads never get a 5xx."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition

from pagestream.connectors.bridge.app import create_app
from pagestream.streams import topics
from tests.bridge_client import add_tenant, read_sse, running_bridge
from tests.conftest import read_topic, text_image

pytestmark = pytest.mark.kafka
PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"urn:pagestream:problem:{kind}" and body["detail"] and "Traceback" not in response.text
    return body


@pytest.fixture(scope="module")
def secured(stack, chdb_state: Path, tmp_path_factory: pytest.TempPathFactory):
    """The bridge with auth on, on a real port, with its own sink into the process's chDB."""
    state = tmp_path_factory.mktemp("tenants-state")
    settings = stack.model_copy(
        update={
            "auth": "on",
            "state_dir": state,
            "bridge_port": stack.bridge_port + 1,
            "rate_limit_per_second": 1000.0,
            "clickhouse_url": f"chdb://{(chdb_state / 'clickhouse').resolve()}",
            "clickhouse_database": f"t_{uuid.uuid4().hex[:12]}",
            "sink_group": f"tenants-test-{uuid.uuid4().hex}",
            "sink_batch_seconds": 0.2,
        }
    )
    keys = {name: add_tenant(state, name) for name in ("iso-a", "iso-b")}
    listed = subprocess.run(
        [sys.executable, "-m", "pagestream.streams.cli", "tenant", "list", "--json"],
        env={**os.environ, "PAGESTREAM_STATE_DIR": str(state)}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert [t["tenant"] for t in json.loads(listed.stdout)] == ["iso-a", "iso-b"]
    assert keys["iso-a"]["api_key"] not in (state / "tenants.json").read_text()
    with running_bridge(settings):
        yield settings, keys


def auth(keys: dict, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[name]['api_key']}"}


def stream_cursor(settings) -> str:
    """A tenant-stream cursor at the current end of every partition (resume from now)."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": uuid.uuid4().hex})
    try:
        parts = []
        for spec in (topics.DOCS_PROGRESS, topics.DOCS_COMPLETED):
            for partition in consumer.list_topics(spec.name, timeout=10).topics[spec.name].partitions:
                high = consumer.get_watermark_offsets(TopicPartition(spec.name, partition), timeout=10)[1]
                parts.append(f"{spec.name}:{partition}:{high - 1}")
        return ",".join(parts)
    finally:
        consumer.close()


def wait_until(check, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError("condition not met in time")


def test_tenant_a_cannot_read_tenant_b(secured) -> None:
    settings, keys = secured
    base = settings.bridge_url
    a, b = auth(keys, "iso-a"), auth(keys, "iso-b")
    cursor = stream_cursor(settings)
    docs = {}
    for name, headers in (("iso-a", a), ("iso-b", b)):
        png = text_image([f"Tenant {name} private letter", "Account 4711"])
        response = httpx.post(f"{base}/v1/documents", files={"file": ("p.png", png)}, headers=headers, timeout=60)
        assert response.status_code == 202, response.text
        assert response.json()["tenant"] == name  # from the key: no form field
        docs[name] = response.json()["doc_id"]
    mine, theirs = docs["iso-a"], docs["iso-b"]
    for name, headers in (("iso-a", a), ("iso-b", b)):
        url = f"{base}/v1/documents/{docs[name]}"
        wait_until(lambda url=url, h=headers: httpx.get(url, headers=h).json().get("result"))

    # Status, result and pages: B's document is unknown to A (not forbidden: its existence stays hidden).
    assert httpx.get(f"{base}/v1/documents/{mine}", headers=a).json()["tenant"] == "iso-a"
    problem(httpx.get(f"{base}/v1/documents/{theirs}", headers=a), 404, "unknown_document")
    assert httpx.get(f"{base}/v1/documents/{mine}/pages/1", headers=a).status_code == 200
    problem(httpx.get(f"{base}/v1/documents/{theirs}/pages/1", headers=a), 404, "unknown_document")
    problem(httpx.get(f"{base}/v1/documents/{theirs}/pages/1/image", headers=a), 404, "unknown_document")
    listed = {d["doc_id"] for d in httpx.get(f"{base}/v1/documents", headers=a).json()["documents"]}
    assert mine in listed and theirs not in listed
    problem(httpx.get(f"{base}/v1/documents", params={"tenant": "iso-b"}, headers=a), 403, "forbidden_tenant")
    form = httpx.post(f"{base}/v1/documents", files={"file": ("p.png", text_image(["x"]))}, data={"tenant": "iso-b"},
                      headers=a)  # fmt: skip
    problem(form, 403, "forbidden_tenant")

    # SSE: B's document stream is unknown to A; A's tenant stream carries A's events only.
    status, events = read_sse(f"{base}/v1/documents/{theirs}/events", headers=a)
    assert status == 404 and events[0]["problem"]["status"] == 404
    status, events = read_sse(f"{base}/v1/documents/{mine}/events", headers=a)
    assert status == 200 and events[-1]["event"] == "completed"
    status, events = read_sse(
        f"{base}/v1/events",
        headers={**a, "Last-Event-ID": cursor},
        stop=lambda seen: any(e["event"] == "completed" and e["data"]["doc_id"] == mine for e in seen),
        timeout=60,
    )
    assert status == 200 and {e["data"]["tenant"] for e in events} == {"iso-a"}
    assert theirs not in {e["data"]["doc_id"] for e in events}
    problem(httpx.get(f"{base}/v1/events", params={"tenant": "iso-b"}, headers=a), 403, "forbidden_tenant")

    # SQL: the same query sees each tenant's rows only; reaching around the filters is refused.
    def seen_by(headers: dict) -> set[str]:
        body = httpx.post(f"{base}/v1/sql", json={"query": "SELECT doc_id FROM documents FINAL"}, headers=headers)
        return {row[0] for row in body.json().get("rows", [])} if body.status_code == 200 else set()

    wait_until(lambda: mine in seen_by(a) and theirs in seen_by(b))
    assert theirs not in seen_by(a) and mine not in seen_by(b)
    for query in ("SELECT * FROM merge(currentDatabase(), '^documents$')", "SELECT query FROM system.processes"):
        problem(httpx.post(f"{base}/v1/sql", json={"query": query}, headers=a), 400, "sql-not-allowed")

    # Presigned downloads: only for the caller's own documents, and they expire.
    problem_b = httpx.get(f"{base}/v1/documents/{theirs}/files", headers=a)
    assert problem_b.status_code == 404 and problem_b.json()["title"] == "Unknown document"
    files = httpx.get(f"{base}/v1/documents/{mine}/files", headers=a).json()
    assert files["tenant"] == "iso-a" and f"iso-a%2F{mine}" in files["files"]["document.json"].replace("/", "%2F")
    assert "X-Amz-Expires=3600" in files["files"]["document.json"]
    assert httpx.get(files["files"]["document.json"]).json()["doc_id"] == mine

    # No key, or a key nobody issued: 401.
    problem(httpx.get(f"{base}/v1/documents/{mine}"), 401, "missing_api_key")
    bogus = {"X-API-Key": "psk_0123456789ab_" + "x" * 43}
    problem(httpx.get(f"{base}/v1/documents/{mine}", headers=bogus), 401, "unknown_api_key")
    problem(httpx.get(f"{base}/v1/events", headers=bogus), 401, "unknown_api_key")

    # The audit topic: who submitted, who read, and who was turned away.
    key_a = keys["iso-a"]["key_id"]
    found = read_topic(settings, topics.AUDIT_EVENTS, lambda r: r["key_id"] == key_a and r["doc_id"] == mine
                       and r["action"] == "upload_document")  # fmt: skip
    assert found and found[0]["tenant"] == "iso-a" and found[0]["status"] == 202 and found[0]["_key"] == b"iso-a"
    refused = read_topic(settings, topics.AUDIT_EVENTS, lambda r: r["key_id"] == key_a and r["doc_id"] == theirs
                         and r["action"] == "get_document")  # fmt: skip
    assert refused and refused[0]["status"] == 404
    unknown = read_topic(settings, topics.AUDIT_EVENTS, lambda r: r["status"] == 401 and r["path"] == "/v1/events")
    assert unknown and unknown[0]["tenant"] is None and unknown[0]["action"] == "refused"


def test_upload_fuzz_never_gets_a_5xx(secured) -> None:
    """Random bodies and content types, and multipart bodies with random parts, for
    PAGESTREAM_FUZZ_SECONDS: every answer is below 500, and an error is problem+json."""
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st

    settings, keys = secured
    url = f"{settings.bridge_url}/v1/documents"
    deadline: list[float] = []  # set by the first example
    part = st.tuples(
        st.sampled_from([b"file", b"tenant", b"render_dpi", b"ocr_engine", b"\xff\xfe", b'"']),
        st.one_of(st.none(), st.binary(max_size=20)),
        st.binary(max_size=400),
    ).map(lambda p: b"--B\r\nContent-Disposition: form-data; name=" + p[0]
          + (b"; filename=" + p[1] if p[1] is not None else b"") + b"\r\n\r\n" + p[2] + b"\r\n")  # fmt: skip
    body = st.one_of(st.binary(max_size=600), st.lists(part, max_size=4).map(lambda ps: b"".join(ps) + b"--B--\r\n"))
    content_type = st.one_of(
        st.sampled_from(["multipart/form-data; boundary=B", "multipart/form-data", "application/pdf", ""]),
        st.text(max_size=40).map(lambda t: "multipart/form-data; boundary=" + t),
    )
    statuses: list[int] = []
    with httpx.Client(timeout=30, headers=auth(keys, "iso-a")) as http:

        @hsettings(max_examples=int(settings.fuzz_seconds * 100) + 20, deadline=None,
                   suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(body=body, content_type=content_type)
        def post(body: bytes, content_type: str) -> None:
            deadline[:] = deadline or [time.monotonic() + settings.fuzz_seconds]
            if time.monotonic() > deadline[0]:
                return
            try:
                headers = {"content-type": content_type.encode("ascii", "replace").decode()}
                response = http.post(url, content=body, headers=headers)
            except httpx.LocalProtocolError:
                return  # a header httpx itself refuses to send
            statuses.append(response.status_code)
            assert response.status_code < 500, (body[:200], content_type, response.text)
            if response.status_code >= 400:
                assert response.headers["content-type"] == PROBLEM and response.json()["detail"]

        post()
    assert len(statuses) >= 10 and {400, 415} & set(statuses)


def test_rate_and_size_limits_per_tenant(stack, tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    limits = {"rate_limit_burst": 3, "rate_limit_per_second": 0.2, "max_upload_bytes": 1000,
              "auth_failures_burst": 2, "auth_failures_per_second": 0.1}  # fmt: skip
    small = stack.model_copy(update={"auth": "on", "state_dir": tmp_path, **limits})
    slow, other = (add_tenant(tmp_path, name) for name in ("slow", "other"))
    with TestClient(create_app(small), base_url="http://127.0.0.1") as client:
        headers = {"X-API-Key": slow["api_key"]}
        assert [client.get("/v1/documents", headers=headers).status_code for _ in range(3)] == [200] * 3
        limited = client.get("/v1/documents", headers=headers)
        problem(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["Retry-After"]) <= 5
        big = client.post("/v1/documents", files={"file": ("big.pdf", b"%PDF-1.7\n" + b"0" * 80_000)},
                          headers={"X-API-Key": other["api_key"]})  # fmt: skip
        problem(big, 413, "upload_too_large")  # the other tenant's bucket is its own
        # Guessing keys: after two unknown ones the address is told to wait; a valid key from the
        # same address (behind the same proxy) still goes through.
        bogus = {"X-API-Key": "psk_0123456789ab_" + "x" * 43}
        assert [client.get("/v1/documents", headers=bogus).status_code for _ in range(2)] == [401, 401]
        guessing = client.get("/v1/documents", headers=bogus)
        problem(guessing, 429, "too_many_failed_keys")
        assert int(guessing.headers["Retry-After"]) >= 1
        innocent = client.get("/v1/documents", headers={"X-API-Key": other["api_key"]})
        assert innocent.status_code == 200, innocent.text
