"""Every topic of the pipeline: name, record schema, key and partitions. Nowhere else.

Page-level stateless work is keyed ``doc_id/page_no`` so one document's pages spread over all
partitions; everything stateful is keyed ``doc_id`` so a document's state lives in one partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class KeyBy(Enum):
    DOC = "doc_id"
    PAGE = "doc_id/page_no"
    SOURCE = "key of the failed message"  # retry topics keep the key the stage read
    TENANT = "tenant"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    record: str  # Avro record name, file schemas/avro/<record>.avsc
    key_by: KeyBy
    compacted: bool = False

    @property
    def subject(self) -> str:
        """Schema registry subject (Confluent TopicNameStrategy)."""
        return f"{self.name}-value"


DOCS_SUBMITTED = TopicSpec("docs.submitted", "DocumentSubmitted", KeyBy.DOC)
PAGES_RAW = TopicSpec("pages.raw", "PageRendered", KeyBy.PAGE)
PAGES_OCR = TopicSpec("pages.ocr", "PageOcr", KeyBy.PAGE)
PAGES_LAYOUT = TopicSpec("pages.layout", "PageLayout", KeyBy.DOC)
# Classified pages reuse the PageLayout record (its optional classification fields filled in).
PAGES_CLASSIFIED = TopicSpec("pages.classified", "PageLayout", KeyBy.DOC)
DOCS_PROGRESS = TopicSpec("docs.progress", "DocumentProgress", KeyBy.DOC)
DOCS_ASSEMBLED = TopicSpec("docs.assembled", "DocumentAssembled", KeyBy.DOC)
DOCS_COMPLETED = TopicSpec("docs.completed", "DocumentCompleted", KeyBy.DOC)
PAGES_DLQ = TopicSpec("pages.dlq", "ErrorEvent", KeyBy.DOC)
# Retry tiers: a message that failed transiently waits in the tier of its delay (all messages of a
# tier wait equally long, so each partition is in due order) until the retry agent re-delivers it.
RETRY_TIERS: tuple[TopicSpec, ...] = tuple(TopicSpec(f"retry.{n}", "RetryEvent", KeyBy.SOURCE) for n in (1, 2, 3))
# Who submitted and who read what through the bridge (connectors/bridge/audit.py).
AUDIT_EVENTS = TopicSpec("audit.events", "AuditEvent", KeyBy.TENANT)
# Outside the pipeline's flow: true types given by people, and results of replays through
# another registered model (pagestream replay), sunk beside the pipeline's own results.
DOCS_LABELS = TopicSpec("docs.labels", "DocumentLabel", KeyBy.DOC)
DOCS_REPLAYED = TopicSpec("docs.replayed", "DocumentReplayed", KeyBy.DOC)
# Retrieval chunks of each completed document (also its chunks.jsonl), written by validation.
DOCS_CHUNKS = TopicSpec("docs.chunks", "DocumentChunk", KeyBy.DOC)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    DOCS_SUBMITTED,
    PAGES_RAW,
    PAGES_OCR,
    PAGES_LAYOUT,
    PAGES_CLASSIFIED,
    DOCS_PROGRESS,
    DOCS_ASSEMBLED,
    DOCS_COMPLETED,
    PAGES_DLQ,
    *RETRY_TIERS,
    AUDIT_EVENTS,
    DOCS_LABELS,
    DOCS_REPLAYED,
    DOCS_CHUNKS,
)

ASSEMBLY_TABLE = "assembly"
VALIDATION_TABLE = "validation"
CLASSIFY_TABLE = "classify"  # page votes per document, keyed by doc_id
SUBMISSIONS_TABLE = "submissions"  # first submission of each doc_id (duplicate rule), keyed by doc_id
SCHEMA_VERSION = "1"  # version of the event schemas in schemas/avro, written into every result


def changelog_topic(app_id: str, table: str) -> str:
    """Faust's changelog topic name for a table."""
    return f"{app_id}-{table}-changelog"


def doc_key(doc_id: str) -> bytes:
    return doc_id.encode()


def page_key(doc_id: str, page_no: int) -> bytes:
    return f"{doc_id}/{page_no}".encode()


def key_for(spec: TopicSpec, doc_id: str, page_no: int | None = None) -> bytes:
    """The Kafka key of an event on ``spec`` (page topics need ``page_no``)."""
    if spec.key_by is KeyBy.PAGE:
        if page_no is None:
            raise ValueError(f"{spec.name} is keyed by page: page_no is required")
        return page_key(doc_id, page_no)
    return doc_key(doc_id)
