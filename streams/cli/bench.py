"""``pagestream bench``: the raw engine against the whole pipeline, same pages, same cores.

For scanned pages and for born-digital pages separately: (a) the raw work alone in a process pool
as large as the worker's, every core busy, no Kafka (OCR of the rendered page images; for
born-digital pages the text-layer fast path, which renders too); (b) the same documents through
Kafka, from submit until every document completed (the local stack is started with the same
code as ``pagestream up`` when it is not running, and stopped again afterwards). Engines are
built and loaded before either clock starts (a one-page warm-up document for the pipeline).
Besides wall-clock rates, CPU seconds per page (the pool's processes for the raw run; the worker
and its pool processes for the pipeline) and the load average are reported: on a machine shared
with other work the CPU ratio is the steadier measure of what the pipeline adds.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium

from pagestream.agents.ingest.core.document import limits_of, render_page
from pagestream.agents.ingest.core.textlayer import text_layer
from pagestream.agents.ocr.core.reader import engine_spec, ocr_png
from pagestream.agents.pool import make_pool
from pagestream.streams.cli.eval.measures import ground_truth_text, word_recall
from pagestream.streams.errors import PagestreamError
from pagestream.streams.settings import Settings


class BenchError(PagestreamError):
    code = "bench_failed"


@dataclass(frozen=True)
class BenchDoc:
    pdf: Path
    pages: int
    born_digital: bool
    truth: list[str] | None  # ground-truth text per page, when the source has it


def _ground_truths(source: Path) -> dict[Path, list[str]]:
    """Ground truth per PDF, from the evaldata index files under ``source``."""
    truths: dict[Path, list[str]] = {}
    for index in [*source.glob("index.json"), *source.glob("*/index.json"), *source.glob("*/*/index.json")]:
        for doc in json.loads(index.read_text()).get("documents", []):
            if "pdf" in doc and "gt" in doc:
                gt = json.loads((index.parent / doc["gt"]).read_text())
                truths[(index.parent / doc["pdf"]).resolve()] = [ground_truth_text(p) for p in gt["pages"]]
    return truths


def find_documents(source: Path, settings: Settings) -> list[BenchDoc]:
    """Every PDF under ``source``, born-digital when every page has a usable text layer."""
    rules = limits_of(settings).text_layer
    truths = _ground_truths(source)
    docs = []
    for path in sorted(source.rglob("*.pdf")):
        pdf = pdfium.PdfDocument(path)
        try:
            usable = [text_layer(page, 100, 100, rules).usable if rules else False for page in pdf]
        finally:
            pdf.close()
        docs.append(BenchDoc(path, len(usable), bool(usable) and all(usable), truths.get(path.resolve())))
    return docs


def pick(docs: list[BenchDoc], pages: int) -> list[BenchDoc]:
    """Whole documents, cycling through them, until at least ``pages`` pages."""
    chosen: list[BenchDoc] = []
    while docs and sum(d.pages for d in chosen) < pages:
        chosen.append(docs[len(chosen) % len(docs)])
    return chosen


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 3)


def _render_all(pool: ProcessPoolExecutor, docs: list[BenchDoc], settings: Settings, with_layer: bool) -> list[Any]:
    limits = limits_of(settings)
    if not with_layer:
        limits = replace(limits, text_layer=None)
    futures = [pool.submit(render_page, d.pdf, "PDF", i, limits) for d in docs for i in range(d.pages)]
    return [f.result() for f in futures]


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User plus system CPU seconds of each of these processes so far (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    times = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    return times


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings; processes started in between count whole."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def run_raw(docs: list[BenchDoc], settings: Settings, engine: str, born_digital: bool) -> tuple[float, float]:
    """Pages per second of the raw work, all pool processes busy, and CPU seconds per page."""
    spec = replace(engine_spec(settings), name=engine)
    total = sum(d.pages for d in docs)
    with make_pool(settings.pool_processes, spec, settings.ocr_malloc_tuning) as pool:
        # Warm-up: every process starts and loads its engine before the clock starts.
        warm = _render_all(pool, docs[:1], settings, with_layer=False)[0]
        for f in [pool.submit(ocr_png, warm.png, engine) for _ in range(settings.pool_processes)]:
            f.result()
        pids = list(pool._processes)  # processes started later count whole (cpu_used)
        if born_digital:
            cpu_before = cpu_seconds(pids)
            started = time.perf_counter()
            futures = [
                pool.submit(render_page, d.pdf, "PDF", i, limits_of(settings)) for d in docs for i in range(d.pages)
            ]
        else:
            images = _render_all(pool, docs, settings, with_layer=False)
            cpu_before = cpu_seconds(pids)
            started = time.perf_counter()
            futures = [pool.submit(ocr_png, image.png, engine) for image in images]
        for done, future in enumerate(futures, 1):
            future.result()
            _say(f"raw {'born-digital' if born_digital else 'scanned'}: {done}/{total} pages")
        elapsed = time.perf_counter() - started
        return total / elapsed, cpu_used(cpu_before, cpu_seconds(list(pool._processes))) / total


class RssSampler:
    """Peak resident memory of the worker process and its pool processes, sampled from /proc."""

    def __init__(self, pid: int | None) -> None:
        self.pid, self.peak_mb = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def pids(self) -> list[int]:
        if self.pid is None:
            return []
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                try:
                    todo.extend(int(c) for c in task.read_text().split())
                except OSError:
                    continue
        return pids

    def sample(self) -> None:
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
            except OSError:
                continue

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def run_pipeline(docs: list[BenchDoc], settings: Settings, engine: str, label: str) -> dict[str, Any]:
    """Submit ``docs`` through Kafka and time them until every one completed."""
    from pagestream.connectors.client import Client
    from pagestream.streams.cli import supervisor

    total = sum(d.pages for d in docs)
    with Client(settings) as client:
        warm = client.watch()
        warm_id = client.submit(docs[0].pdf, tenant="bench", ocr_engine=engine)
        list(warm.until_completed({warm_id}, timeout=600))
        warm.close()
        watch = client.watch()
        submitted: dict[str, float] = {}
        by_id: dict[str, BenchDoc] = {}
        first_progress: dict[str, float] = {}
        latencies: list[float] = []
        results: dict[str, dict] = {}
        with RssSampler(supervisor.worker(settings, 0).pid(settings)) as rss:
            cpu_before = cpu_seconds(rss.pids())
            started = time.time()
            for doc in docs:
                at_submit = time.time()  # before the upload: submit() returns after Kafka's ack
                doc_id = client.submit(doc.pdf, tenant="bench", ocr_engine=engine)
                submitted[doc_id], by_id[doc_id] = at_submit, doc
            for event in watch.until_completed(set(submitted), timeout=3600):
                record, doc_id = event.record, event.record["doc_id"]
                if event.kind == "completed":
                    results[doc_id] = record
                    continue
                at = record["at"].timestamp()
                first_progress.setdefault(doc_id, at - submitted[doc_id])
                if record["stage"] == "LAYOUT" and record["status"] == "PAGE_DONE":
                    latencies.append(at - submitted[doc_id])
                    _say(f"pipeline {label}: {len(latencies)}/{total} pages")
            elapsed = max(r["completed_at"].timestamp() for r in results.values()) - started
            cpu = cpu_used(cpu_before, cpu_seconds(rss.pids()))
        watch.close()
    failed = [r["filename"] for r in results.values() if r["status"] != "OK"]
    if failed:
        raise BenchError(f"documents did not complete OK: {failed}")
    recalls = [
        (word_recall(page["text"] or "", truth), len(truth.split()))
        for doc_id, result in results.items()
        if by_id[doc_id].truth
        for page, truth in zip(result["pages"], by_id[doc_id].truth, strict=False)
    ]
    sources = {p["text_source"] for r in results.values() for p in r["pages"]}
    return {
        "pipeline_pages_per_s": round(total / elapsed, 3),
        "p50_page_latency_s": _percentile(latencies, 50),
        "p95_page_latency_s": _percentile(latencies, 95),
        "first_progress_s": round(min(first_progress.values()), 3) if first_progress else None,
        "max_worker_rss_mb": round(rss.peak_mb, 1),
        "pipeline_cpu_s_per_page": round(cpu / total, 3),
        "word_recall": round(sum(r * n for r, n in recalls) / sum(n for _, n in recalls), 4) if recalls else None,
        "text_sources": sorted(sources),
        "_latencies": latencies,
        "_recalls": recalls,
    }


def _phase(docs: list[BenchDoc], settings: Settings, engine: str, born_digital: bool) -> dict[str, Any]:
    label = "born-digital" if born_digital else "scanned"
    pages = sum(d.pages for d in docs)
    raw, raw_cpu = run_raw(docs, settings, engine, born_digital)
    pipeline = run_pipeline(docs, settings, engine, label)
    return {
        "pages": pages,
        "documents": len(docs),
        "raw_pages_per_s": round(raw, 3),
        **pipeline,
        "ratio": round(pipeline["pipeline_pages_per_s"] / raw, 3),
        "raw_cpu_s_per_page": round(raw_cpu, 3),
        # None when the workers' CPU per page rounds to 0 (one born-digital page: under 0.5 ms).
        "cpu_ratio": round(raw_cpu / pipeline["pipeline_cpu_s_per_page"], 3)
        if pipeline["pipeline_cpu_s_per_page"]
        else None,
        "load_average": round(os.getloadavg()[0], 1),
    }


def bench(settings: Settings, engine: str, pages: int, source: Path) -> dict[str, Any]:
    """One benchmark run: scanned and born-digital phases, and the figures over both."""
    from pagestream.agents.common.ocr_result import engine_parts
    from pagestream.streams.cli.stack import cmd_down, cmd_status, cmd_up

    engine_parts(engine)
    docs = find_documents(source, settings)
    scanned = pick([d for d in docs if not d.born_digital], pages)
    born = pick([d for d in docs if d.born_digital], pages)
    if not scanned and not born:
        raise BenchError(f"no PDF documents under {source}")
    started_here = cmd_status(settings, as_json=False) != 0
    if started_here:
        _say("starting the local stack …")
        cmd_up(settings, workers=1, quiet=True)
    try:
        phases = {}
        if scanned:
            phases["scanned"] = _phase(scanned, settings, engine, born_digital=False)
        if born:
            phases["born_digital"] = _phase(born, settings, engine, born_digital=True)
    finally:
        if started_here:
            cmd_down(settings)
    total = sum(p["pages"] for p in phases.values())
    raw_time = sum(p["pages"] / p["raw_pages_per_s"] for p in phases.values())
    pipe_time = sum(p["pages"] / p["pipeline_pages_per_s"] for p in phases.values())
    latencies = [t for p in phases.values() for t in p.pop("_latencies")]
    recalls = [r for p in phases.values() for r in p.pop("_recalls")]
    return {
        "pages": total,
        "engine": engine,
        "preprocess": list(settings.ocr_preprocess_steps),
        "processes": settings.pool_processes,
        "raw_pages_per_s": round(total / raw_time, 3),
        "pipeline_pages_per_s": round(total / pipe_time, 3),
        "ratio": round(raw_time / pipe_time, 3),
        "p50_page_latency_s": _percentile(latencies, 50),
        "p95_page_latency_s": _percentile(latencies, 95),
        "first_progress_s": min(p["first_progress_s"] or 0 for p in phases.values()),
        "max_worker_rss_mb": max(p["max_worker_rss_mb"] for p in phases.values()),
        "word_recall": round(sum(r * n for r, n in recalls) / sum(n for _, n in recalls), 4) if recalls else None,
        **phases,
    }
