"""The worker's process pool for CPU work: rasterising and OCR never run on the event loop.

Each pool process builds its OCR engine once, in its initializer, and keeps it for its lifetime;
pages go in as PNG bytes and come back as plain dataclasses. Processes are spawned, not forked,
because the worker's event loop already runs threads (Kafka client, object store).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from pagestream.agents.ocr import EngineSpec, init_process


def make_pool(processes: int, spec: EngineSpec) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_process,
        initargs=(spec,),
    )
