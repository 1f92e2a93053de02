"""Classify's pure core: a document's type from the votes of its pages, as table state.

Each page's probability distribution is a vote (``classifier.votes``) kept per document; the
document's type is decided from the votes so far, and once every page has voted the state
shrinks to the decision, so a late duplicate gets the same answer. Plain dicts in and out: the
state lives in a Faust table keyed by doc_id.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pagestream.agents.classify.classifier import votes
from pagestream.agents.classify.classifier.votes import Decision
from pagestream.streams.records import PageLayout

State = dict[str, Any]


def new_state(page_count: int) -> State:
    return {"page_count": page_count, "votes": {}, "reported": False, "final": None}


def add_vote(state: State | None, page: dict, vote: votes.Vote | None) -> State:
    """Record a page's vote (None: the page casts none); a repeated page replaces its vote."""
    state = state or new_state(page["page_count"])
    if state["final"] is not None:
        return state
    cast = vote or {"probs": {}, "weight": 0.0}
    return {**state, "votes": {**state["votes"], str(page["page_no"]): cast}}


def decision_of(state: State, problem: str | None) -> Decision:
    """The document type so far; ``problem`` (why the model could not type a page) is the reason
    when no page has voted yet."""
    if state["final"] is not None:
        return Decision(**state["final"])
    decision = votes.decide(state["votes"])
    if decision.pages == 0 and problem:
        return Decision("other", 0.0, 0, problem)
    return decision


def finish_if_complete(state: State, decision: Decision) -> State:
    """All pages seen: keep only the decision (small state; duplicates get the same answer)."""
    if state["final"] is None and len(state["votes"]) >= state["page_count"]:
        return {**state, "votes": {}, "final": asdict(decision)}
    return state


def pages_seen(state: State) -> int:
    return state["page_count"] if state["final"] is not None else len(state["votes"])


def classified_record(
    page: dict, prediction: Any | None, decision: Decision, seen: int, model_label: str | None
) -> dict:
    """The PageLayout event with its classification fields filled in."""
    classification = {
        "page_type": prediction.label if prediction else None,
        "page_type_confidence": round(prediction.confidence, 4) if prediction else None,
        "doc_type": decision.doc_type,
        "doc_type_confidence": decision.confidence,
        "doc_type_pages": seen,
        "doc_type_reason": decision.reason,
        "classifier_version": model_label,
    }
    return PageLayout(**(page | classification)).to_dict()
