"""The one exception hierarchy of pagestream.

Every error carries a stable machine-readable ``code`` (it lands in ErrorEvent.error_code and
DocumentCompleted.error_code) and a message that names what was wrong and what is accepted.
"""

from __future__ import annotations


class PagestreamError(Exception):
    """Base of every error pagestream raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class InvalidDocument(PagestreamError):
    """The submitted file is not a document pagestream accepts (type, size, pages, corruption)."""

    code = "invalid_document"


class PageFailed(PagestreamError):
    """One page could not be processed by a stage (the document goes on without it)."""

    code = "page_failed"


class DecodeError(PagestreamError):
    """A Kafka message could not be decoded; ``raw`` keeps the bytes for the dead-letter topic."""

    code = "bad_message"

    def __init__(self, message: str, raw: bytes | None, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.raw = raw


class SchemaError(PagestreamError):
    """A schema is invalid, unknown to the registry, or incompatible with its predecessor."""

    code = "schema_error"


class ServiceError(PagestreamError):
    """A local service (Kafka, registry, object store, worker) could not be started or reached."""

    code = "service_error"


class TransientError(PagestreamError):
    """A dependency failed in a way that may pass (store unreachable, engine crashed or timed out):
    the stage retries the message with backoff (``streams.retry_policy``) before quarantining it."""

    code = "transient"


class InjectedFault(TransientError):
    """A failure injected on purpose (setting ``faults``) to exercise retries and quarantine."""

    code = "injected_fault"


class Quarantined(PagestreamError):
    """A message failed with transient errors at every allowed attempt and was given up."""

    code = "quarantined"

    def __init__(self, stage: str, cause: BaseException, attempts: int) -> None:
        detail = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
        super().__init__(f"quarantined after {attempts} attempts at {stage}: {detail}")
        self.cause = cause
        self.attempts = attempts


class DuplicateDocument(PagestreamError):
    """A doc_id was submitted again with other content: a doc_id names one document."""

    code = "duplicate_doc_id"
