"""The Faust agents in Faust's agent test context: real tables, codecs and cores, no Kafka.

Only the two I/O edges are replaced: what the agents send to Kafka is recorded (after encoding
it with the real codec, so every event must match its schema), and the object store is a dict.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
import pytest

from pagestream.agents.assemble import agent as assemble
from pagestream.agents.layout import agent as layout
from pagestream.agents.layout.core.analysis import analyse_page
from pagestream.agents.layout.core.model import process_model
from pagestream.agents.layout.core.page import region_record
from pagestream.agents.runtime.context import StageContext
from pagestream.agents.validate import agent as validate
from pagestream.connectors.objectstore import ObjectStoreError, StoredObject, parse_uri
from pagestream.streams import topics
from pagestream.streams.codec import Codecs, register_all, registry_client
from pagestream.streams.settings import Settings
from pagestream.streams.topics import TopicSpec
from tests.conftest import evaldata_doc, text_image


class DictStore:
    bucket = "pagestream"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes, content_type: str = "") -> StoredObject:
        self.objects[f"s3://{self.bucket}/{key}"] = data
        return StoredObject(f"s3://{self.bucket}/{key}", "sha", len(data))

    def get(self, uri: str) -> bytes:
        parse_uri(uri)
        if uri not in self.objects:
            raise ObjectStoreError(f"cannot read {uri}: NoSuchKey", code="object_missing")
        return self.objects[uri]


class RecordingContext(StageContext):
    """Records what the agents send, as decoded events, after a real encode."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[str, bytes, dict]] = []

    async def emit(
        self, spec: TopicSpec, record: dict, doc_id: str, page_no: int | None = None, *, durable: bool = False
    ) -> None:
        raw = self.codecs.encode(spec, record)
        self.sent.append((spec.name, topics.key_for(spec, doc_id, page_no), self.codecs.decode(spec, raw)))

    def of(self, spec: TopicSpec) -> list[dict]:
        return [record for name, _, record in self.sent if name == spec.name]


@pytest.fixture(scope="module", autouse=True)
def layout_model_loaded() -> None:
    """Load the layout model once, as a pool process does before its first page."""
    process_model()


@pytest.fixture
def ctx(request: pytest.FixtureRequest) -> RecordingContext:
    client = registry_client(f"mock://{request.node.name}")
    register_all(client, topics.ALL_TOPICS)
    app = faust.App(f"test-{request.node.name}"[:40], broker="kafka://127.0.0.1:1", store="memory://")
    store = DictStore()
    for page_no in (1, 2, 3):  # the page images the layout agent reads (blank: the text is in ocr_event)
        store.put(f"acme/doc1/pages/{page_no:04d}.png", text_image([], size=(1000, 1400)))
    return RecordingContext(app, Settings(), Codecs(client, topics.ALL_TOPICS), store, ThreadPoolExecutor(1))


def ocr_event(page_no: int, page_count: int = 3) -> dict:
    words = [
        {"text": w, "bbox": [100 + 80 * i, 100, 170 + 80 * i, 130], "confidence": 0.9}
        for i, w in enumerate(["page", str(page_no), "text"])
    ]
    return {
        "doc_id": "doc1",
        "tenant": "acme",
        "page_no": page_no,
        "page_count": page_count,
        "image_uri": f"s3://pagestream/acme/doc1/pages/{page_no:04d}.png",
        "width": 1000,
        "height": 1400,
        "status": "OK",
        "text_source": "OCR",
        "engine": "tesseract",
        "engine_version": "5.5.4",
        "model": "eng",
        "lines": [{"text": f"page {page_no} text", "bbox": [100, 100, 330, 130], "confidence": 0.9, "words": words}],
        "mean_confidence": 0.9,
        "duration_ms": 5,
        "error_code": None,
        "error_message": None,
        "produced_at": 1,
    }


# What each input topic's agent emits once per input record: run() waits for those outputs.
_OUTPUT = {"pages.ocr": "pages.layout", "docs.assembled": "docs.completed"}


