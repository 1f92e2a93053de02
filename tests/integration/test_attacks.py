"""Attacks on the running bridge (the real app on a real port, with its ClickHouse sink and SQL
endpoint in the same process, as `pagestream up` runs it), with authentication on and off: each
is one of the findings of the security review and must be refused.

Tenant ``atk-b`` owns a completed document whose page text holds a marker; tenant ``atk-a``
attacks. No answer may contain that marker, a server file, or a key hash."""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from pagestream.connectors.bridge import openapi
from tests.bridge_client import add_tenant, running_bridge
from tests.conftest import process_rss_bytes, text_image

pytestmark = pytest.mark.kafka
MARKER = "Zanzibar Quokka Ledger"  # the victim's page text
HOSTNAME = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "\x00never"


def _bridge_settings(stack, chdb_state: Path, state: Path, auth: str, port_shift: int):
    return stack.model_copy(
        update={
            "auth": auth,
            "state_dir": state,
            "bridge_port": stack.bridge_port + port_shift,
            "rate_limit_per_second": 1000.0,
            "rate_limit_burst": 10_000,
            "operator_tenants": ["atk-ops"],
            "clickhouse_url": f"chdb://{(chdb_state / 'clickhouse').resolve()}",
            "clickhouse_database": f"t_{uuid.uuid4().hex[:12]}",
            "sink_group": f"attacks-{auth}-{uuid.uuid4().hex}",
            "sink_batch_seconds": 0.2,
        }
    )


