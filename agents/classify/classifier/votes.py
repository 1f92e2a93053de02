"""From page evidence to a document type: a weighted mean of the pages' type distributions.

A page's weight grows with its words (up to ``FULL_WEIGHT_WORDS``), so a near-empty back page or
a cover with a logo does not outvote the pages that carry the content; a page without words
casts no vote. The document's confidence is the mean probability of the winning type.
Pure functions on plain dicts: the classify agent keeps the votes in a Faust table, evaluation
calls the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

FULL_WEIGHT_WORDS = 40
NO_TEXT = "no page of the document has text to classify (pages empty or failed)"

Vote = dict  # {"probs": {type: p}, "weight": w}


@dataclass(frozen=True)
class Decision:
    doc_type: str
    confidence: float
    pages: int  # pages that voted
    reason: str | None = None  # why the decision is not the model's (no text, no model)


def page_weight(words: int) -> float:
    return min(words, FULL_WEIGHT_WORDS) / FULL_WEIGHT_WORDS


def vote(probs: dict[str, float], words: int) -> Vote:
    return {"probs": {k: round(v, 6) for k, v in probs.items()}, "weight": page_weight(words)}


def decide(votes: dict[str, Vote], fallback: str = "other") -> Decision:
    """The document type from the votes cast so far (keys are page numbers as strings)."""
    total: dict[str, float] = {}
    weight = 0.0
    for v in votes.values():
        if v["weight"] <= 0:
            continue
        weight += v["weight"]
        for label, p in v["probs"].items():
            total[label] = total.get(label, 0.0) + v["weight"] * p
    if weight == 0:
        return Decision(fallback, 0.0, 0, NO_TEXT)
    label = max(total, key=lambda k: total[k])
    voters = sum(1 for v in votes.values() if v["weight"] > 0)
    return Decision(label, round(total[label] / weight, 4), voters)
