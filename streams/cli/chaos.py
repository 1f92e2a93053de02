"""Chaos run: documents flow while workers are killed with SIGKILL and the broker restarts.

Afterwards every submitted document must be completed, with every page, and the report says how
many were lost or completed more than once, and how long the pipeline took to resume after each
fault. ``pagestream chaos --docs N --kills K --json`` runs it against the local stack.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pagestream.agents.ingest.core.document import pdf_page_count
from pagestream.connectors.client import Client
from pagestream.streams import kafka, topics
from pagestream.streams.cli import supervisor
from pagestream.streams.cli.chaos_checks import ClickHouseReport, SseFollower, SseReport, clickhouse_report, end_cursor
from pagestream.streams.codec import Codecs, registry_client
from pagestream.streams.settings import Settings

TENANT = "chaos"


@dataclass
class Fault:
    kind: str  # "kill_worker", "restart_broker" or "kill_sink" (the bridge, which hosts the sink)
    target: str
    at_s: float
    recovery_s: float | None = None


@dataclass
class ChaosReport:
    documents_submitted: int
    documents_completed: int
    lost: int
    duplicated: int
    duplicate_events: int
    pages_expected: int
    pages_completed_ok: int
    pages_missing: int
    workers: int
    faults: list[Fault] = field(default_factory=list)
    elapsed_s: float = 0.0
    lost_doc_ids: list[str] = field(default_factory=list)
    sse: SseReport | None = None
    clickhouse: ClickHouseReport | None = None

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing twice, every page there; the SSE client and ClickHouse exact."""
        return (
            (self.lost, self.duplicated, self.pages_missing) == (0, 0, 0)
            and (self.sse is None or (self.sse.missing, self.sse.repeated) == (0, 0))
            and (self.clickhouse is None or self.clickhouse.documents_with_wrong_page_rows == 0)
            and (self.clickhouse is None or self.clickhouse.documents == self.documents_submitted)
        )

    def to_dict(self) -> dict:
        return asdict(self)


class _Events(threading.Thread):
    """Collects progress/completed events in the background (times of arrival)."""

    def __init__(self, client: Client) -> None:
        super().__init__(daemon=True)
        self._watch = client.watch()
        self.arrivals: queue.Queue[tuple[float, str, dict]] = queue.Queue()
        self.last_event_at = 0.0
        self._stop = threading.Event()

    def run(self) -> None:
        for event in self._watch.events():
            now = time.monotonic()
            self.last_event_at = now
            self.arrivals.put((now, event.kind, event.record))
            if self._stop.is_set():
                break

    def stop(self) -> None:
        self._stop.set()


