"""The duplicate rule for submissions: one doc_id names one document.

Ingest keeps the first accepted submission of every doc_id in a Faust table keyed by doc_id
(tenant, sha256 of the content, the docs.submitted position that claimed it, and whether it was
rejected). A later submission of the same doc_id is

- processed when it is the same message again (Kafka redelivery after a crash: same position),
  a retry the retry agent re-delivered (attempt 2 or more), or a new submission after the first
  one was rejected at ingest (the submitter fixed the file, or a dead letter is replayed);
- ignored when it has the same tenant and content (idempotent: one DocumentCompleted);
- refused with a ``duplicate_doc_id`` ErrorEvent when the tenant or the content differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Entry = dict[str, Any]

ACCEPTED = ("new", "redelivery", "retry", "resubmission")


@dataclass(frozen=True)
class Admission:
    verdict: str  # new, redelivery, retry, resubmission (processed); duplicate, conflict (not)
    entry: Entry | None  # what the table keeps for the doc_id from now on (None: leave it)
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict in ACCEPTED


def entry_of(submission: dict[str, Any], position: str) -> Entry:
    return {"tenant": submission["tenant"], "sha256": submission["sha256"], "position": position, "failed": False}


def admit(entry: Entry | None, submission: dict[str, Any], position: str, attempt: int) -> Admission:
    """Whether ingest processes ``submission`` (read at ``position``, ``partition:offset``)."""
    if entry is None:
        return Admission("new", entry_of(submission, position))
    if attempt > 1:
        return Admission("retry", None)
    if entry["position"] == position:
        return Admission("redelivery", None)
    if entry["failed"]:
        return Admission("resubmission", entry_of(submission, position))
    if entry["tenant"] == submission["tenant"] and entry["sha256"] == submission["sha256"]:
        return Admission(
            "duplicate",
            None,
            f"doc_id {submission['doc_id']} was already submitted with the same content; "
            "this submission is ignored (one result per doc_id)",
        )
    return Admission(
        "conflict",
        None,
        f"doc_id {submission['doc_id']} already names another document (different content); a doc_id names "
        "one document: submit new content under a new doc_id (resubmitting is accepted only after a rejection)",
    )


def rejected(entry: Entry | None) -> Entry | None:
    """The entry once its submission was rejected: the doc_id may be submitted again."""
    return None if entry is None else {**entry, "failed": True}
