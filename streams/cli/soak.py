"""Soak run: many small documents flow while the workers' memory is sampled.

The report compares the workers' resident memory early in the run (after warm-up) with the end;
a leak shows as growth. ``pagestream soak --pages N --json`` runs it against the local stack.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median

from pagestream.connectors.client import Client
from pagestream.streams.cli import supervisor
from pagestream.streams.settings import Settings


def process_tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (the worker and its pool), in MB."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        total_kb += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total_kb / 1024


@dataclass
class SoakReport:
    pages: int
    documents: int
    elapsed_s: float
    pages_per_s: float
    rss_early_mb: float
    rss_late_mb: float
    growth_pct: float
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MB) of all workers

    def to_dict(self) -> dict:
        return asdict(self)


def run_soak(
    settings: Settings, page_image: bytes, *, pages: int, interval_s: float = 1.0, timeout: float = 3600.0,
) -> SoakReport:
    """Submit ``pages`` single-image documents and sample worker memory until all completed."""
    workers = [w for w in (supervisor.worker(settings, i) for i in range(settings.workers)) if w.running(settings)]
    pids = [w.pid(settings) for w in workers]
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append((round(time.monotonic() - started, 1),
                            round(sum(process_tree_rss_mb(p) for p in pids if p), 1)))
            stop.wait(interval_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with Client(settings) as client:
        watch = client.watch()
        ids = {client.submit(page_image, tenant="soak", filename=f"soak-{i}.png") for i in range(pages)}
        for _ in watch.until_completed(ids, timeout=timeout):
            pass
        watch.close()
    stop.set()
    sampler.join()
    elapsed = time.monotonic() - started
    third = max(1, len(samples) // 3)
    early = median(mb for _, mb in samples[third : 2 * third] or samples)
    late = median(mb for _, mb in samples[-third:])
    return SoakReport(
        pages=pages, documents=len(ids), elapsed_s=round(elapsed, 1), pages_per_s=round(pages / elapsed, 2),
        rss_early_mb=round(early, 1), rss_late_mb=round(late, 1),
        growth_pct=round(100 * (late - early) / early, 1) if early else 0.0, samples=samples,
    )
