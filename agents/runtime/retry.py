"""Retries: a message that failed transiently waits in a retry topic, then goes back to its stage.

Stages call ``on_failure`` with the failed event. A permanent error comes back to the stage,
which dead-letters it as before; a transient one is published as a RetryEvent (the failed
message's key and value, the attempt, the not-before time) on the retry topic of its delay and
the stage moves on; after the last allowed attempt the stage gets a ``Quarantined`` error and
completes the page or document as failed with that reason.

The retry agent (``register``) re-delivers due RetryEvents to the stage's input topic with the
next attempt number in a header. It is a plain aiokafka consumer (group ``<app_id>-retry``), not
a Faust agent: Faust waits for the event an agent is processing before every rebalance and at
shutdown (``stream_wait_empty``), so an agent sleeping until a message is due would hold up the
whole worker. Instead the agent pauses only the one retry partition whose first message is not
due yet (seek back to it, ``pause``), keeps polling (so it stays in its group), and resumes that
partition when the message is due. All messages of a retry topic wait equally long, so each
partition is in due order and the first message is always the next one due.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from pagestream.agents.common.records import now_ms
from pagestream.agents.runtime.context import SourceInfo, StageContext
from pagestream.streams import kafka, metrics, topics
from pagestream.streams.backoff import Backoff
from pagestream.streams.errors import DecodeError, PagestreamError, Quarantined
from pagestream.streams.records import RetryEvent
from pagestream.streams.retry_policy import ATTEMPT_HEADER, RetryPolicy, attempt_of, decide

log = logging.getLogger(__name__)


def attempt_of_event(event: faust.types.EventT | None) -> int:
    """The attempt an event is at its stage (1 unless the retry agent re-delivered it)."""
    return attempt_of(event.headers if event is not None else None)


async def on_failure(
    ctx: StageContext,
    stage: str,
    error: BaseException,
    event: faust.types.EventT | None,
    *,
    doc_id: str,
    tenant: str | None,
    page_no: int | None = None,
    input_ref: str | None = None,
    versions: dict[str, str] | None = None,
) -> BaseException | None:
    """Route a failed message. None: it was sent for a retry and the stage is done with it.
    Otherwise the error the stage reports as a failure: the original one (permanent), or
    ``Quarantined`` (transient, but the last attempt allowed)."""
    attempt = attempt_of_event(event)
    decision = decide(RetryPolicy.of(ctx.settings), error, attempt, now_ms())
    if decision.action == "dead_letter" or event is None or event.message.value is None:
        return error
    if decision.action == "quarantine":
        log.error("%s quarantined %s page %s after %d attempts: %r", stage, doc_id, page_no, attempt, error)
        metrics.QUARANTINED.labels(stage.lower()).inc()
        return Quarantined(stage, error, attempt)
    assert decision.topic is not None
    record = RetryEvent(
        doc_id=doc_id,
        tenant=tenant,
        page_no=page_no,
        stage=stage,
        target_topic=event.message.topic,
        key=event.message.key,
        value=event.message.value,
        attempt=attempt,
        max_attempts=ctx.settings.retry_max_attempts,
        delay_ms=decision.delay_ms,
        not_before=decision.not_before_ms,
        error_code=error.code if isinstance(error, PagestreamError) else "internal_error",
        error_class=type(error).__name__,
        message=str(error) or type(error).__name__,
        input_ref=input_ref,
        versions=versions or {},
        at=now_ms(),
    )
    log.warning(
        "%s attempt %d failed for %s page %s (%s: %s); retry in %.1f s",
        stage, attempt, doc_id, page_no, type(error).__name__, error, decision.delay_ms / 1000,
    )  # fmt: skip
    await ctx.topic(decision.topic).send(key=event.message.key, value=ctx.codecs.encode(decision.topic, record))
    metrics.RETRIES.labels(stage.lower(), decision.topic.name).inc()
    return None


async def retry_or_dead_letter(
    ctx: StageContext,
    stage: str,
    failure: BaseException,
    event: faust.types.EventT | None,
    *,
    doc_id: str,
    tenant: str | None,
    page_no: int | None = None,
    input_ref: str | None = None,
    versions: dict[str, str] | None = None,
) -> BaseException | None:
    """``on_failure``, and when the stage must give up: the error logged (unless it is bad input we
    named), dead-lettered with the source message, and returned so the stage still emits its
    FAILED result. None: the message was sent for a retry."""
    exc = await on_failure(ctx, stage, failure, event, doc_id=doc_id, tenant=tenant, page_no=page_no,
                           input_ref=input_ref)  # fmt: skip
    if exc is None:
        return None
    if not isinstance(exc, PagestreamError):
        log.error("%s failed for %s page %s", stage, doc_id, page_no, exc_info=exc)
    await ctx.dead_letter(stage, exc, doc_id=doc_id, tenant=tenant, page_no=page_no, input_ref=input_ref,
                          source=SourceInfo.of(event), versions=versions)  # fmt: skip
    return exc


# --- the retry agent: retry.1..3 -> the stages' input topics, when due ---------------------------


def _millis(value: Any) -> int:
    """A decoded timestamp-millis (fastavro gives aware datetimes) as epoch milliseconds."""
    return value if isinstance(value, int) else int(value.timestamp() * 1000)


class _ForgetRevoked(ConsumerRebalanceListener):
    def __init__(self, held: dict[TopicPartition, int]) -> None:
        self.held = held

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            self.held.pop(tp, None)  # the next owner starts at the committed offset: the held message

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        return None


class Redeliverer:
    """Consumes the retry topics and re-delivers each message when it is due."""

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.specs = {spec.name: spec for spec in topics.RETRY_TIERS}
        self.held: dict[TopicPartition, int] = {}  # paused partition -> when its first message is due

    async def run(self) -> None:
        settings = self.ctx.settings
        consumer = kafka.aio_consumer(settings, "retry", group=f"{settings.app_id}-retry")
        producer = kafka.aio_producer(settings, "retry")
        consumer.subscribe(list(self.specs), listener=_ForgetRevoked(self.held))
        await producer.start()
        await consumer.start()
        try:
            while True:
                await self.step(consumer, producer)
        finally:
            await consumer.stop()
            await producer.stop()

    async def step(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer) -> None:
        """Resume partitions whose message is due, then re-deliver what is due in one poll."""
        due = [tp for tp, at in self.held.items() if at <= now_ms()]
        for tp in due:
            del self.held[tp]
        if due:
            consumer.resume(*due)
        batch = await consumer.getmany(timeout_ms=250, max_records=200)
        commits: dict[TopicPartition, int] = {}

        def skip(msg: ConsumerRecord, exc: DecodeError) -> None:  # not ours: nothing to re-deliver
            log.error("retry agent skips %s:%d:%d: %s", msg.topic, msg.partition, msg.offset, exc)
            commits[TopicPartition(msg.topic, msg.partition)] = msg.offset + 1

        for tp, messages in batch.items():
            for msg, retry in kafka.decoded(self.ctx.codecs, self.specs, messages, skip, kafka.aiokafka_fields):
                not_before = _millis(retry["not_before"])
                if not_before > now_ms():  # wait on this partition only
                    consumer.seek(tp, msg.offset)
                    consumer.pause(tp)
                    self.held[tp] = not_before
                    break
                await producer.send_and_wait(
                    retry["target_topic"],
                    key=retry["key"],
                    value=retry["value"],
                    headers=[(ATTEMPT_HEADER, str(retry["attempt"] + 1).encode())],
                )
                metrics.REDELIVERED.labels(tp.topic).inc()
                commits[tp] = msg.offset + 1
        if commits:
            await consumer.commit(commits)


def register(app: faust.App, ctx: StageContext) -> None:
    """Run the retry agent in every worker (the retry topics' partitions are shared among them)."""

    @app.task
    async def retry_agent() -> None:
        backoff = Backoff(first=5.0, ceiling=60.0)
        while True:
            started = time.monotonic()
            try:
                await Redeliverer(ctx).run()
            except asyncio.CancelledError:
                raise
            except Exception:  # e.g. the broker restarting: start again, the offsets are committed
                if time.monotonic() - started > backoff.ceiling:  # it had been running: a new outage
                    backoff.reset()
                delay = backoff.next()
                log.exception("retry agent stopped; restarting in %.0f s", delay)
                await asyncio.sleep(delay)
