"""Metrics recorded by the stages, typed result records, and the Prometheus/Grafana configs."""

from __future__ import annotations

import datetime as dt
import json
import re

import yaml
from prometheus_client import REGISTRY

from pagestream.connectors.records import DocumentCompleted, Progress
from pagestream.streams import metrics
from pagestream.streams.settings import Settings
from tests.conftest import REPO


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_progress_counts_pages_and_observes_stage_seconds() -> None:
    pages, observed = (
        sample("pagestream_pages_processed_total", stage="ocr"),
        sample("pagestream_stage_seconds_count", stage="ocr"),
    )
    metrics.record_progress("OCR", "PAGE_DONE", 3, 1500)
    metrics.record_progress("OCR", "STARTED", None, None)  # not a page: not counted
    metrics.record_progress("ASSEMBLE", "PAGE_DONE", 2, None)  # counted, no duration
    assert sample("pagestream_pages_processed_total", stage="ocr") == pages + 1
    assert sample("pagestream_stage_seconds_count", stage="ocr") == observed + 1
    assert sample("pagestream_stage_seconds_bucket", stage="ocr", le="2.0") >= 1


def test_cpu_tasks_are_in_flight_only_while_they_run() -> None:
    with metrics.cpu_task("ocr_png"):
        assert sample("pagestream_cpu_tasks_in_flight", task="ocr_png") == 1
    assert sample("pagestream_cpu_tasks_in_flight", task="ocr_png") == 0
    assert sample("pagestream_cpu_task_seconds_count", task="ocr_png") >= 1


def test_typed_records_keep_fields_they_do_not_know() -> None:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    page = {
        "page_no": 1,
        "status": "OK",
        "text": "hello",
        "word_count": 1,
        "mean_confidence": 0.9,
        "text_source": "OCR",
        "engine": "tesseract 5",
        "result_uri": None,
        "error_message": None,
    }
    record = {
        "doc_id": "d",
        "tenant": "t",
        "status": "OK",
        "page_count": 2,
        "completed_at": at,
        "pages": [page, {**page, "page_no": 2, "text": "world"}],
        "doc_type": "invoice",
    }
    result = DocumentCompleted.from_record(record)
    assert result.ok and result.text == "hello\fworld" and result.pages[1].page_no == 2
    assert result.extra == {"doc_type": "invoice"}
    progress = Progress.from_record(
        {
            "doc_id": "d",
            "tenant": "t",
            "stage": "OCR",
            "status": "PAGE_DONE",
            "at": at,
            "page_no": 1,
            "versions": {"ocr": "x"},
        }
    )
    assert progress.page_no == 1 and progress.extra == {"versions": {"ocr": "x"}}


def test_prometheus_scrapes_the_default_ports() -> None:
    config = yaml.safe_load((REPO / "ops" / "prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    default = {name: field.default for name, field in Settings.model_fields.items()}  # not the test env
    assert targets["pagestream-bridge"] == [f"{default['bridge_host']}:{default['bridge_port']}"]
    assert targets["pagestream-workers"] == [f"{default['bridge_host']}:{default['metrics_port']}"]


def test_grafana_panels_query_series_that_exist() -> None:
    dashboard = json.loads((REPO / "ops" / "grafana" / "pagestream.json").read_text())
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    known = {m.name + end for m in REGISTRY.collect() for end in suffixes.get(m.type, ())}
    titles = [p["title"] for p in dashboard["panels"]]
    for wanted in (
        "Pages per second",
        "Stage latency p50 / p95",
        "Consumer lag",
        "Review queue",
        "Documents by status",
    ):
        assert any(t.startswith(wanted) for t in titles), wanted
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"pagestream_[a-z_]+", target["expr"]):
                assert name in known, (panel["title"], name)
