"""SQL off the request threads, fairly: one tenant's slow queries never hold up another's.

Queries run on a thread pool of their own (``workers`` threads), apart from the pool that serves
pages and files. Each tenant (each lane) has at most one query running and at most
``max_waiting`` waiting; a free thread goes to the next lane in round-robin order that has a
query waiting. So with two threads, a tenant sending fifty ``SELECT sleep(3)`` holds one thread
and its own queue, while every other tenant's query waits for at most the one ahead of it.

All bookkeeping happens on the event loop (no locks); only the query itself runs on a thread.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pagestream.streams.errors import PagestreamError

T = TypeVar("T")


class QueueFull(PagestreamError):
    """A lane already has as many queries waiting as it may; the caller should retry later."""

    code = "sql_queue_full"


class FairQueue:
    """Round-robin over lanes, one running query per lane, ``workers`` running in all."""

    def __init__(self, workers: int, max_waiting: int) -> None:
        self.workers = workers
        self.max_waiting = max_waiting
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sql")
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self._order: deque[str] = deque()  # lanes with queries waiting, next turn first
        self._running: set[str] = set()

    def waiting(self, lane: str) -> int:
        return len(self._waiting.get(lane, ()))

    async def run(self, lane: str, call: Callable[[], T]) -> T:
        """Run ``call`` on a SQL thread when it is ``lane``'s turn; ``QueueFull`` when the lane
        has ``max_waiting`` queries waiting already."""
        queue = self._waiting.setdefault(lane, deque())
        if len(queue) >= self.max_waiting:
            raise QueueFull(
                f"{len(queue)} queries of this caller are already waiting (at most {self.max_waiting}); "
                "retry when one has answered"
            )
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(turn)
        if lane not in self._order:
            self._order.append(lane)
        self._dispatch()
        try:
            await turn
        except asyncio.CancelledError:
            if turn in queue:  # never started: just leave the queue
                queue.remove(turn)
            elif not turn.cancelled():  # given a turn that nobody will use: pass it on
                self._finish(lane)
            raise
        running = asyncio.get_running_loop().run_in_executor(self._executor, call)
        running.add_done_callback(lambda _: self._finish(lane))
        return await asyncio.shield(running)

    def _dispatch(self) -> None:
        """Give free threads to waiting lanes, in turn, one running query per lane."""
        for _ in range(len(self._order)):
            if len(self._running) >= self.workers:
                return
            lane = self._order.popleft()
            queue = self._waiting.get(lane)
            while queue and queue[0].done():  # its caller went away before its turn
                queue.popleft()
            if not queue:
                self._waiting.pop(lane, None)
                continue
            if lane in self._running:
                self._order.append(lane)
                continue
            self._running.add(lane)
            queue.popleft().set_result(None)
            if queue:
                self._order.append(lane)
            else:
                self._waiting.pop(lane, None)

    def _finish(self, lane: str) -> None:
        self._running.discard(lane)
        self._dispatch()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
