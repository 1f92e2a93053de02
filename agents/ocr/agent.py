"""The OCR agent: pages.raw → pages.ocr, each page read in the worker's process pool.

The page image comes from the object store (claim check); ``agents.ocr.core.reader`` reads it in
a pool process; the lines go on pages.ocr, by claim check when they are larger than
``max_inline_lines_bytes`` (``agents.runtime.ocr_lines``). A page that cannot be read is retried,
or travels on as a FAILED page so its document still completes.
"""

from __future__ import annotations

import faust

from pagestream.agents.common.records import failed_page_record
from pagestream.agents.ocr.core.reader import ocr_png
from pagestream.agents.runtime.context import StageContext, each_record
from pagestream.agents.runtime.ocr_lines import emit_page_result
from pagestream.agents.runtime.retry import attempt_of_event, retry_or_dead_letter
from pagestream.streams import topics
from pagestream.streams.retry_policy import inject_fault


def register(app: faust.App, ctx: StageContext) -> faust.types.AgentT:
    """The OCR agent: ``in_flight_pages`` instances, each awaiting one page in the process pool."""

    async def handle(event: faust.types.EventT, page: dict) -> None:
        try:
            inject_fault(ctx.settings, "OCR", page["tenant"], attempt_of_event(event))
            await ocr_page(ctx, page)
        except Exception as failure:  # retried, or the page becomes a failed result; the stream goes on
            exc = await retry_or_dead_letter(
                ctx, "OCR", failure, event, doc_id=page["doc_id"], tenant=page["tenant"], page_no=page["page_no"],
                input_ref=page["image_uri"],
                versions={"ocr_engine": ctx.settings.ocr_engine_for(page["tenant"], page.get("ocr_engine"))},
            )  # fmt: skip
            if exc is None:
                return
            await ctx.emit(
                topics.PAGES_OCR,
                failed_page_record(page, page["page_no"], page["page_count"], exc),
                page["doc_id"],
                page["page_no"],
            )

    @app.agent(ctx.topic(topics.PAGES_RAW), name="ocr", concurrency=ctx.settings.in_flight_pages)
    async def ocr(stream: faust.StreamT) -> None:
        await each_record(ctx, stream, topics.PAGES_RAW, "OCR", handle)

    return ocr


async def ocr_page(ctx: StageContext, page: dict) -> None:
    png = await ctx.run_io(ctx.store.get, page["image_uri"])
    engine = ctx.settings.ocr_engine_for(page["tenant"], page.get("ocr_engine"))
    result = await ctx.run_cpu(ocr_png, png, engine)
    await emit_page_result(ctx, page, result, "OCR")
