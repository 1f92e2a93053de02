"""The validation agent: docs.assembled (key doc) → docs.completed, with a table of verdicts.

The stored document result is validated in the process pool (``core.verdict``); the result goes
into ``result.json``, the fields into ``fields.csv`` and the retrieval chunks (``connectors.chunks``)
into ``chunks.jsonl`` and ``docs.chunks`` beside the other result files before the
DocumentCompleted is sent (whoever hears of it can read them at once), and that is sent before the
table says "done", so a redelivered event is ignored and a crash repeats the output instead of
losing it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import faust

from pagestream.agents.common.records import now_ms
from pagestream.agents.runtime.context import StageContext, each_record
from pagestream.agents.runtime.retry import retry_or_dead_letter
from pagestream.agents.validate.core.extract import known_types
from pagestream.agents.validate.core.rules import Issue
from pagestream.agents.validate.core.verdict import Verdict, completed_from_assembled, validate_document, validate_pages
from pagestream.connectors.chunks import chunk_records
from pagestream.connectors.results import store_completed
from pagestream.streams import topics
from pagestream.streams.records import DocumentChunk
from pagestream.streams.topics import VALIDATION_TABLE

log = logging.getLogger(__name__)


def register(app: faust.App, ctx: StageContext) -> faust.types.AgentT:
    """The validation agent; its table remembers validated documents so redeliveries are ignored."""
    table = app.Table(VALIDATION_TABLE, default=None, partitions=ctx.settings.topic_partitions)

    async def handle(event: faust.types.EventT, assembled: dict) -> None:
        doc_id = assembled["doc_id"]
        if table.get(doc_id) is not None:
            return  # already validated: a redelivered event
        document: dict[str, Any] = {"pages": []}  # no pages to cut into chunks unless it is read
        try:
            if assembled.get("result_uri"):
                document = json.loads(await ctx.run_io(ctx.store.get, assembled["result_uri"]))
            verdict = await _verdict(ctx, assembled, document)
        except Exception as failure:  # e.g. document.json unreadable: retried, or the document still completes
            exc = await retry_or_dead_letter(ctx, "VALIDATE", failure, event, doc_id=doc_id, tenant=assembled["tenant"],
                                             input_ref=assembled.get("result_uri"))  # fmt: skip
            if exc is None:
                return
            issue = Issue("validation_error", "error", [], None, None, str(exc) or type(exc).__name__)
            verdict = Verdict("FAILED", [issue], None)
        record = completed_from_assembled(assembled, verdict, now_ms())
        chunks: list[dict[str, Any]] = []
        try:
            chunks = await ctx.run_cpu(chunk_records, document, record, ctx.settings.chunk_max_tokens)
            await ctx.run_io(store_completed, ctx.store, record, chunks)
        except Exception as exc:  # the result still travels in the event; its files are missing
            log.exception("result files not stored for %s", doc_id)
            await ctx.dead_letter("VALIDATE", exc, doc_id=doc_id, tenant=assembled["tenant"])
        for chunk in chunks:  # sent before the result, so a reader of both never misses the chunks
            await ctx.emit(topics.DOCS_CHUNKS, DocumentChunk(**chunk), doc_id)
        await ctx.complete(record)  # before the table says "done"
        table[doc_id] = {"status": verdict.status, "at": record["completed_at"]}
        await ctx.progress(
            doc_id, assembled["tenant"], "VALIDATE", "COMPLETED", page_count=assembled["page_count"],
            message=f"{verdict.status}: {', '.join(sorted({i.rule for i in verdict.issues})) or 'all rules hold'}",
        )  # fmt: skip

    @app.agent(ctx.topic(topics.DOCS_ASSEMBLED), name="validate")
    async def validate(stream: faust.StreamT) -> None:
        await each_record(ctx, stream, topics.DOCS_ASSEMBLED, "VALIDATE", handle)

    return validate


async def _verdict(ctx: StageContext, assembled: dict[str, Any], document: dict[str, Any]) -> Verdict:
    doc_type = assembled.get("doc_type")
    if not doc_type or doc_type not in known_types() or not assembled.get("result_uri"):
        return validate_document(doc_type, [])
    return await asyncio.wait_for(
        ctx.run_cpu(validate_pages, doc_type, document, ctx.settings.validation_min_confidence), timeout=120
    )