async def run(agent: faust.types.AgentT, ctx: RecordingContext, spec: TopicSpec, records: list[dict]) -> None:
    """Feed records to an agent; wait (up to 60 s) until its outputs are sent, then settle."""
    output = _OUTPUT.get(spec.name)
    before = len([s for s in ctx.sent if s[0] == output])
    expected = before + len({json.dumps(r, sort_keys=True, default=str) for r in records})
    async with agent.test_context() as test_agent:
        for record in records:
            await test_agent.put(ctx.codecs.encode(spec, record), key=b"k")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while output and len([s for s in ctx.sent if s[0] == output]) < expected and loop.time() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # let the last awaited sends finish


def test_layout_agent_rekeys_by_document_and_stores_the_page_result(ctx: RecordingContext) -> None:
    asyncio.run(run(layout.register(ctx.app, ctx), ctx, topics.PAGES_OCR, [ocr_event(2)]))
    ((_, key, record),) = [s for s in ctx.sent if s[0] == "pages.layout"]
    assert key == b"doc1" and record["page_no"] == 2 and record["status"] == "OK"
    assert record["text"] == "page 2 text" and record["word_count"] == 3
    stored = json.loads(ctx.store.objects[record["result_uri"]])
    assert stored["regions"][0]["text"] == "page 2 text" and stored["lines"][0]["words"][0]["text"] == "page"


def test_assemble_agent_assembles_once_in_page_order(ctx: RecordingContext) -> None:
    asyncio.run(run(layout.register(ctx.app, ctx), ctx, topics.PAGES_OCR, [ocr_event(n) for n in (1, 2, 3)]))
    layouts = ctx.of(topics.PAGES_LAYOUT)
    ctx.store.put(
        "acme/doc1/manifest.json",
        json.dumps({"filename": "a.pdf", "submitted_at_ms": 5, "renderer": "pypdfium2"}).encode(),
    )
    ordered = {r["page_no"]: r for r in layouts}
    arrivals = [ordered[3], ordered[1], ordered[3], ordered[2], ordered[1]]  # any order, duplicates
    asyncio.run(run(assemble.register(ctx.app, ctx), ctx, topics.PAGES_LAYOUT, arrivals))
    assembled = ctx.of(topics.DOCS_ASSEMBLED)
    assert len(assembled) == 1 and not ctx.of(topics.DOCS_COMPLETED)
    doc = assembled[0]
    assert doc["status"] == "OK" and doc["filename"] == "a.pdf" and doc["doc_type"] is None
    assert [p["text"] for p in doc["pages"]] == ["page 1 text", "page 2 text", "page 3 text"]
    assert [r["kind"] for r in doc["pages"][0]["regions"]] == ["text"]
    assert json.loads(ctx.store.objects[doc["result_uri"]])["page_count"] == 3
    markdown = ctx.store.objects["s3://pagestream/acme/doc1/document.md"].decode()
    assert markdown.index("page 1 text") < markdown.index("\n---\n") < markdown.index("page 3 text")
    done = [r["pages_done"] for r in ctx.of(topics.DOCS_PROGRESS) if r["stage"] == "ASSEMBLE"]
    assert done == [1, 2, 3]
    # Validation: no document type was decided upstream, so the document needs review, once.
    asyncio.run(run(validate.register(ctx.app, ctx), ctx, topics.DOCS_ASSEMBLED, [doc, doc]))
    (completed,) = ctx.of(topics.DOCS_COMPLETED)
    assert completed["status"] == "OK" and completed["validation_status"] == "NEEDS_REVIEW"
    assert [i["rule"] for i in completed["issues"]] == ["unknown_document_type"]
    assert completed["fields"] is None and completed["pages"][0]["regions"][0]["kind"] == "text"
    assert [p["text"] for p in completed["pages"]] == ["page 1 text", "page 2 text", "page 3 text"]


