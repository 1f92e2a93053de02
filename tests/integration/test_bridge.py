"""The HTTP bridge on the real stack: uploads, status, results, SSE with exact resumption,
pages, health, metrics and OpenAPI; every kind of bad input answered with problem+json."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest
from openapi_spec_validator import validate

from pagestream.connectors.bridge.app import create_app
from tests.bridge_client import read_sse, upload, wait_for_result
from tests.conftest import REPO, text_image

pytestmark = pytest.mark.kafka

INVOICE = REPO / "samples" / "invoice.pdf"  # 2 pages
PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, kind: str, says: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["type"] == f"urn:pagestream:problem:{kind}"
    assert says in body["detail"] and "Traceback" not in response.text


@pytest.fixture(scope="module")
def done(stack) -> dict:
    """A 2-page document uploaded over HTTP and processed to the end."""
    submitted = upload(stack, INVOICE, tenant="bridge-test")
    return wait_for_result(stack, submitted["doc_id"])


def test_upload_status_and_result(stack, done) -> None:
    assert done["status"] == "OK" and done["tenant"] == "bridge-test" and done["filename"] == "invoice.pdf"
    result = done["result"]
    assert result["page_count"] == 2 and [p["page_no"] for p in result["pages"]] == [1, 2]
    assert "Oakridge Software" in result["pages"][0]["text"]
    assert done["stages"]["OCR"]["pages_done"] == 2 and done["stages"]["ASSEMBLE"]["status"] == "COMPLETED"
    listed = httpx.get(f"{stack.bridge_url}/v1/documents", params={"tenant": "bridge-test"}).json()["documents"]
    assert done["doc_id"] in [d["doc_id"] for d in listed]


def test_document_stream_has_every_page_of_every_stage_then_the_result(stack, done) -> None:
    status, events = read_sse(f"{stack.bridge_url}/v1/documents/{done['doc_id']}/events")
    assert status == 200
    progress = [e for e in events if e["event"] == "progress"]
    pages = {(e["data"]["stage"], e["data"]["page_no"]) for e in progress if e["data"]["status"] == "PAGE_DONE"}
    assert {(stage, n) for stage in ("INGEST", "OCR", "LAYOUT") for n in (1, 2)} <= pages
    assert events[-1]["event"] == "completed" and events[-1]["data"]["status"] == "OK"
    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"docs\.(progress|completed):\d+:\d+", i) for i in ids)
    offsets = [int(i.rsplit(":", 1)[1]) for i in ids[:-1]]
    assert offsets == sorted(offsets)  # progress in Kafka order


def test_document_stream_resumes_exactly_with_last_event_id(stack, done) -> None:
    url = f"{stack.bridge_url}/v1/documents/{done['doc_id']}/events"
    _, full = read_sse(url)
    for cut in (1, len(full) // 2, len(full) - 1):
        _, first = read_sse(url, stop=lambda events, cut=cut: len(events) >= cut)  # the client goes away
        status, rest = read_sse(url, headers={"Last-Event-ID": first[-1]["id"]})
        assert status == 200
        assert [e["id"] for e in first + rest] == [e["id"] for e in full]  # no gap, no duplicate
    # After the final event there is nothing more: 204 tells an EventSource to stop reconnecting.
    response = httpx.get(url, headers={"Last-Event-ID": full[-1]["id"]})
    assert response.status_code == 204


def _first_events(response: httpx.Response, count: int) -> list[dict]:
    """Read ``count`` events of an open stream (the caller then drops the connection)."""
    events: list[dict] = []
    block: dict = {}
    for line in response.iter_lines():
        if line == "":
            if "data" in block:
                events.append({**block, "data": json.loads(block["data"])})
                if len(events) == count:
                    return events
            block = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            block[name] = value
    return events


def _assembled(event: dict) -> bool:
    return event["event"] == "progress" and (event["data"]["stage"], event["data"]["status"]) == (
        "ASSEMBLE",
        "COMPLETED",
    )


def _finished(events: list[dict]) -> bool:
    return any(e["event"] == "completed" for e in events) and any(_assembled(e) for e in events)


def test_tenant_stream_cut_and_resumed_gives_every_event_once(stack) -> None:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    url = f"{stack.bridge_url}/v1/events?tenant={tenant}"
    with httpx.stream("GET", url, timeout=httpx.Timeout(300, connect=10)) as response:
        assert response.status_code == 200
        doc_id = upload(stack, INVOICE, tenant=tenant)["doc_id"]
        first = _first_events(response, 3)  # then the client goes away mid-document
    status, rest = read_sse(url, headers={"Last-Event-ID": first[-1]["id"]}, stop=_finished)
    assert status == 200
    _, reference = read_sse(f"{stack.bridge_url}/v1/documents/{doc_id}/events")
    # The document stream ends with the result; the tenant stream also has the progress event
    # that follows it. Events of one topic come in Kafka order in both.
    got = [e for e in first + rest if not _assembled(e)]
    for kind in ("progress", "completed"):
        want = [e["data"] for e in reference if e["event"] == kind and not _assembled(e)]
        assert [e["data"] for e in got if e["event"] == kind] == want
    # Each id is the cursor over every partition of the progress and result topics.
    assert all(len(e["id"].split(",")) == 2 * stack.topic_partitions for e in first + rest)


def test_bad_last_event_ids_are_refused(stack, done) -> None:
    base = stack.bridge_url
    doc_url = f"{base}/v1/documents/{done['doc_id']}/events"
    for bad, says in (
        ("garbage", "topic:partition:offset"),
        ("docs.progress:x:1", "not an integer"),
        ("pages.raw:0:1", "names topic"),
        ("docs.progress:99:1", "partition 99"),
        ("docs.progress:0:99999999", "cannot have sent"),
    ):
        assert_problem(httpx.get(doc_url, headers={"Last-Event-ID": bad}), 400, "bad_last_event_id", says)
    response = httpx.get(f"{base}/v1/events", params={"last_event_id": "docs.completed:0:-5"})
    assert_problem(response, 400, "bad_last_event_id", "cannot have sent")


def test_unknown_documents_and_pages_are_404(stack, done) -> None:
    base = stack.bridge_url
    for path in ("/v1/documents/nope", "/v1/documents/nope/events", "/v1/documents/nope/pages/1/image"):
        assert_problem(httpx.get(base + path), 404, "unknown_document", "no document 'nope'")
    assert_problem(httpx.get(f"{base}/v1/documents/{done['doc_id']}/pages/7"), 404, "unknown_page", "no page 7")
    assert_problem(httpx.get(f"{base}/v1/nothing-here"), 404, "no_such_endpoint", "/openapi.json")
    assert_problem(httpx.get(f"{base}/v1/documents", params={"limit": "many"}), 400, "bad_limit", "limit must be")


def test_page_result_and_image_for_the_drill_down(stack, done) -> None:
    base = f"{stack.bridge_url}/v1/documents/{done['doc_id']}/pages/1"
    page = httpx.get(base).json()
    words = [w for line in page["lines"] for w in line["words"]]
    assert page["page_no"] == 1 and len(words) > 20 and page["regions"]
    assert all(0 <= w["bbox"][0] < w["bbox"][2] <= page["width"] for w in words)
    image = httpx.get(f"{base}/image")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


def test_malformed_uploads_get_clear_problems(stack) -> None:
    url = f"{stack.bridge_url}/v1/documents"
    assert_problem(httpx.post(url, content=b"%PDF-1.7"), 415, "not_multipart", "multipart/form-data")
    assert_problem(
        httpx.post(url, data={"tenant": "x"}, files={"other": ("a", b"b")}), 400, "malformed_upload", "'file'"
    )
    broken = b"--XYZ\r\nContent-Disposition: form-data; name=file; filename=a.pdf\r\n\r\n%PDF"  # no end
    response = httpx.post(url, content=broken, headers={"content-type": "multipart/form-data; boundary=XYZ"})
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM, response.text
    assert_problem(httpx.post(url, files={"file": ("e.pdf", b"")}), 400, "empty_upload", "empty")
    assert_problem(httpx.post(url, files={"file": ("n.pdf", b"hello world")}), 415, "unsupported_type", "PDF, PNG")
    bad_tenant = httpx.post(url, files={"file": ("p.png", text_image(["x"]))}, data={"tenant": "../etc"})
    assert_problem(bad_tenant, 400, "bad_tenant", "not allowed")
    bad_dpi = httpx.post(url, files={"file": ("p.png", text_image(["x"]))}, data={"render_dpi": "9000"})
    assert_problem(bad_dpi, 400, "bad_render_dpi", "72 to 600")


def test_upload_limits_and_presigned_flow_in_a_small_bridge(stack) -> None:
    """A second bridge in this process, on the same stack, with a 20 kB upload limit."""
    from starlette.testclient import TestClient

    small = stack.model_copy(update={"max_upload_bytes": 20_000})
    png = text_image(["Presigned upload", "second line"])
    assert len(png) < 20_000
    with TestClient(create_app(small), base_url="http://127.0.0.1") as client:
        big = b"%PDF-1.7\n" + b"0" * 30_000
        declared = client.post("/v1/documents", files={"file": ("big.pdf", big)})
        assert_problem(declared, 413, "upload_too_large", "the limit is 20000 bytes")
        # Without Content-Length (chunked): refused while reading, not after.
        body = b"--B\r\nContent-Disposition: form-data; name=file; filename=b.pdf\r\n\r\n" + big * 4 + b"\r\n--B--\r\n"
        chunked = client.post(
            "/v1/documents",
            content=(body[i : i + 8192] for i in range(0, len(body), 8192)),
            headers={"content-type": "multipart/form-data; boundary=B"},
        )
        assert_problem(chunked, 413, "upload_too_large", "the limit is 20000 bytes")
        assert_problem(client.post("/v1/uploads", json={"size_bytes": 10**9}), 413, "upload_too_large", "20000")
        assert_problem(client.post("/v1/uploads", content=b"{nope"), 400, "malformed_json", "not JSON")

        grant = client.post("/v1/uploads", json={"tenant": "presigned", "filename": "scan.png"})
        assert grant.status_code == 201, grant.text
        grant = grant.json()
        submit = client.post(grant["submit_url"])
        assert_problem(submit, 409, "nothing_uploaded", "POST the file")
        posted = httpx.post(grant["upload_url"], data=grant["fields"], files={"file": ("scan.png", png)})
        assert posted.status_code in (200, 204), posted.text
        accepted = client.post(grant["submit_url"], json={"render_dpi": 200})
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["doc_id"] == grant["doc_id"]
        assert_problem(client.post(grant["submit_url"]), 409, "already_submitted", "already submitted")
        assert_problem(client.post("/v1/documents/nothing/submit"), 404, "unknown_upload", "POST /v1/uploads")

        # The object store itself refuses a file over the limit (the grant's content-length-range).
        too_big = client.post("/v1/uploads", json={"filename": "big.pdf"}).json()
        refused = httpx.post(too_big["upload_url"], data=too_big["fields"], files={"file": ("big.pdf", big)})
        assert refused.status_code == 400 and "EntityTooLarge" in refused.text, refused.text
        assert_problem(client.post(too_big["submit_url"]), 409, "nothing_uploaded", "POST the file")
    result = wait_for_result(stack, grant["doc_id"])
    assert result["status"] == "OK" and result["tenant"] == "presigned"
    assert "Presigned" in result["result"]["pages"][0]["text"]


def test_health_readiness_metrics_lag_and_openapi(stack, done) -> None:
    base = stack.bridge_url
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base}/readyz").json()
    assert ready["status"] == "ready" and all(ready["checks"].values())
    text = httpx.get(f"{base}/metrics").text
    assert re.search(
        r'pagestream_http_requests_total\{method="POST",route="upload_document",status="202"\} [1-9]', text
    )
    assert re.search(r"pagestream_bridge_events_total\{topic=\"docs.progress\"\} [1-9]", text)
    lag = httpx.get(f"{base}/v1/lag").json()
    assert lag["group"] == stack.app_id and "docs.submitted" in lag["topics"] and lag["total"] >= 0
    assert re.search(r'pagestream_consumer_lag_messages\{group="pagestream",topic="pages.raw"\} \d', text)
    spec = httpx.get(f"{base}/openapi.json").json()
    validate(spec)
    from pagestream.connectors.bridge.app import routes
    from pagestream.connectors.clickhouse.http import ClickHouseService

    every = [*routes(), *ClickHouseService(stack, run_sink=False).routes]
    served = {re.sub(r":int\}", "}", r.path) for r in every if getattr(r, "include_in_schema", True)}
    assert served - {"/dashboard/static"} == set(spec["paths"])


def test_workers_export_pipeline_metrics(stack, done) -> None:
    text = httpx.get(f"http://{stack.bridge_host}:{stack.metrics_port}/metrics").text
    for stage in ("ingest", "ocr", "layout", "assemble"):
        count = re.search(rf'pagestream_pages_processed_total\{{stage="{stage}"\}} (\d+)', text)
        assert count and float(count.group(1)) >= 1, stage
    assert re.search(r'pagestream_stage_seconds_count\{stage="ocr"\} [1-9]', text)
    assert re.search(r'pagestream_cpu_tasks_in_flight\{task="ocr_png"\} 0', text)
    assert re.search(r'pagestream_documents_completed_total\{status="OK"\} [1-9]', text)
