"""Prometheus series of pagestream, defined once and shared by the workers and the bridge.

Names are ``pagestream_*`` with their unit. A worker records in its main process only (around
``StageContext.run_cpu``, ``progress`` and ``dead_letter``); its pool processes are spawned and
record nothing, so no multiprocess collector is needed. Each worker serves its series on
``metrics_port + worker id``; the bridge serves its own (HTTP, SSE, consumer lag) at ``/metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from pagestream.streams.settings import Settings

_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)

# --- workers -------------------------------------------------------------------------------------
PAGES_PROCESSED = Counter("pagestream_pages_processed", "Pages a stage has finished.", ["stage"])
STAGE_SECONDS = Histogram(
    "pagestream_stage_seconds", "Time a stage spent on one page.", ["stage"], buckets=_SECONDS_BUCKETS
)
ERRORS = Counter(
    "pagestream_errors", "Errors sent to the dead-letter topic, by stage and error code.", ["stage", "kind"]
)
CPU_TASKS_IN_FLIGHT = Gauge(
    "pagestream_cpu_tasks_in_flight", "Tasks (one page each, or one document check) in the worker's pool.", ["task"]
)
CPU_TASK_SECONDS = Histogram(
    "pagestream_cpu_task_seconds", "Wall time of one task in the worker's pool.", ["task"], buckets=_SECONDS_BUCKETS
)
DOCUMENTS_COMPLETED = Counter("pagestream_documents_completed", "Documents completed, by status.", ["status"])
RETRIES = Counter("pagestream_retries", "Messages a stage sent to a retry topic.", ["stage", "topic"])
REDELIVERED = Counter("pagestream_redelivered", "Messages the retry agent re-delivered, by retry topic.", ["topic"])
QUARANTINED = Counter("pagestream_quarantined", "Messages given up after every allowed attempt, by stage.", ["stage"])

# --- bridge --------------------------------------------------------------------------------------
CONSUMER_LAG = Gauge(
    "pagestream_consumer_lag_messages", "Messages the pipeline's consumer group has not consumed.", ["group", "topic"]
)
HTTP_REQUESTS = Counter("pagestream_http_requests", "HTTP requests answered.", ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "pagestream_http_request_seconds", "Time to answer (for SSE: to open the stream).", ["method", "route"]
)
SSE_STREAMS = Gauge("pagestream_sse_streams", "Open server-sent event streams.")
FEED_EVENTS = Counter("pagestream_bridge_events", "Events the bridge's feed consumed, by topic.", ["topic"])
INDEXED_DOCUMENTS = Gauge("pagestream_bridge_indexed_documents", "Documents in the bridge's status index.")


def record_progress(stage: str, status: str, page_no: int | None, duration_ms: int | None) -> None:
    """Count a finished page of a stage and observe its duration (called with each progress event)."""
    if status != "PAGE_DONE" or page_no is None:
        return
    label = stage.lower()
    PAGES_PROCESSED.labels(label).inc()
    if duration_ms is not None:
        STAGE_SECONDS.labels(label).observe(duration_ms / 1000)


def record_error(stage: str, code: str) -> None:
    ERRORS.labels(stage.lower(), code).inc()


@contextmanager
def cpu_task(name: str) -> Iterator[None]:
    """Track one task of the process pool: in flight while it runs, its wall time when done."""
    gauge = CPU_TASKS_IN_FLIGHT.labels(name)
    gauge.inc()
    started = time.perf_counter()
    try:
        yield
    finally:
        gauge.dec()
        CPU_TASK_SECONDS.labels(name).observe(time.perf_counter() - started)


def serve_worker_metrics(settings: Settings, worker_id: int) -> int:
    """Serve this worker's series over HTTP (a daemon thread); returns the port."""
    port = settings.metrics_port + worker_id
    start_http_server(port, addr=settings.bridge_host)
    return port
