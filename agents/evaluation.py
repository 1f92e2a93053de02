"""OCR accuracy measures against ground truth (the evaldata-gt/1 format of the evaluation set).

Word recall is the overlap of lowercase alphanumeric word multisets divided by the number of
ground-truth words, so it is insensitive to line breaks and reading-order differences; CER is
the character edit distance over the ground-truth length, on whitespace-normalised text.
"""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words_of(text: str) -> Counter[str]:
    return Counter(w.lower() for w in _WORD.findall(text))


def word_recall(predicted: str, truth: str) -> float:
    expected = words_of(truth)
    total = sum(expected.values())
    return sum((words_of(predicted) & expected).values()) / total if total else 1.0


def word_precision(predicted: str, truth: str) -> float:
    found = words_of(predicted)
    total = sum(found.values())
    return sum((found & words_of(truth)).values()) / total if total else 1.0


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(predicted: str, truth: str) -> float:
    """Character error rate on whitespace-normalised text."""
    p, t = " ".join(predicted.split()), " ".join(truth.split())
    return _edit_distance(p, t) / len(t) if t else float(bool(p))


def ground_truth_text(page: dict) -> str:
    """A ground-truth page's text, one line per ground-truth line."""
    return "\n".join(line["text"] for line in page["lines"])