@pytest.fixture(scope="module")
def secured(stack, chdb_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """Auth on, two tenants and an operator; the victim's document completed and in ClickHouse."""
    state = tmp_path_factory.mktemp("attacks-on")
    settings = _bridge_settings(stack, chdb_state, state, "on", 2)
    keys = {name: {"Authorization": f"Bearer {add_tenant(state, name)['api_key']}"} for name in ("atk-a", "atk-b")}
    keys["atk-ops"] = {"Authorization": f"Bearer {add_tenant(state, 'atk-ops')['api_key']}"}
    with running_bridge(settings):
        base = settings.bridge_url
        png = text_image([MARKER, "Account statement page"])
        accepted = httpx.post(
            f"{base}/v1/documents", files={"file": ("victim.png", png)}, headers=keys["atk-b"], timeout=60
        )
        assert accepted.status_code == 202, accepted.text
        doc_id = accepted.json()["doc_id"]
        deadline = time.monotonic() + 300
        query = {"query": f"SELECT count() FROM pages FINAL WHERE doc_id = '{doc_id}'"}
        while time.monotonic() < deadline:
            answer = httpx.post(f"{base}/v1/sql", json=query, headers=keys["atk-b"], timeout=30)
            if answer.status_code == 200 and answer.json()["rows"] == [[1]]:
                break
            time.sleep(0.5)
        else:
            raise TimeoutError("the victim's page never reached ClickHouse")
        yield settings, keys, doc_id


@pytest.fixture(scope="module")
def local(stack, chdb_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Auth off (the local default), on loopback."""
    settings = _bridge_settings(stack, chdb_state, tmp_path_factory.mktemp("attacks-off"), "off", 3)
    with running_bridge(settings):
        yield settings


def assert_no_leak(response: httpx.Response, state: Path) -> None:
    text = response.text
    assert MARKER not in text and HOSTNAME not in text and "PAGESTREAM_S3_SECRET_KEY" not in text
    if (state / "tenants.json").exists():
        stored = json.loads((state / "tenants.json").read_text())["keys"].values()
        assert not any(entry["salt"] in text or entry["scrypt"] in text for entry in stored)


MULTI_STATEMENTS = [
    "SELECT 'x';SELECT file('/etc/hostname')",
    "SELECT 'x';SELECT concat(tenant,':',doc_id,':',text) FROM merge('{db}','^pages$')",
    "SELECT 'x';SELECT file('{state}/tenants.json')",
    "SELECT 'x';SELECT file('/proc/self/environ')",
    "/* /* */ SELECT */ SHOW PROCESSLIST",
    "/* /* */ SELECT */ SHOW CREATE TABLE pages",
    "/* /* */ SELECT */ SHOW DATABASES",
    "/* /* */ SELECT */ EXISTS pages",
    "/* /* */ SELECT */ KILL QUERY WHERE 1",
    "SELECT text FROM merge('{db}', '^pages$')",
]


@pytest.mark.parametrize("mode", ["on", "off"])
def test_multi_statements_nested_comments_and_table_functions_are_refused(secured, local, mode: str) -> None:
    settings, keys, _ = secured
    target, headers = (settings, keys["atk-a"]) if mode == "on" else (local, {})
    for template in MULTI_STATEMENTS:
        query = template.format(db=target.clickhouse_database, state=target.state_dir)
        answer = httpx.post(f"{target.bridge_url}/v1/sql", json={"query": query}, headers=headers, timeout=30)
        assert answer.status_code == 400, (query, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert_no_leak(answer, target.state_dir)
    # The victim's own key sees the marker, so the check above could have failed.
    mine = httpx.post(
        f"{settings.bridge_url}/v1/sql", json={"query": "SELECT text FROM pages FINAL"}, headers=keys["atk-b"]
    )
    assert MARKER in mine.text


def test_a_memory_bomb_fails_on_a_limit(secured) -> None:
    settings, keys, _ = secured
    before = process_rss_bytes()
    bomb = {"query": "SELECT length(groupArray(x)) FROM (SELECT arrayJoin(range(150000000)) AS x)"}
    answer = httpx.post(f"{settings.bridge_url}/v1/sql", json=bomb, headers=keys["atk-a"], timeout=60)
    assert answer.status_code == 400 and "MEMORY_LIMIT_EXCEEDED" in answer.json()["detail"]
    assert process_rss_bytes() - before < 300 * 1024 * 1024


def test_one_tenants_slow_queries_do_not_delay_another_tenants_reads(secured) -> None:
    settings, keys, doc_id = secured
    base = settings.bridge_url
    page = f"{base}/v1/documents/{doc_id}/pages/1"

    def timed(call) -> float:
        started = time.monotonic()
        response = call()
        assert response.status_code == 200, response.text
        return time.monotonic() - started

    baseline = min(timed(lambda: httpx.get(page, headers=keys["atk-b"], timeout=30)) for _ in range(3))
    sql_baseline = min(
        timed(lambda: httpx.post(f"{base}/v1/sql", json={"query": "SELECT 1"}, headers=keys["atk-b"], timeout=30))
        for _ in range(3)
    )
    statuses: list[int] = []

    def sleeper() -> None:
        answer = httpx.post(f"{base}/v1/sql", json={"query": "SELECT sleep(3)"}, headers=keys["atk-a"], timeout=120)
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=sleeper) for _ in range(50)]
    for thread in threads:
        thread.start()
    refused = 50 - 1 - settings.sql_max_waiting  # atk-a: one query runs, eight wait, the rest are told 429
    deadline = time.monotonic() + 30
    while len(statuses) < refused and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(statuses) == refused and set(statuses) == {429}  # nine sleeps still running or queued
    read = statistics.median(timed(lambda: httpx.get(page, headers=keys["atk-b"], timeout=30)) for _ in range(3))
    sql = statistics.median(
        timed(lambda: httpx.post(f"{base}/v1/sql", json={"query": "SELECT 1"}, headers=keys["atk-b"], timeout=30))
        for _ in range(3)
    )
    for thread in threads:
        thread.join(120)
    assert read - baseline < 0.5, (read, baseline)
    assert sql - sql_baseline < 0.5, (sql, sql_baseline)
    assert statuses.count(200) == 1 + settings.sql_max_waiting


@pytest.mark.parametrize("path", ["/v1/sql", "/v1/uploads", "/v1/documents/whatever/submit"])
def test_large_bodies_are_refused_while_reading(local, path: str) -> None:
    """(Multipart uploads over their own limit: tests/integration/test_bridge.py.)"""
    url = f"{local.bridge_url}{path}"
    body = b'{"query": "' + b"x" * (local.max_request_body_bytes + 10) + b'"}'
    declared = httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=60)
    assert declared.status_code == 413 and declared.json()["type"].endswith("body_too_large"), declared.text
    before = process_rss_bytes()

    def chunks() -> Iterator[bytes]:  # 200 MB without a Content-Length: cut off, never buffered whole
        chunk = b"x" * (1 << 20)
        for _ in range(200):
            yield chunk

    try:
        chunked = httpx.post(url, content=chunks(), headers={"content-type": "application/json"}, timeout=60)
        assert chunked.status_code == 413
    except httpx.TransportError:
        pass  # the server answered 413 and closed while the client was still sending
    assert process_rss_bytes() - before < 100 * 1024 * 1024


def test_with_auth_off_only_loopback_hosts_and_same_origin_writes(local) -> None:
    base = local.bridge_url
    query = b'{"query": "SELECT 1"}'
    rebound = httpx.post(f"{base}/v1/sql", content=query, headers={"Host": "attacker.example:8000"})
    assert rebound.status_code == 403 and rebound.json()["type"].endswith("host_not_allowed")
    assert httpx.get(f"{base}/v1/documents", headers={"Host": "attacker.example"}).status_code == 403
    cross_site = httpx.post(
        f"{base}/v1/sql", content=query, headers={"Content-Type": "text/plain", "Origin": "http://attacker.example"}
    )
    assert cross_site.status_code == 403 and cross_site.json()["type"].endswith("cross_site_request")
    upload = httpx.post(
        f"{base}/v1/documents",
        files={"file": ("p.png", text_image(["x"]))},
        headers={"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert upload.status_code == 403
    fetch_meta = httpx.post(f"{base}/v1/uploads", json={}, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch_meta.status_code == 403
    port = local.bridge_port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        same = httpx.post(f"{base}/v1/sql", content=query, headers={"Host": host, "Origin": f"http://{host}"})
        assert same.status_code == 200, same.text
    assert httpx.post(f"{base}/v1/sql", json={"query": "SELECT 1"}).status_code == 200  # a program: no Origin


def test_small_holes(secured, local) -> None:
    settings, keys, _ = secured
    # Metric labels stay bounded whatever methods are sent.
    for n in range(30):
        httpx.request(f"XMETHOD{n}", f"{local.bridge_url}/v1/documents")
    exposition = httpx.get(f"{local.bridge_url}/metrics").text
    assert "XMETHOD" not in exposition
    # Tenant and doc ids are whole-string checked.
    bad = httpx.post(
        f"{local.bridge_url}/v1/documents", files={"file": ("p.png", text_image(["x"]))}, data={"tenant": "alpha\n"}
    )
    assert bad.status_code == 400 and bad.json()["type"].endswith("bad_tenant")
    long = httpx.post(f"{local.bridge_url}/v1/uploads", json={"tenant": "a" * 201})
    assert long.status_code == 400
    # HTML that quotes a PDF header is not a PDF.
    html = b"<html><body>" + b"%PDF-1.7 " * 3 + b"</body></html>"
    assert httpx.post(f"{local.bridge_url}/v1/documents", files={"file": ("x.pdf", html)}).status_code == 415
    # Global volumes are for operators.
    for path in ("/v1/sink", "/v1/lag"):
        assert httpx.get(f"{settings.bridge_url}{path}", headers=keys["atk-a"]).status_code == 403
        assert httpx.get(f"{settings.bridge_url}{path}", headers=keys["atk-ops"]).status_code == 200
    # A presigned upload grant has a size range the object store enforces, and expires.
    grant = httpx.post(f"{settings.bridge_url}/v1/uploads", json={}, headers=keys["atk-a"]).json()
    assert grant["method"] == "POST" and "policy" in grant["fields"]


# --- schemathesis against the bridge's own OpenAPI description -----------------------------------

SCHEMA = schemathesis.openapi.from_dict(openapi.SPEC).exclude(path_regex=r"events$")  # SSE streams never end


def _no_server_error_nor_leak(case, target, headers: dict[str, str]) -> None:
    response = case.call(base_url=target.bridge_url, headers=headers, timeout=30)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    assert MARKER not in response.text and HOSTNAME not in response.text and '"scrypt"' not in response.text


@SCHEMA.parametrize()
@hypothesis_settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_with_auth_on(case, secured) -> None:
    settings, keys, _ = secured
    _no_server_error_nor_leak(case, settings, keys["atk-a"])


@SCHEMA.parametrize()
@hypothesis_settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_with_auth_off(case, local) -> None:
    _no_server_error_nor_leak(case, local, {})


def test_an_upload_grant_expires_and_its_leftovers_are_swept(stack) -> None:
    from starlette.testclient import TestClient

    from pagestream.connectors.bridge.app import create_app

    short = stack.model_copy(update={"presign_expiry_seconds": 1})
    png = text_image(["Too late"])
    with TestClient(create_app(short), base_url="http://127.0.0.1") as client:
        grant = client.post("/v1/uploads", json={"filename": "late.png"}).json()
        time.sleep(2.5)
        late = httpx.post(grant["upload_url"], data=grant["fields"], files={"file": ("late.png", png)})
        assert late.status_code == 403 and "expired" in late.text.lower(), late.text
        gone = client.post(grant["submit_url"])
        assert gone.status_code == 410 and gone.json()["type"].endswith("upload_expired")
        stale = client.post("/v1/uploads", json={"filename": "stale.png"}).json()
        time.sleep(2.5)
    with TestClient(create_app(short), base_url="http://127.0.0.1") as client:  # a new bridge sweeps at once
        client.post("/v1/uploads", json={"filename": "next.png"})
        pending = client.app.state.bridge.store.keys("_uploads")
        assert not any(doc in key for key in pending for doc in (grant["doc_id"], stale["doc_id"]))
