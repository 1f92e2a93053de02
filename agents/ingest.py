"""Ingest: check a submitted file, split it into pages and rasterise each page.

The core (``inspect_file``, ``render_page``) is pure: a file path in, facts or a PNG out. It runs
in the worker's process pool because rasterising is CPU work. The agent downloads the submission
from the object store once into a temporary file, stores every page image (claim check) and emits
one PageRendered per page, keyed by page so that a document's pages spread over partitions.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
import time
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path

import faust
import pypdfium2 as pdfium
from PIL import Image, UnidentifiedImageError

from pagestream.agents import duplicates
from pagestream.agents.assemble import rejected_record
from pagestream.agents.context import SourceInfo, StageContext, each_record, now_ms
from pagestream.agents.engines import engine_parts
from pagestream.agents.ocr import emit_page_result, failed_page_record
from pagestream.agents.retry import attempt_of_event, on_failure
from pagestream.agents.textlayer import TextLayer, TextLayerRules, text_layer
from pagestream.connectors.objectstore import document_prefix
from pagestream.streams import topics
from pagestream.streams.errors import DuplicateDocument, InvalidDocument, PagestreamError
from pagestream.streams.retry_policy import inject_fault, is_retryable
from pagestream.streams.settings import Settings
from pagestream.streams.topics import SCHEMA_VERSION, SUBMISSIONS_TABLE

log = logging.getLogger(__name__)

ACCEPTED = "PDF, PNG, JPEG or TIFF (detected from the file's first bytes, not its name)"
PDF_RENDERER = f"pypdfium2 {version('pypdfium2')}"
IMAGE_RENDERER = f"pillow {version('pillow')}"


@dataclass(frozen=True)
class Limits:
    """What ingest accepts; taken from the settings."""

    max_bytes: int
    max_pages: int
    max_pixels: int
    max_page_inches: float
    dpi: int
    text_layer: TextLayerRules | None = None  # None: never use a PDF's text layer (OCR every page)


@dataclass(frozen=True)
class DocumentFacts:
    kind: str  # SourceKind symbol: PDF, PNG, JPEG, TIFF
    page_count: int
    renderer: str


@dataclass(frozen=True)
class RenderedPage:
    png: bytes
    width: int
    height: int
    dpi: int
    text_layer: TextLayer | None = None  # PDFs only, when the limits ask for it


def check_dpi(dpi: int, max_dpi: int) -> None:
    """A submission's rendering resolution must be sane; absurd values are refused up front."""
    if not 50 <= dpi <= max_dpi:
        raise InvalidDocument(f"render_dpi {dpi} is outside the accepted range 50..{max_dpi}", code="bad_dpi")


def sniff_kind(head: bytes) -> str | None:
    """The file type from its magic bytes, or None when it is none we accept. A PDF starts with
    its header: an HTML page quoting ``%PDF-`` further in is not one."""
    if head.startswith(b"%PDF-"):
        return "PDF"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    return None


def inspect_file(path: Path, limits: Limits) -> DocumentFacts:
    """Validate a submitted file; raise InvalidDocument naming what is wrong and what is accepted."""
    size = path.stat().st_size
    if size == 0:
        raise InvalidDocument(f"the file is empty (0 bytes); send a {ACCEPTED}", code="empty_file")
    if size > limits.max_bytes:
        raise InvalidDocument(
            f"the file has {size} bytes, more than the limit of {limits.max_bytes} bytes",
            code="file_too_large",
        )
    with path.open("rb") as fh:
        kind = sniff_kind(fh.read(1024))
    if kind is None:
        raise InvalidDocument(f"unsupported file type; pagestream accepts {ACCEPTED}", code="unsupported_type")
    if kind == "PDF":
        count = pdf_page_count(path)
        renderer = PDF_RENDERER
    else:
        count = _image_page_count(path, kind, limits)
        renderer = IMAGE_RENDERER
    if count == 0:
        raise InvalidDocument("the document has no pages", code="no_pages")
    if count > limits.max_pages:
        raise InvalidDocument(
            f"the document has {count} pages, more than the limit of {limits.max_pages}; split it",
            code="too_many_pages",
        )
    return DocumentFacts(kind, count, renderer)


