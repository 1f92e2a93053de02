"""Classify: the type of each page, and of its document from the votes of its pages.

Between layout and assembly. Each page of pages.layout (key doc_id) is typed by the model that
holds the registry alias (``models:/pagestream-doctype@champion``); its probability distribution
is a vote kept in a Faust table keyed by doc_id, and every page goes on to pages.classified with
its own type, the document's type from the votes so far, and the model version. Once every page
has voted the entry shrinks to the decision, so a late duplicate gets the same answer.

Embedding runs in one dedicated thread, never on the event loop; the model is loaded once per
worker and replaced only when the alias moves (checked every ``classifier_poll_seconds``). With
no usable model (no alias, a broken version, the ml extra missing) pages go on untyped, the
document becomes ``other`` with confidence 0 and the reason, and an ErrorEvent says so once per
document: never a silent guess.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust

from pagestream.agents.classify.classifier import votes
from pagestream.agents.classify.core import (
    add_vote,
    classified_record,
    decision_of,
    finish_if_complete,
    new_state,
    pages_seen,
)
from pagestream.agents.runtime.context import SourceInfo, StageContext, each_record
from pagestream.streams import topics
from pagestream.streams.errors import PagestreamError
from pagestream.streams.topics import CLASSIFY_TABLE

log = logging.getLogger(__name__)


class ClassifierMissing(PagestreamError):
    """No usable classifier model: the reason names what to do."""

    code = "classifier_unavailable"


class Classifier:
    """The worker's model: loaded in the background, followed when the alias moves."""

    def __init__(self, ctx: StageContext) -> None:
        from pagestream.agents.classify.classifier.registry import ChampionWatcher

        self.ctx = ctx
        self.watcher = ChampionWatcher(ctx.settings)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pagestream-classify")
        self._loaded = asyncio.Event()
        self._loading = False

    async def load(self) -> None:
        """First load (encoder and champion); pages wait for it instead of being typed 'other'."""
        if self._loading:
            await self._loaded.wait()
            return
        self._loading = True
        try:
            await asyncio.get_running_loop().run_in_executor(self.thread, self._first_load)
        finally:
            self._loaded.set()

    def _first_load(self) -> None:
        try:
            from pagestream.agents.classify.classifier.encoder import set_threads

            set_threads(self.ctx.settings.classifier_threads)
        except ImportError as exc:
            self.watcher.problem = f"the ml extra is not installed ({exc}): pip install -e '.[ml]'"
            log.error("classifier: %s", self.watcher.problem)
            return
        self.watcher.refresh()

    async def poll(self) -> None:
        """Re-resolve the alias (registry calls in the I/O pool)."""
        if self._loaded.is_set():
            await self.ctx.run_io(self.watcher.refresh)

    async def predict(self, text: str) -> tuple[Any, str] | None:
        """The page's prediction and the model label, or None without a model."""
        await self.load()
        served = self.watcher.current
        if served is None:
            return None
        [prediction] = await asyncio.get_running_loop().run_in_executor(self.thread, served.model.predict, [text])
        return prediction, served.label


def register(app: faust.App, ctx: StageContext) -> faust.types.AgentT:
    """The classify agent, its votes table, the model preload and the alias poll."""
    table = app.Table(CLASSIFY_TABLE, default=None, partitions=ctx.settings.topic_partitions)
    classifier = Classifier(ctx)

    @app.task
    async def preload_classifier() -> None:
        await classifier.load()

    @app.timer(interval=ctx.settings.classifier_poll_seconds)
    async def follow_classifier_alias() -> None:
        await classifier.poll()

    async def handle(event: faust.types.EventT, page: dict) -> None:
        doc_id = page["doc_id"]
        started = time.perf_counter()
        state = table.get(doc_id) or new_state(page["page_count"])
        prediction, label, problem = None, None, None
        if page["status"] == "OK" and page["text"].strip():
            try:
                result = await classifier.predict(page["text"])
            except Exception as exc:  # a model that fails on a page: the page goes on untyped
                log.exception("classification failed for %s page %s", doc_id, page["page_no"])
                result, problem = None, f"classifier failed: {type(exc).__name__}: {exc}"
            if result is not None:
                prediction, label = result
            else:
                problem = problem or classifier.watcher.problem
        vote = votes.vote(prediction.probs, page["word_count"]) if prediction else None
        state = add_vote(state, page, vote)
        decision = decision_of(state, problem)
        if problem and not state["reported"]:
            state = {**state, "reported": True}
            await ctx.dead_letter(
                "CLASSIFY",
                ClassifierMissing(problem),
                doc_id=doc_id,
                tenant=page["tenant"],
                page_no=page["page_no"],
                source=SourceInfo.of(event),
            )
        record = classified_record(page, prediction, decision, pages_seen(state), label)
        table[doc_id] = finish_if_complete(state, decision)
        await ctx.emit(topics.PAGES_CLASSIFIED, record, doc_id)
        await ctx.progress(
            doc_id,
            page["tenant"],
            "CLASSIFY",
            "PAGE_DONE",
            page_no=page["page_no"],
            page_count=page["page_count"],
            duration_ms=int((time.perf_counter() - started) * 1000),
        )

    @app.agent(ctx.topic(topics.PAGES_LAYOUT), name="classify")
    async def classify(stream: faust.StreamT) -> None:
        await each_record(ctx, stream, topics.PAGES_LAYOUT, "CLASSIFY", handle)

    return classify
