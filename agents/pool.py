"""The worker's process pool for CPU work: rasterising and OCR never run on the event loop.

Each pool process builds its OCR engines once and keeps them for its lifetime; pages go in as
PNG bytes and come back as plain dataclasses. Processes are spawned, not forked, because the
worker's event loop already runs threads (Kafka client, object store). Every library in a pool
process runs one thread (``init_process``), so N processes use N cores and never oversubscribe.
A pool process imports only the modules of the functions it runs, and those are pure (the stages'
cores, the evals), so no pool process imports Faust or a Kafka client.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from pagestream.agents.common.ocr_result import EngineSpec
from pagestream.agents.ocr.core.reader import init_process

# glibc reads these when a process starts: large ONNX runtime buffers then come from the heap and
# stay there, instead of an mmap/munmap per inference (more than half of its system time).
MALLOC_TUNING = {"MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024), "MALLOC_TRIM_THRESHOLD_": str(256 * 1024 * 1024)}


def make_pool(processes: int, spec: EngineSpec, malloc_tuning: bool = True) -> ProcessPoolExecutor:
    if malloc_tuning:
        for name, value in MALLOC_TUNING.items():
            os.environ.setdefault(name, value)  # inherited by the spawned processes
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_process,
        initargs=(spec,),
    )