def _open_pdf(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise InvalidDocument(
                "the PDF is encrypted with a password; send it without encryption", code="encrypted_pdf"
            ) from exc
        raise InvalidDocument(
            f"the PDF is corrupt or truncated and cannot be opened ({exc})", code="corrupt_pdf"
        ) from exc


def pdf_page_count(path: Path) -> int:
    """Pages of a PDF (corrupt and encrypted files raise InvalidDocument)."""
    pdf = _open_pdf(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


def _open_image(path: Path, kind: str, limits: Limits) -> Image.Image:
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise InvalidDocument(
            f"the {kind} page is over the pixel limit (a decompression bomb or an absurd size): {exc}",
            code="image_too_large",
        ) from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidDocument(f"the {kind} image is corrupt or cannot be read ({exc})", code="corrupt_image") from exc
    _check_pixels(image.width, image.height, limits, kind)
    return image


def _check_pixels(width: int, height: int, limits: Limits, what: str) -> None:
    if width <= 0 or height <= 0 or width * height > limits.max_pixels:
        raise InvalidDocument(
            f"the {what} page is {width}x{height} pixels, over the limit of {limits.max_pixels} pixels "
            "(a decompression bomb or an absurd size)",
            code="image_too_large",
        )


def _image_page_count(path: Path, kind: str, limits: Limits) -> int:
    with _open_image(path, kind, limits) as image:
        return getattr(image, "n_frames", 1)


def render_page(path: Path, kind: str, index: int, limits: Limits) -> RenderedPage:
    """Page ``index`` (0-based) as an 8-bit grey PNG; PDFs at ``limits.dpi``, images as they are.
    A PDF page also brings its judged text layer, boxes in the image's pixels, when asked for."""
    layer = None
    if kind == "PDF":
        pdf = _open_pdf(path)
        try:
            page = pdf[index]
            w_pt, h_pt = page.get_size()
            if max(w_pt, h_pt) / 72 > limits.max_page_inches:
                raise InvalidDocument(
                    f"page {index + 1} is {w_pt / 72:.0f}x{h_pt / 72:.0f} inches; pages up to "
                    f"{limits.max_page_inches:.0f} inches per side are accepted",
                    code="page_too_large",
                )
            scale = limits.dpi / 72
            _check_pixels(round(w_pt * scale), round(h_pt * scale), limits, "PDF")
            image = page.render(scale=scale, grayscale=True).to_pil()
            dpi = limits.dpi
            if limits.text_layer is not None:
                layer = text_layer(page, image.width, image.height, limits.text_layer)
        finally:
            pdf.close()
    else:
        with _open_image(path, kind, limits) as source:
            try:
                source.seek(index)
                image = source.convert("L")
            except (OSError, EOFError, ValueError) as exc:
                raise InvalidDocument(
                    f"page {index + 1} of the {kind} image cannot be decoded ({exc})", code="corrupt_image"
                ) from exc
            dpi = round(float(source.info.get("dpi", (limits.dpi, limits.dpi))[0])) or limits.dpi
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=3)
    return RenderedPage(out.getvalue(), image.width, image.height, dpi, layer)


def spool(data: bytes) -> Path:
    """Write a submission to a temporary file once, so pool processes render pages from disk."""
    with tempfile.NamedTemporaryFile(prefix="pagestream-", suffix=".doc", delete=False) as fh:
        fh.write(data)
    return Path(fh.name)


def manifest(record: dict, facts: DocumentFacts) -> bytes:
    """The document manifest stored beside the pages: what assembly needs about the submission."""
    submitted = record["submitted_at"]
    return json.dumps(
        {
            "doc_id": record["doc_id"],
            "tenant": record["tenant"],
            "filename": record["filename"],
            "sha256": record["sha256"],
            "size_bytes": record["size_bytes"],
            "source_uri": record["source_uri"],
            "kind": facts.kind,
            "page_count": facts.page_count,
            "renderer": facts.renderer,
            "submitted_at_ms": int(submitted.timestamp() * 1000) if hasattr(submitted, "timestamp") else submitted,
            "ingested_at_ms": int(time.time() * 1000),
        }
    ).encode()


# --- Faust agent: docs.submitted -> pages.raw -------------------------------------------------


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_bytes=settings.max_upload_bytes,
        max_pages=settings.max_pages,
        max_pixels=settings.max_image_pixels,
        max_page_inches=settings.max_page_inches,
        dpi=settings.render_dpi,
        text_layer=TextLayerRules(settings.text_layer_min_chars, settings.text_layer_max_garbage)
        if settings.text_layer
        else None,
    )