def _wait_for_event_after(events: _Events, since: float, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if events.last_event_at > since:
            return events.last_event_at
        time.sleep(0.1)
    return None


def _drain_completed(events: _Events) -> set[str]:
    """doc_ids of the completions that arrived since the last call."""
    done: set[str] = set()
    while True:
        try:
            _, kind, record = events.arrivals.get_nowait()
        except queue.Empty:
            return done
        if kind == "completed":
            done.add(record["doc_id"])


def _kill(settings: Settings, worker: supervisor.ProcessService) -> None:
    pid = worker.pid(settings)
    if pid is not None:
        os.killpg(pid, signal.SIGKILL)
        while worker.running(settings):
            time.sleep(0.05)


def completed_counts(settings: Settings, doc_ids: set[str]) -> tuple[Counter[str], dict[str, dict]]:
    """Every DocumentCompleted of ``doc_ids`` in the topic, from the beginning."""
    codecs = Codecs(registry_client(settings.registry_url), [topics.DOCS_COMPLETED])
    counts: Counter[str] = Counter()
    last: dict[str, dict] = {}
    for _, record in kafka.read_to_end(settings, codecs, topics.DOCS_COMPLETED, "chaos"):
        if record["doc_id"] in doc_ids:
            counts[record["doc_id"]] += 1
            last[record["doc_id"]] = record
    return counts, last


def run_chaos(
    settings: Settings,
    documents: list[Path],
    *,
    docs: int,
    kills: int,
    workers: int = 2,
    restart_broker: bool = True,
    restart_sink: bool = True,
    timeout: float = 1800.0,
    seed: int | None = None,
    say: Callable[[str], None] = lambda _msg: None,
) -> ChaosReport:
    """Submit ``docs`` documents, inject the faults while they flow, and count the outcome."""
    rng = random.Random(seed)
    pool = [supervisor.worker(settings, i) for i in range(workers)]
    started = time.monotonic()
    faults: list[Fault] = []
    bridge = supervisor.bridge(settings)
    sse = SseFollower(settings, TENANT, end_cursor(settings))
    sse.start()
    with Client(settings) as client:
        events = _Events(client)
        events.start()
        submitted: dict[str, int] = {}
        for i in range(docs):
            path = documents[i % len(documents)]
            submitted[client.submit(path, tenant=TENANT, filename=path.name)] = i
        say(f"submitted {docs} documents; injecting {kills} worker kills")
        slots = kills + restart_broker + restart_sink
        # The sink (bridge) is killed before the broker restarts, so a bridge the restart breaks
        # stays broken and shows in the ClickHouse and SSE checks instead of being healed by the kill.
        sink_at, broker_at = sorted(rng.sample(range(slots), 2)) if slots >= 2 else (0, 0)
        broker_at, sink_at = (broker_at if restart_broker else -1), (sink_at if restart_sink else -1)
        completed: set[str] = set()
        for k in range(slots):
            time.sleep(rng.uniform(2.0, 6.0))
            completed |= _drain_completed(events)
            if completed >= set(submitted):
                say("every document completed before all faults were injected: submit more documents")
                break
            if k == broker_at:
                fault = Fault("restart_broker", "kafka", round(time.monotonic() - started, 2))
                kafka = supervisor.kafka(settings)
                kafka.stop(settings)
                kafka.start(settings)
            elif k == sink_at:
                fault = Fault("kill_sink", bridge.name, round(time.monotonic() - started, 2))
                _kill(settings, bridge)
                bridge.start(settings)  # returns once the bridge answers and its sink consumes again
                fault.recovery_s = round(time.monotonic() - (started + fault.at_s), 2)
            else:
                worker = rng.choice(pool)
                fault = Fault("kill_worker", worker.name, round(time.monotonic() - started, 2))
                _kill(settings, worker)
                time.sleep(rng.uniform(0.5, 3.0))
            for w in pool:
                w.start(settings)  # a killed worker comes back; one the broker took down too
            if fault.kind != "kill_sink":
                resumed = _wait_for_event_after(events, time.monotonic(), timeout=120)
                fault.recovery_s = None if resumed is None else round(resumed - (started + fault.at_s), 2)
            faults.append(fault)
            say(f"fault {len(faults)}: {fault.kind} {fault.target}, resumed after {fault.recovery_s} s")
        pending = set(submitted) - completed - _drain_completed(events)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            try:
                _, kind, record = events.arrivals.get(timeout=1.0)
            except queue.Empty:
                for service in (*pool, bridge):
                    service.start(settings)
                continue
            if kind == "completed":
                pending.discard(record["doc_id"])
        events.stop()
    counts, results = completed_counts(settings, set(submitted))
    expected_pages = {doc_id: pdf_page_count(documents[i % len(documents)]) for doc_id, i in submitted.items()}
    say("waiting for the SSE client and ClickHouse to catch up")
    ch = clickhouse_report(settings, TENANT, expected_pages, timeout=180)
    sse_report = sse.finish(set(submitted), timeout=60)
    ok_pages = sum(sum(p["status"] == "OK" for p in r["pages"]) for r in results.values())
    lost = sorted(set(submitted) - set(counts))
    return ChaosReport(
        documents_submitted=docs,
        documents_completed=len(counts),
        lost=len(lost),
        duplicated=sum(1 for c in counts.values() if c > 1),
        duplicate_events=sum(c - 1 for c in counts.values()),
        pages_expected=sum(expected_pages.values()),
        pages_completed_ok=ok_pages,
        pages_missing=sum(expected_pages.values()) - ok_pages,
        workers=workers,
        faults=faults,
        elapsed_s=round(time.monotonic() - started, 2),
        lost_doc_ids=lost,
        sse=sse_report,
        clickhouse=ch,
    )

