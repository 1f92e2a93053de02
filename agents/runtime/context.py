"""What every stage's Faust agent shares in one worker: settings, codecs, object store, pool.

Built once per worker process. The agents stay thin: decode, call the pure core (CPU work in the
process pool, object-store I/O in threads), encode and send; every failure becomes data (an
ErrorEvent on the dead-letter topic plus a FAILED result) and the stream goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import faust

from pagestream.agents.common.records import now_ms, without_text
from pagestream.connectors.objectstore import ObjectStore
from pagestream.streams import metrics, topics
from pagestream.streams.codec import Codecs
from pagestream.streams.errors import DecodeError, PagestreamError, Quarantined
from pagestream.streams.offsets import not_finished
from pagestream.streams.records import DocumentProgress, ErrorEvent, Record
from pagestream.streams.settings import Settings
from pagestream.streams.topics import TopicSpec

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass
class SourceInfo:
    """Where a failing message came from, for the dead-letter event."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key: bytes | None = None
    value: bytes | None = None

    @classmethod
    def of(cls, event: faust.types.EventT | None) -> SourceInfo:
        if event is None:
            return cls()
        msg = event.message
        return cls(msg.topic, msg.partition, msg.offset, msg.key, msg.value)

    def position(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


class StageContext:
    """Shared plumbing of the stages of one worker process."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        codecs: Codecs,
        store: ObjectStore,
        cpu: Executor,
    ) -> None:
        self.app = app
        self.settings = settings
        self.codecs = codecs
        self.store = store
        self.cpu = cpu
        self.io = ThreadPoolExecutor(max_workers=8, thread_name_prefix="pagestream-io")
        self.topics = {
            spec.name: app.topic(
                spec.name,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=settings.topic_partitions,
            )
            for spec in topics.ALL_TOPICS
        }

    def topic(self, spec: TopicSpec) -> faust.TopicT:
        return self.topics[spec.name]

    async def run_cpu(self, fn: Callable[..., T], *args: Any) -> T:
        with metrics.cpu_task(fn.__name__):
            return await asyncio.get_running_loop().run_in_executor(self.cpu, fn, *args)

    async def run_io(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.io, fn, *args)

    async def emit(
        self,
        spec: TopicSpec,
        record: Record | dict[str, Any],
        doc_id: str,
        page_no: int | None = None,
        *,
        durable: bool = False,
    ) -> None:
        """Send ``record``; with ``durable``, return only once the broker has acknowledged it.

        A stage that remembers in a table that it finished (assembly, validation) sends its output
        durably first: a crash between the two then repeats the output instead of losing it."""
        sent = await self.topic(spec).send(
            key=topics.key_for(spec, doc_id, page_no), value=self.codecs.encode(spec, record)
        )
        if durable:
            await sent

    async def complete(self, record: dict[str, Any]) -> None:
        """Send a document's DocumentCompleted (``common.records.completed_record``), whichever
        stage finished it: without page texts when too large for an event (readers use
        result_uri), and durably, so a stage that then remembers the document as done cannot lose
        its result."""
        if len(self.codecs.encode(topics.DOCS_COMPLETED, record)) > self.settings.max_event_bytes:
            record = without_text(record)
        await self.emit(topics.DOCS_COMPLETED, record, record["doc_id"], durable=True)
        metrics.DOCUMENTS_COMPLETED.labels(record["status"]).inc()

    async def progress(
        self,
        doc_id: str,
        tenant: str,
        stage: str,
        status: str,
        *,
        page_no: int | None = None,
        page_count: int | None = None,
        pages_done: int | None = None,
        message: str | None = None,
        duration_ms: int | None = None,
        versions: dict[str, str] | None = None,
    ) -> None:
        record = DocumentProgress(
            doc_id=doc_id,
            tenant=tenant,
            stage=stage,
            status=status,
            page_no=page_no,
            page_count=page_count,
            pages_done=pages_done,
            message=message,
            duration_ms=duration_ms,
            at=now_ms(),
            versions=versions,
        )
        await self.emit(topics.DOCS_PROGRESS, record, doc_id)
        metrics.record_progress(stage, status, page_no, duration_ms)

    async def dead_letter(
        self,
        stage: str,
        error: BaseException,
        *,
        doc_id: str | None = None,
        tenant: str | None = None,
        page_no: int | None = None,
        input_ref: str | None = None,
        source: SourceInfo | None = None,
        versions: dict[str, str] | None = None,
    ) -> None:
        source = source or SourceInfo()
        attempts, quarantined = 1, None
        if isinstance(error, Quarantined):  # report the cause, with the attempts it took
            attempts, quarantined, error = error.attempts, True, error.cause
        code = error.code if isinstance(error, PagestreamError) else "internal_error"
        record = ErrorEvent(
            doc_id=doc_id,
            tenant=tenant,
            page_no=page_no,
            stage=stage,
            error_code=code,
            error_class=type(error).__name__,
            message=str(error) or type(error).__name__,
            input_ref=input_ref,
            source_topic=source.topic,
            source_partition=source.partition,
            source_offset=source.offset,
            raw_value=source.value,
            source_key=source.key,
            attempts=attempts,
            versions=versions or {},
            at=now_ms(),
            retryable=True if quarantined else (False if isinstance(error, PagestreamError) else None),
            quarantined=quarantined,
        )
        await self.emit(topics.PAGES_DLQ, record, doc_id or "unknown")
        metrics.record_error(stage, code)

    def close(self) -> None:
        self.cpu.shutdown(wait=False, cancel_futures=True)
        self.io.shutdown(wait=False, cancel_futures=True)


async def each_record(
    ctx: StageContext,
    stream: faust.StreamT,
    spec: TopicSpec,
    stage: str,
    handle: Callable[[faust.types.EventT, dict[str, Any]], Awaitable[None]],
) -> None:
    """Decode each event of ``stream`` and hand it to ``handle``, the stage's work on one message.

    An undecodable event goes to the dead-letter topic with its raw bytes. So does one whose
    ``handle`` raised: stages turn the failures they expect into data themselves, this is the net
    for the rest. Faust would acknowledge such a message and restart the agent, skipping it with
    nothing but a log line. A ``handle`` cancelled midway (the worker stopping) has not finished:
    its message does not count as done (streams/offsets.py), so it is processed again.
    """
    async for event in stream.events():
        try:
            record = ctx.codecs.decode(spec, event.value)
        except DecodeError as exc:
            await ctx.dead_letter(stage, exc, source=SourceInfo.of(event))
            continue
        try:
            await handle(event, record)
        except Exception as exc:
            source = SourceInfo.of(event)
            log.exception("%s failed on %s", stage, source.position())
            await ctx.dead_letter(
                stage,
                exc,
                doc_id=record.get("doc_id"),
                tenant=record.get("tenant"),
                page_no=record.get("page_no"),
                source=source,
            )
        except BaseException:
            not_finished(event.message)
            raise