def test_validate_agent_extracts_and_judges_a_typed_document(ctx: RecordingContext) -> None:
    _, gt = evaldata_doc("syn-0009-receipt")  # printed total is wrong
    page = gt["pages"][0]
    regions = [region_record(r) for r in analyse_page(page["lines"], page["width"], page["height"])]
    result = {
        "page_no": 1,
        "lines": page["lines"],
        "regions": regions,
        "width": page["width"],
        "height": page["height"],
    }
    stored = ctx.store.put("acme/r1/document.json", json.dumps({"pages": [result]}).encode())
    assembled = {
        "doc_id": "r1", "tenant": "acme", "filename": "r.pdf", "status": "OK", "page_count": 1,
        "pages": [{"page_no": 1, "status": "OK", "text": "t", "word_count": 1, "mean_confidence": 0.9,
                   "text_source": "OCR", "engine": "tesseract 5", "result_uri": None, "error_message": None,
                   "regions": []}],
        "text_inline": True, "result_uri": stored.uri, "doc_type": "receipt", "doc_type_confidence": 0.99,
        "classifier_version": "test", "error_code": None, "error_message": None, "versions": {},
        "submitted_at": None, "assembled_at": 1,
    }  # fmt: skip
    asyncio.run(run(validate.register(ctx.app, ctx), ctx, topics.DOCS_ASSEMBLED, [assembled]))
    (completed,) = ctx.of(topics.DOCS_COMPLETED)
    assert completed["doc_type"] == "receipt" and completed["validation_status"] == "NEEDS_REVIEW"
    fields = {f["name"]: f for f in completed["fields"]}
    assert fields["total"]["normalized"] == gt["fields"]["total"]
    csv_lines = ctx.store.objects["s3://pagestream/acme/r1/fields.csv"].decode().splitlines()
    assert csv_lines[0] == "name,value,normalized,confidence,page_no,bbox" and len(csv_lines) == len(fields) + 1
    issue = next(i for i in completed["issues"] if i["rule"] == "receipt.items_sum_to_total")
    assert (
        issue["found"] == gt["fields"]["total"] and issue["expected"] == gt["rules"]["corruption"]["consistent_value"]
    )


def test_assembly_that_cannot_read_its_inputs_fails_loudly(ctx: RecordingContext) -> None:
    asyncio.run(run(layout.register(ctx.app, ctx), ctx, topics.PAGES_OCR, [ocr_event(1, page_count=1)]))
    asyncio.run(run(assemble.register(ctx.app, ctx), ctx, topics.PAGES_LAYOUT, ctx.of(topics.PAGES_LAYOUT)))
    (doc,) = ctx.of(topics.DOCS_COMPLETED)
    assert (doc["status"], doc["error_code"]) == ("FAILED", "assembly_failed")
    (error,) = ctx.of(topics.PAGES_DLQ)
    assert error["stage"] == "ASSEMBLE" and "manifest.json" in error["message"]


def test_undecodable_message_goes_to_the_dead_letter_topic(ctx: RecordingContext) -> None:
    async def go() -> None:
        async with layout.register(ctx.app, ctx).test_context() as agent:
            await agent.put(b"\x01garbage", key=b"k")
            await asyncio.sleep(0.2)

    asyncio.run(go())
    (error,) = ctx.of(topics.PAGES_DLQ)
    assert error["error_code"] == "bad_magic_byte" and error["raw_value"] == b"\x01garbage"
    assert error["stage"] == "LAYOUT" and not ctx.of(topics.PAGES_LAYOUT)


def test_an_unexpected_failure_becomes_a_dead_letter_and_the_agent_goes_on(ctx: RecordingContext) -> None:
    """A failure outside what the stage handles itself (here the send of its output): Faust alone
    would acknowledge the message, restart the agent and keep nothing but a log line."""
    emit = ctx.emit
    failures = iter([RuntimeError("broker said no")])

    async def emit_failing_once(spec: TopicSpec, record: dict, doc_id: str, *args: Any, **kwargs: Any) -> None:
        if spec is topics.PAGES_LAYOUT and (failure := next(failures, None)):
            raise failure
        await emit(spec, record, doc_id, *args, **kwargs)

    ctx.emit = emit_failing_once  # type: ignore[method-assign]
    asyncio.run(run(layout.register(ctx.app, ctx), ctx, topics.PAGES_OCR, [ocr_event(1), ocr_event(2)]))
    (error,) = ctx.of(topics.PAGES_DLQ)
    assert (error["stage"], error["error_class"], error["page_no"]) == ("LAYOUT", "RuntimeError", 1)
    assert error["source_topic"] == "pages.ocr"
    assert error["raw_value"] == ctx.codecs.encode(topics.PAGES_OCR, ocr_event(1))  # ready for `dlq replay`
    assert [r["page_no"] for r in ctx.of(topics.PAGES_LAYOUT)] == [2]
