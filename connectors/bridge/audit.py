"""The audit topic: one AuditEvent per API request the bridge answers (who, which key, what,
which document, with what status), refused attempts included.

Produced without waiting (the request has been answered already); the producer is idempotent
with acks=all, and ``close`` flushes what is still queued.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from pagestream.connectors.tenants import Caller
from pagestream.streams import kafka, topics
from pagestream.streams.codec import Codecs
from pagestream.streams.errors import SchemaError
from pagestream.streams.records import AuditEvent
from pagestream.streams.settings import Settings

log = logging.getLogger(__name__)


class AuditLog:
    """Writes AuditEvents to ``audit.events``, keyed by tenant."""

    def __init__(self, settings: Settings, codecs: Codecs) -> None:
        self._codec = codecs[topics.AUDIT_EVENTS]
        self._producer = kafka.producer(settings, "bridge-audit", config={"linger.ms": 20})

    def record(
        self,
        caller: Caller | None,
        action: str,
        *,
        doc_id: str | None,
        method: str,
        path: str,
        status: int,
        client: str | None,
    ) -> dict[str, Any]:
        """Queue one event; returns it (what was sent)."""
        event = AuditEvent(
            event_id=uuid.uuid4().hex,
            at=int(time.time() * 1000),
            tenant=caller.tenant if caller else None,
            key_id=caller.key_id if caller else None,
            action=action,
            doc_id=doc_id,
            method=method,
            path=path[:2000],
            status=status,
            client=client,
        ).to_dict()
        try:
            value = self._codec.encode(event)
            self._producer.produce(topics.AUDIT_EVENTS.name, key=(event["tenant"] or "").encode(), value=value)
        except (SchemaError, BufferError) as exc:
            log.error("audit event not produced (%s): %s", exc, event)
        self._producer.poll(0)
        return event

    def close(self) -> None:
        if self._producer.flush(10):
            log.error("audit events still unsent after 10 s at shutdown")
