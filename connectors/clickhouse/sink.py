"""The ClickHouse sink: batches rows and writes them, following quix-streams' sink contract.

``add(value, key, timestamp, headers, topic, partition, offset)`` takes one decoded message and
buffers its rows; ``flush()`` writes every buffered row (one insert per table) and returns the
Kafka offsets that are now safe to commit. A failed write keeps the batch and raises
``SinkBackpressureError`` with the time to wait before the next attempt (exponential backoff):
the caller pauses consumption, waits, and flushes again. Nothing is lost, because offsets are
committed only after a flush succeeded, and nothing is counted twice, because the tables replace
rows with the same key (``schema``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from clickhouse_connect.driver.client import Client

from pagestream.connectors.clickhouse.rows import Origin, Row, rows_for, undecodable_row
from pagestream.connectors.clickhouse.schema import TABLES, identifier
from pagestream.streams.backoff import Backoff
from pagestream.streams.errors import DecodeError, PagestreamError

log = logging.getLogger(__name__)

Partition = tuple[str, int]


class SinkBackpressureError(PagestreamError):
    """The destination refused a write; retry the flush after ``retry_after`` seconds."""

    code = "sink_backpressure"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class _Buffer:
    rows: list[tuple[str, Row]] = field(default_factory=list)
    next_offset: int = 0


class ClickHouseSink:
    """Buffered, idempotent writes of pipeline events into the analytics tables."""

    def __init__(
        self,
        client: Client,
        database: str,
        *,
        batch_rows: int = 5000,
        batch_seconds: float = 1.0,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._database = identifier(database)
        self.batch_rows = batch_rows
        self.batch_seconds = batch_seconds
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._buffers: dict[Partition, _Buffer] = {}
        self._oldest: float | None = None
        self.written: dict[str, int] = dict.fromkeys(TABLES, 0)
        self.failed_attempts = 0
        self.last_error: str | None = None

    # --- quix-streams sink contract --------------------------------------------------------

    def add(
        self,
        value: dict[str, Any] | DecodeError,
        key: bytes | None,
        timestamp: int,
        headers: list[tuple[str, bytes]] | None,
        topic: str,
        partition: int,
        offset: int,
    ) -> None:
        """Buffer the rows of one message (``value`` decoded, or the error that decoding raised)."""
        origin = Origin(topic, partition, offset, timestamp)
        try:
            rows = rows_for(value, origin)
        except (KeyError, TypeError, ValueError) as exc:  # a record our tables cannot hold: keep it as an error
            problem = DecodeError(
                f"{topic}: record does not fit the analytics tables ({exc!r})", None, code="sink_bad_record"
            )
            rows = [("errors", undecodable_row(problem, origin))]
        buffer = self._buffers.setdefault((topic, partition), _Buffer())
        buffer.rows.extend(rows)
        buffer.next_offset = max(buffer.next_offset, offset + 1)
        if self._oldest is None:
            self._oldest = self._clock()

    def flush(self) -> dict[Partition, int]:
        """Write every buffered row; returns ``{(topic, partition): next offset}`` to commit.

        On failure the rows stay buffered and ``SinkBackpressureError`` says when to retry.
        """
        if not self._buffers:
            return {}
        by_table: dict[str, list[Row]] = {}
        for buffer in self._buffers.values():
            for table, row in buffer.rows:
                by_table.setdefault(table, []).append(row)
        try:
            for table in TABLES:
                if by_table.get(table):
                    columns = list(by_table[table][0])  # every row of a table is built by one function
                    data = [[row[c] for c in columns] for row in by_table[table]]
                    self._client.insert(f"{self._database}.{table}", data, column_names=columns)
        except Exception as exc:  # connection refused, server errors, a detached table: all transient here
            self.failed_attempts += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            delay = self.backoff.next()
            log.warning("ClickHouse write failed (%s); retrying in %.1f s", self.last_error[:300], delay)
            raise SinkBackpressureError(f"ClickHouse write failed: {self.last_error}", delay) from exc
        for table, rows in by_table.items():
            self.written[table] += len(rows)
        offsets = {tp: buffer.next_offset for tp, buffer in self._buffers.items()}
        self._buffers.clear()
        self._oldest = None
        self.backoff.reset()
        self.last_error = None
        return offsets

    # --- batching ---------------------------------------------------------------------------

    @property
    def pending_rows(self) -> int:
        return sum(len(b.rows) for b in self._buffers.values())

    def due(self) -> bool:
        """Whether a flush is due: enough rows, or the oldest buffered row waited long enough."""
        if self._oldest is None:
            return False
        return self.pending_rows >= self.batch_rows or self._clock() - self._oldest >= self.batch_seconds

    def drop(self, partitions: Iterable[Partition]) -> None:
        """Forget unwritten rows of partitions this consumer lost: their new owner reads them again."""
        for tp in partitions:
            self._buffers.pop(tp, None)
        if not self._buffers:
            self._oldest = None
