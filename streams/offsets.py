"""Offset commits that never pass a message still being processed.

Agents with ``concurrency > 1`` (ingest, OCR, layout) finish messages out of order. faust-streaming
0.15.3 commits the first run of consecutive acknowledged offsets, and only holds back when that run
starts more than one offset after the committed position (``Consumer._new_offset``). When the
message *at* the committed position is still being processed and the next one is already acked,
the run starts exactly one after it and Faust commits over it; with no commit yet for a partition
it does not hold back at all. A worker killed at that moment restarts after a message it never
finished: the document is lost (faust-streaming issue #606, upstream fix proposed in PR #707).

A second way to commit over an unprocessed message: after a rebalance, a stream skips the
messages still queued from the previous consumer generation (Faust seeks to the committed offset
and fetches them again) but acknowledges them anyway, "so that the lag does not grow"
(``Stream.__aiter__``). The skipped offset then counts as done: the next commit can pass it while
its fetched-again copy still waits, and a seek after the next rebalance (a broker restart, a
killed worker) starts after it. The short CI chaos run lost a document's second page this way
at classification, an agent without concurrency.

This consumer caps every commit at the smallest offset of a message a stream has taken but not yet
acknowledged, and does not count an acknowledgement of a message no stream took (a skipped one).
Everything else (gaps of compacted or transactional topics, flushing the producer before the
commit) stays Faust's own.
"""

from __future__ import annotations

import faust
from faust.transport.drivers.aiokafka import Consumer
from faust.types import TP, Message


class InFlightSafeConsumer(Consumer):
    """Faust's aiokafka consumer, committing no further than the oldest in-flight message."""

    def in_flight_offset(self, tp: TP) -> int | None:
        """The smallest offset of ``tp`` that a stream took and has not acknowledged yet."""
        committed = self._committed_offset[tp]
        offsets = [
            m.offset
            for m in tuple(self._unacked_messages)
            if m.tp == tp and not m.acked and (committed is None or m.offset >= committed)
        ]
        return min(offsets, default=None)

    def ack(self, message: Message) -> bool:
        if not message.tracked and self.app.topics.acks_enabled_for(message.topic):
            # Skipped by a stream, never processed: it is fetched again after the seek, and that
            # copy's acknowledgement is the one that counts.
            message.acked = True
            return False
        return super().ack(message)

    def _new_offset(self, tp: TP) -> int | None:
        oldest = self.in_flight_offset(tp)
        if oldest is None:
            return super()._new_offset(tp)
        acked = self._acked[tp]
        held = [offset for offset in acked if offset > oldest]
        acked[:] = [offset for offset in acked if offset < oldest]  # same list: Faust keeps a reference
        try:
            return super()._new_offset(tp)
        finally:
            acked.extend(held)


def use_in_flight_safe_commits(app: faust.App) -> None:
    """Make ``app`` build its consumer from InFlightSafeConsumer (call before the worker starts)."""
    app.transport.Consumer = InFlightSafeConsumer
