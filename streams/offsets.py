"""Offset commits that never pass a message no stream has finished.

faust-streaming 0.15.3 commits the first run of consecutive acknowledged offsets of a partition and
only holds back when that run starts *more than one* offset after the committed position
(``Consumer._new_offset``), or not at all when the partition has no committed offset yet. So
whenever the message at the committed position is not acknowledged and the next one is, Faust
commits over it. Three ways this happened under the chaos runs, each losing a document:

1. Agents with ``concurrency > 1`` (ingest, OCR, layout) finish messages out of order: the message
   at the committed position is still being processed when the next one is done (faust-streaming
   issue #606, upstream fix proposed in PR #707).
2. After a rebalance a stream skips the messages it fetched in the previous consumer generation but
   acknowledges them anyway, "so that the lag does not grow" (``Stream.__aiter__``); the skipped
   offset counts as done before its fetched-again copy is processed.
3. A message is never handed to a stream at all. A CI chaos run kept the evidence: offset 1 of
   ``pages.layout-3`` (a document's second page, a partition never committed before) was fetched
   in the first generation, a rebalance cleared the agents' queues, and in the second generation
   the classify agent processed offsets 0 and 2 onwards; Faust committed over 1 and the page was
   never classified. Its vote is absent from the classify table's changelog.

This consumer commits only a run that starts exactly at the committed position: every offset in it
acknowledged by a stream that took the message (or known not to exist: Faust's gaps of
transaction markers), none past the oldest message still in flight. A partition without a
committed offset starts at its earliest offset, as ``auto_offset_reset=earliest`` reads it, and is
sought there. When later offsets are done but the one at the committed position was never taken
(case 3, seen on two checks in a row), the partition is sought back to it so it is fetched again;
messages after it may then be processed twice, which downstream deduplication absorbs (at least
once, never lost). The fetched-again copy queues behind what the agent already holds, so the
same seek is repeated only after a wait that doubles (60 s, 120 s, ...), never in a loop.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import faust
from faust.transport.drivers.aiokafka import Consumer
from faust.types import TP, Message
from mode import Service

from pagestream.streams.backoff import Backoff

log = logging.getLogger(__name__)

REFETCH_CHECK_SECONDS = 5.0
REFETCH_RETRY_SECONDS = 60.0


@dataclass
class Refetch:
    """A partition's offset found never processed: when to seek back to it (again)."""

    offset: int
    sought_at: float | None = None
    wait: float = 0.0
    backoff: Backoff = field(default_factory=lambda: Backoff(first=REFETCH_RETRY_SECONDS, ceiling=math.inf))

    def due(self, now: float) -> bool:
        """Seek on the second sighting, then again only after the (doubling) wait."""
        if self.sought_at is not None and now - self.sought_at < self.wait:
            return False
        self.sought_at, self.wait = now, self.backoff.next()
        return True


class InFlightSafeConsumer(Consumer):
    """Faust's aiokafka consumer, committing only offsets a stream has finished, in order."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._refetches: dict[TP, Refetch] = {}

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

    def _done_offsets(self, tp: TP) -> set[int]:
        """Offsets of ``tp`` acknowledged or known not to exist (Faust's gaps), up to the last acked."""
        acked = self._acked[tp]
        done = set(acked)
        if acked:
            for interval in self._gap[tp].overlap(0, max(acked) + 1):
                done.update(range(interval.begin, interval.end))
        return done

    def _new_offset(self, tp: TP) -> int | None:
        committed = self._committed_offset[tp]
        if committed is None:  # set when the partition is assigned (perform_seek); until then nothing
            return None
        done = self._done_offsets(tp)
        oldest = self.in_flight_offset(tp)
        end = committed
        while end in done and (oldest is None or end < oldest):
            end += 1
        if end == committed:
            return None
        acked = self._acked[tp]
        acked[:] = [offset for offset in acked if offset >= end]  # same list: Faust keeps a reference
        self._acked_index[tp].difference_update(range(committed, end))
        self._gap[tp].chop(0, end)
        return end

    def dropped_offset(self, tp: TP) -> int | None:
        """The committed position's offset when later offsets are done but no stream holds it."""
        committed = self._committed_offset[tp]
        if committed is None or not self._acked[tp]:
            return None
        done = self._done_offsets(tp)
        if committed in done or max(done) < committed:
            return None
        oldest = self.in_flight_offset(tp)
        if oldest is not None and oldest <= committed:
            return None
        return committed

    async def perform_seek(self) -> None:
        """Seek to the committed offsets; a stream partition never committed starts at its earliest."""
        await super().perform_seek()
        fresh = [
            tp
            for tp in self.assignment()
            if tp.topic in self.app.topics.acking_topics and self._committed_offset[tp] is None
        ]
        if fresh:
            earliest = await self.earliest_offsets(*fresh)
            for tp in fresh:
                offset = earliest.get(tp) or 0
                await self.seek(tp, offset)
                self._committed_offset[tp] = offset

    @Service.timer(REFETCH_CHECK_SECONDS)
    async def _refetch_dropped(self) -> None:
        """Seek back to a message no stream was handed while later ones were (see the module doc)."""
        if not self.flow_active or self.app.rebalancing:
            return
        assigned, now = self.assignment(), time.monotonic()
        for tp in list(self._acked):
            offset = self.dropped_offset(tp) if tp in assigned else None
            known = self._refetches.get(tp)
            if offset is None or known is None or known.offset != offset:
                self._refetches.pop(tp, None)
                if offset is not None:
                    self._refetches[tp] = Refetch(offset)  # first sighting: look again on the next check
                continue
            if known.due(now):
                log.warning("offset %s of %s was never processed while later ones were: fetching it again", offset, tp)
                await self.seek(tp, offset)


def not_finished(message: Message) -> None:
    """Mark a message whose processing was interrupted: its acknowledgement then does not count as
    done, so no commit passes it and it is fetched again (as a skipped message is)."""
    message.tracked = False


def use_in_flight_safe_commits(app: faust.App) -> None:
    """Make ``app`` build its consumer from InFlightSafeConsumer (call before the worker starts)."""
    app.transport.Consumer = InFlightSafeConsumer
