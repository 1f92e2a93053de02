"""The dead-letter topic as a work queue for people: list, show and replay failed messages.

Every ErrorEvent carries the failing message's key and value as read from its source topic, so
replay re-publishes exactly that message; the stage then processes it again (after the cause,
e.g. a limit or an outage, was fixed). A replayed message starts again at attempt 1, with the
full retry budget, also when it had been quarantined. A letter whose error is not retryable (the
same message fails the same way until its cause is fixed) is replayed only when forced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pagestream.streams import kafka, topics
from pagestream.streams.codec import Codecs, registry_client
from pagestream.streams.errors import PagestreamError
from pagestream.streams.settings import Settings

Filter = Callable[[dict[str, Any]], bool]


def dead_letters(settings: Settings, keep: Filter = lambda _r: True) -> Iterator[dict[str, Any]]:
    """Every ErrorEvent on pages.dlq (oldest first per partition) that ``keep`` accepts."""
    codecs = Codecs(registry_client(settings.registry_url), [topics.PAGES_DLQ])
    for msg, record in kafka.read_to_end(settings, codecs, topics.PAGES_DLQ, "dlq"):
        record["dlq_id"] = f"{msg.partition()}:{msg.offset()}"
        if keep(record):
            yield record


def matcher(
    doc_id: str | None = None, code: str | None = None, dlq_id: str | None = None, quarantined: bool = False
) -> Filter:
    """Keep dead letters of a document, an error code, one position, or only quarantined ones
    (given up after every retry)."""

    def keep(record: dict[str, Any]) -> bool:
        return (
            (doc_id is None or record["doc_id"] == doc_id)
            and (code is None or record["error_code"] == code)
            and (dlq_id is None or record["dlq_id"] == dlq_id)
            and (not quarantined or bool(record.get("quarantined")))
        )

    return keep


COLUMNS = ("ID", "AT (UTC)", "STAGE", "CODE", "TENANT", "DOCUMENT", "PAGE", "TRIES", "RETRY", "MESSAGE")


def table(records: list[dict[str, Any]]) -> list[str]:
    """Dead letters as aligned columns under a header line (``dlq list``). RETRY says whether the
    error is retryable: yes, no (replayed only with --force), or ? when the stage could not tell."""
    rows = [
        [
            r["dlq_id"],
            r["at"].strftime("%Y-%m-%d %H:%M:%S"),
            r["stage"],
            r["error_code"],
            r["tenant"] or "-",
            r["doc_id"] or "-",
            str(r["page_no"]) if r["page_no"] else "-",
            f"{r['attempts']}" + (" quarantined" if r.get("quarantined") else ""),
            {True: "yes", False: "no"}.get(r.get("retryable"), "?"),
            r["message"][:80],
        ]
        for r in records
    ]
    widths = [max(len(row[i]) for row in [list(COLUMNS), *rows]) for i in range(len(COLUMNS) - 1)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in [list(COLUMNS), *rows]
    ]


def held(record: dict[str, Any], force: bool) -> str | None:
    """Why a replay leaves a dead letter alone, or None when it re-publishes it."""
    if record["raw_value"] is None or record["source_topic"] not in {spec.name for spec in topics.ALL_TOPICS}:
        return f"no original message to replay ({record['error_code']})"
    if record.get("retryable") is False and not force:
        return (
            f"{record['error_code']} is not retryable: the same message fails the same way until its cause is "
            "fixed; once it is, replay it with --force"
        )
    return None


def republish(settings: Settings, records: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """Re-publish each record's original message to its source topic; returns (sent, skipped)."""
    producer = kafka.producer(settings, "dlq-replay")
    skipped: list[str] = []
    sent = 0
    for record in records:
        reason = held(record, force=True)
        if reason is not None:
            skipped.append(f"{record['dlq_id']}: {reason}")
            continue
        producer.produce(record["source_topic"], key=record["source_key"], value=record["raw_value"])
        sent += 1
    if producer.flush(30):
        raise PagestreamError("Kafka did not acknowledge every replayed message within 30 s")
    return sent, skipped
