"""OCR accuracy measures against ground truth (the evaldata-gt/1 format of the evaluation set).

Word recall is the overlap of lowercase alphanumeric word multisets divided by the number of
ground-truth words, so it is insensitive to line breaks and reading-order differences; CER is
the character edit distance over the ground-truth length, on whitespace-normalised text (the
evaluation applies it to ``order_free`` texts so that reading order does not count as errors).
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


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance by Myers' bit-parallel algorithm (Hyyrö's formulation), with Python
    integers as bit vectors: fast enough for whole pages of thousands of characters."""
    if not a or not b:
        return len(a) or len(b)
    masks: dict[str, int] = {}
    for i, char in enumerate(a):
        masks[char] = masks.get(char, 0) | (1 << i)
    full, last = (1 << len(a)) - 1, 1 << (len(a) - 1)
    plus, minus, score = full, 0, len(a)
    for char in b:
        eq = masks.get(char, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        hp = minus | ~(xh | plus)
        hm = plus & xh
        if hp & last:
            score += 1
        elif hm & last:
            score -= 1
        hp = (hp << 1) | 1
        hm <<= 1
        plus = (hm | ~(xv | hp)) & full
        minus = hp & xv & full
    return score


def cer(predicted: str, truth: str) -> float:
    """Character error rate on whitespace-normalised text."""
    p, t = " ".join(predicted.split()), " ".join(truth.split())
    return edit_distance(p, t) / len(t) if t else float(bool(p))


def order_free(text: str) -> str:
    """The words of a text in sorted order: CER on this ignores reading order and line splits
    (two-column pages, tables), which would otherwise dominate it, and keeps character errors."""
    return " ".join(sorted(text.split()))


def ground_truth_text(page: dict) -> str:
    """A ground-truth page's text, one line per ground-truth line."""
    return "\n".join(line["text"] for line in page["lines"])