def register(app: faust.App, ctx: StageContext) -> faust.types.AgentT:
    """The ingest agent: one submission at a time per agent instance, pages emitted as rendered."""
    limits = limits_of(ctx.settings)

    submissions = app.Table(SUBMISSIONS_TABLE, default=None, partitions=ctx.settings.topic_partitions)

    async def handle(event: faust.types.EventT, submission: dict) -> None:
        doc_id, source, attempt = submission["doc_id"], SourceInfo.of(event), attempt_of_event(event)
        # Read and write the entry with no await in between: concurrent actors see one or the other.
        admission = duplicates.admit(submissions.get(doc_id), submission, f"{source.partition}:{source.offset}",
                                     attempt)  # fmt: skip
        if admission.entry is not None:
            submissions[doc_id] = admission.entry
        if not admission.accepted:
            await answer_duplicate(ctx, submission, admission, source)
            return
        try:
            inject_fault(ctx.settings, "INGEST", submission["tenant"], attempt)
            if await ingest_document(ctx, submission, limits, source):
                return
        except Exception as exc:  # a bug must not stop the stream: it becomes data
            error = await on_failure(ctx, "INGEST", exc, event, doc_id=doc_id, tenant=submission["tenant"],
                                     input_ref=submission.get("source_uri"))  # fmt: skip
            if error is None:
                return  # re-delivered later by the retry agent
            if not isinstance(error, PagestreamError):
                log.exception("ingest failed for %s", doc_id)
            await reject(ctx, submission, error, source)
        submissions[doc_id] = duplicates.rejected(submissions.get(doc_id))

    @app.agent(ctx.topic(topics.DOCS_SUBMITTED), name="ingest", concurrency=ctx.settings.pool_processes)
    async def ingest(stream: faust.StreamT) -> None:
        await each_record(ctx, stream, topics.DOCS_SUBMITTED, "INGEST", handle)

    return ingest


async def answer_duplicate(
    ctx: StageContext, submission: dict, admission: duplicates.Admission, source: SourceInfo
) -> None:
    """A duplicate is answered with a progress note; a conflicting one with an ErrorEvent (the
    first document's result stands, so no second DocumentCompleted either way)."""
    doc_id, tenant = submission["doc_id"], submission["tenant"]
    if admission.verdict == "duplicate":
        await ctx.progress(doc_id, tenant, "INGEST", "STARTED", message=admission.reason)
        return
    await ctx.dead_letter(
        "INGEST", DuplicateDocument(admission.reason or ""), doc_id=doc_id, tenant=tenant,
        input_ref=submission.get("source_uri"), source=source,
    )  # fmt: skip


async def ingest_document(ctx: StageContext, submission: dict, limits: Limits, source: SourceInfo) -> bool:
    """Split and rasterise a submission; False when it was rejected (bad input)."""
    doc_id, tenant = submission["doc_id"], submission["tenant"]
    dpi = submission.get("render_dpi") or limits.dpi
    limits = replace(limits, dpi=dpi, text_layer=None if submission.get("force_ocr") else limits.text_layer)
    started = time.perf_counter()
    await ctx.progress(doc_id, tenant, "INGEST", "STARTED")
    path: Path | None = None
    try:
        check_dpi(dpi, ctx.settings.max_render_dpi)
        engine = ctx.settings.ocr_engine_for(tenant, submission.get("ocr_engine"))
        engine_parts(engine)  # an unknown engine rejects the document now, not each page later
        submission = {**submission, "ocr_engine": engine}
        prefix = document_prefix(tenant, doc_id)
        path = spool(await ctx.run_io(ctx.store.get, submission["source_uri"]))
        facts = await ctx.run_cpu(inspect_file, path, limits)
    except PagestreamError as exc:
        if path:
            path.unlink(missing_ok=True)
        if is_retryable(exc):
            raise
        await reject(ctx, submission, exc, source)
        return False
    try:
        await ctx.run_io(ctx.store.put, f"{prefix}/manifest.json", manifest(submission, facts), "application/json")
        for page_no in range(1, facts.page_count + 1):
            await _ingest_page(ctx, submission, facts, path, page_no, limits, prefix)
    finally:
        path.unlink(missing_ok=True)
    await ctx.progress(
        doc_id,
        tenant,
        "INGEST",
        "COMPLETED",
        page_count=facts.page_count,
        pages_done=facts.page_count,
        duration_ms=int((time.perf_counter() - started) * 1000),
    )
    return True


