"""Server-sent event streams: one document's events, or every event of a tenant, resumable.

Event ids are Kafka positions. A document lives in one partition of each topic (the same key),
so its events are named ``topic:partition:offset``: the document stream sends its progress in
offset order and ends with its ``completed`` event. The tenant stream covers every partition, so
its id is the cursor of all of them, ``topic:partition:offset`` joined by commas, offset being the
last one delivered (-1: none yet). Either id, sent back as ``Last-Event-ID``, resumes exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from starlette.concurrency import iterate_in_threadpool

from pagestream.connectors.bridge.feed import STREAM_TOPICS, TP, Feed, FeedEvent, Subscriber, replay
from pagestream.connectors.problems import Problem
from pagestream.streams import topics
from pagestream.streams.codec import to_json

PROGRESS, COMPLETED = topics.DOCS_PROGRESS.name, topics.DOCS_COMPLETED.name
RETRY_MS = 2000  # how soon a disconnected EventSource reconnects


def message(event_id: str | None, kind: str, data: dict[str, Any] | str) -> bytes:
    """One SSE message (data on one line: JSON never contains a raw newline)."""
    lines = [] if event_id is None else [f"id: {event_id}"]
    lines += [f"event: {kind}", f"data: {data if isinstance(data, str) else to_json(data)}"]
    return ("\n".join(lines) + "\n\n").encode()


def _bad_id(value: str, why: str) -> Problem:
    return Problem(
        400,
        "bad_last_event_id",
        f"Last-Event-ID {value[:200]!r} {why}; send back an id this stream sent, or none to start afresh",
    )


def parse_position(value: str, partitions: dict[str, int], positions: dict[TP, int], full: str) -> tuple[TP, int]:
    """``topic:partition:offset`` checked against the topics and what the feed has seen."""
    parts = value.strip().rsplit(":", 2)
    if len(parts) != 3:
        raise _bad_id(full, "is not of the form topic:partition:offset")
    topic, partition_text, offset_text = parts
    if topic not in STREAM_TOPICS:
        raise _bad_id(full, f"names topic {topic!r}; stream ids name {' or '.join(STREAM_TOPICS)}")
    try:
        partition, offset = int(partition_text), int(offset_text)
    except ValueError:
        raise _bad_id(full, "has a partition or offset that is not an integer") from None
    if not 0 <= partition < partitions[topic]:
        raise _bad_id(full, f"names partition {partition}; {topic} has {partitions[topic]}")
    if not -1 <= offset < positions[(topic, partition)]:
        raise _bad_id(full, f"names offset {offset}, which this stream cannot have sent")
    return (topic, partition), offset


def parse_cursor(value: str, partitions: dict[str, int], positions: dict[TP, int]) -> dict[TP, int]:
    """A tenant stream's cursor: last delivered offset per partition."""
    cursor: dict[TP, int] = {}
    for item in value.split(","):
        tp, offset = parse_position(item, partitions, positions, value)
        cursor[tp] = offset
    return cursor


def cursor_id(cursor: dict[TP, int]) -> str:
    return ",".join(f"{topic}:{partition}:{offset}" for (topic, partition), offset in sorted(cursor.items()))


async def _replayed(feed: Feed, ranges: list[tuple[TP, int, int]], matches: Callable[[FeedEvent], bool]):
    iterator: Iterator[FeedEvent] = replay(feed.settings, feed.codecs, ranges, matches)
    async for event in iterate_in_threadpool(iterator):
        yield event


async def _live(feed: Feed, subscriber: Subscriber) -> AsyncIterator[FeedEvent | None]:
    """Live events; None at every keep-alive interval without one. Ends if the client fell behind."""
    while True:
        try:
            event = await asyncio.wait_for(subscriber.queue.get(), feed.settings.sse_keepalive_seconds)
        except TimeoutError:
            yield None
            continue
        if event is None:  # overflowed: the client reconnects and resumes from Kafka
            return
        yield event


def document_stream(
    feed: Feed, doc_id: str, last_event_id: str | None, visible: Callable[[str], bool] = lambda tenant: True
) -> AsyncIterator[bytes] | None:
    """The events of one document, or None when the client already had its final event (the
    handler answers 204, which tells an EventSource to stop reconnecting). A document of a tenant
    that is not ``visible`` to the caller is unknown. Raises Problem."""

    def matches(event: FeedEvent) -> bool:
        return event.doc_id == doc_id

    subscriber, positions, state = feed.subscribe(matches, doc_id)
    try:
        if state is None or not visible(state.tenant):
            raise Problem(
                404,
                "unknown_document",
                f"no document {doc_id!r} is known to the bridge (it keeps the "
                f"{feed.settings.bridge_index_size} most recently active documents)",
            )
        progress_tp, completed_tp = (PROGRESS, state.partition), (COMPLETED, state.partition)
        start = state.first_progress_offset if state.first_progress_offset is not None else positions[progress_tp]
        if last_event_id:
            tp, offset = parse_position(last_event_id, feed.partitions, positions, last_event_id)
            if tp not in (progress_tp, completed_tp):
                raise _bad_id(last_event_id, f"is not an event of document {doc_id}")
            if tp == completed_tp:
                if offset != state.result_offset:
                    raise _bad_id(last_event_id, f"is not the result of document {doc_id}")
                feed.unsubscribe(subscriber)
                return None
            start = offset + 1
    except BaseException:
        feed.unsubscribe(subscriber)
        raise

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            end = state.progress_end if state.result is not None else positions[progress_tp]
            async for event in _replayed(feed, [(progress_tp, start, end)], matches):
                yield message(event.id, event.kind, event.record)
            if state.result is not None:
                yield message(f"{COMPLETED}:{state.partition}:{state.result_offset}", "completed", state.result)
                return
            async for event in _live(feed, subscriber):
                if event is None:
                    yield b": keep-alive\n\n"
                    continue
                yield message(event.id, event.kind, event.record)
                if event.kind == "completed":
                    return
        finally:
            feed.unsubscribe(subscriber)

    return stream()


def tenant_stream(feed: Feed, tenant: str | None, last_event_id: str | None) -> AsyncIterator[bytes]:
    """Every progress and result event of a tenant (of all tenants when None), from now on or
    from the cursor in ``last_event_id``. Raises Problem for a bad cursor."""

    def matches(event: FeedEvent) -> bool:
        return tenant is None or event.tenant == tenant

    subscriber, positions, _ = feed.subscribe(matches)
    stream_tps = [tp for tp in positions if tp[0] in STREAM_TOPICS]
    try:
        # No id: start at the feed's position. With one: after what it names; a partition it does
        # not name (added since) is read from its beginning, so nothing is skipped.
        given = parse_cursor(last_event_id, feed.partitions, positions) if last_event_id else None
        cursor = {tp: (given.get(tp, -1) if given is not None else positions[tp] - 1) for tp in stream_tps}
    except BaseException:
        feed.unsubscribe(subscriber)
        raise

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            ranges = [(tp, cursor[tp] + 1, positions[tp]) for tp in stream_tps]
            async for event in _replayed(feed, ranges, matches):
                cursor[(event.topic, event.partition)] = event.offset
                yield message(cursor_id(cursor), event.kind, event.record)
            async for event in _live(feed, subscriber):
                if event is None:
                    yield b": keep-alive\n\n"
                    continue
                cursor[(event.topic, event.partition)] = event.offset
                yield message(cursor_id(cursor), event.kind, event.record)
        finally:
            feed.unsubscribe(subscriber)

    return stream()
