"""Disk caches for training and evaluation: page embeddings and OCR text.

Embedding a page costs a tenth of a second or more on a CPU and OCR over a second, and the same
generated and evaluation pages are embedded by every training run (``pagestream up`` on a new
state dir, the tests, re-training). Entries are keyed by everything that determines them (encoder
package version and windowing; OCR engine, version and languages; the exact input), so a stale
entry cannot be served. Serving never reads these caches.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


class KeyValueCache:
    """A tiny SQLite table of bytes by key, safe to share between processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        self._db.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            found.update(self._db.execute(f"SELECT key, value FROM entries WHERE key IN ({marks})", chunk).fetchall())
        return found

    def put_many(self, items: dict[str, bytes]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?)", items.items())
        self._db.commit()

    def close(self) -> None:
        self._db.close()


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


def cached_embeddings(
    cache: KeyValueCache | None,
    namespace: str,
    texts: Sequence[str],
    embed: Callable[[list[str]], np.ndarray],
    dim: int,
    batch: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Embeddings of ``texts``, computing (in batches, reporting progress) only those not cached."""
    keys = [digest(namespace, t) for t in texts]
    found = cache.get_many(keys) if cache else {}
    out = np.zeros((len(texts), dim), dtype=np.float32)
    missing = [i for i, k in enumerate(keys) if k not in found]
    for i, k in enumerate(keys):
        if k in found:
            out[i] = np.frombuffer(found[k], dtype=np.float32)
    done = len(texts) - len(missing)
    if progress:
        progress(done, len(texts))
    for start in range(0, len(missing), batch):
        idx = missing[start : start + batch]
        vectors = embed([texts[i] for i in idx])
        out[idx] = vectors
        if cache:
            cache.put_many({keys[i]: vectors[j].astype(np.float32).tobytes() for j, i in enumerate(idx)})
        done += len(idx)
        if progress:
            progress(done, len(texts))
    return out