async def _ingest_page(
    ctx: StageContext, submission: dict, facts: DocumentFacts, path: Path, page_no: int, limits: Limits, prefix: str
) -> None:
    doc_id, tenant = submission["doc_id"], submission["tenant"]
    started = time.perf_counter()
    try:
        page = await ctx.run_cpu(render_page, path, facts.kind, page_no - 1, limits)
        stored = await ctx.run_io(ctx.store.put, f"{prefix}/pages/{page_no:04d}.png", page.png, "image/png")
    except PagestreamError as exc:
        if is_retryable(exc):
            raise  # the whole submission is retried
        # The page is carried on as a failed result so the document still completes (PARTIAL).
        await ctx.dead_letter(
            "INGEST",
            exc,
            doc_id=doc_id,
            tenant=tenant,
            page_no=page_no,
            input_ref=submission["source_uri"],
            versions={"renderer": facts.renderer},
        )
        await ctx.emit(
            topics.PAGES_OCR, failed_page_record(submission, page_no, facts.page_count, exc), doc_id, page_no
        )
        return
    elapsed = int((time.perf_counter() - started) * 1000)
    if page.text_layer is not None and page.text_layer.usable:
        # Born-digital: the page's own text goes straight to pages.ocr; no OCR needed.
        await _page_done(ctx, doc_id, tenant, page_no, facts, elapsed)
        fields = {"doc_id": doc_id, "tenant": tenant, "page_no": page_no, "page_count": facts.page_count,
                  "image_uri": stored.uri, "width": page.width, "height": page.height}
        await emit_page_result(ctx, fields, page.text_layer.as_page(page.width, page.height), "TEXT_LAYER")
        return
    record = {
        "doc_id": doc_id,
        "tenant": tenant,
        "page_no": page_no,
        "page_count": facts.page_count,
        "image_uri": stored.uri,
        "image_sha256": stored.sha256,
        "image_bytes": stored.size,
        "width": page.width,
        "height": page.height,
        "dpi": page.dpi,
        "source_kind": facts.kind,
        "renderer": facts.renderer,
        "ocr_engine": submission.get("ocr_engine"),
        "rendered_at": now_ms(),
        "duration_ms": elapsed,
    }
    await ctx.emit(topics.PAGES_RAW, record, doc_id, page_no)
    await _page_done(ctx, doc_id, tenant, page_no, facts, elapsed)


async def _page_done(ctx: StageContext, doc_id: str, tenant: str, page_no: int, facts: DocumentFacts, ms: int) -> None:
    await ctx.progress(
        doc_id,
        tenant,
        "INGEST",
        "PAGE_DONE",
        page_no=page_no,
        page_count=facts.page_count,
        pages_done=page_no,
        duration_ms=ms,
        versions={"renderer": facts.renderer},
    )


async def reject(ctx: StageContext, submission: dict, exc: BaseException, source: SourceInfo) -> None:
    """A submission that cannot be split: dead letter, FAILED result, FAILED progress."""
    code = exc.code if isinstance(exc, PagestreamError) else "internal_error"
    doc_id, tenant = submission.get("doc_id", "unknown"), submission.get("tenant", "unknown")
    await ctx.dead_letter(
        "INGEST", exc, doc_id=doc_id, tenant=tenant, input_ref=submission.get("source_uri"), source=source
    )
    await ctx.emit(
        topics.DOCS_COMPLETED, rejected_record(submission, code, str(exc), {"schema": SCHEMA_VERSION}, now_ms()), doc_id
    )
    await ctx.progress(doc_id, tenant, "INGEST", "FAILED", message=str(exc))
