"""Scoring layout against ground-truth regions: per region kind, matches at IoU >= 0.5.

Used by the evaluation runner (layout_eval.py, `pagestream eval layout`) and the tests; pure functions over
(kind, box) pairs so that any layout method can be scored the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from pagestream.agents.common.geometry import iou

Labelled = tuple[str, Sequence[int]]


def match_counts(
    predicted: Iterable[Labelled], truth: Iterable[Labelled], threshold: float = 0.5
) -> dict[str, Counter]:
    """Per kind: true positives, predictions and ground-truth regions (greedy one-to-one by IoU)."""
    predicted, truth = list(predicted), list(truth)
    counts: dict[str, Counter] = {}
    for kind in {k for k, _ in predicted} | {k for k, _ in truth}:
        preds = [b for k, b in predicted if k == kind]
        gts = [b for k, b in truth if k == kind]
        pairs = sorted(((iou(p, g), i, j) for i, p in enumerate(preds) for j, g in enumerate(gts)), reverse=True)
        used_p: set[int] = set()
        used_g: set[int] = set()
        for value, i, j in pairs:
            if value < threshold:
                break
            if i not in used_p and j not in used_g:
                used_p.add(i)
                used_g.add(j)
        counts[kind] = Counter(tp=len(used_p), predicted=len(preds), truth=len(gts))
    return counts


def add_counts(total: dict[str, Counter], page: dict[str, Counter]) -> None:
    for kind, counter in page.items():
        total.setdefault(kind, Counter()).update(counter)


def f1_table(total: dict[str, Counter]) -> dict[str, dict[str, float]]:
    """Precision, recall and F1 per kind from summed counts."""
    out = {}
    for kind, c in sorted(total.items()):
        precision = c["tp"] / c["predicted"] if c["predicted"] else 0.0
        recall = c["tp"] / c["truth"] if c["truth"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[kind] = {
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
            "truth": c["truth"],
            "predicted": c["predicted"],
        }
    return out
