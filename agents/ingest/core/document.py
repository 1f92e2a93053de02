"""Ingest's pure core: a submitted file in, facts about it or one page as a PNG out.

``inspect_file`` checks a submission (size, type by magic bytes, page count, encrypted or corrupt
PDFs) and ``render_page`` rasterises one page; both take a file path and the limits, and run in the
worker's process pool because rasterising is CPU work. A PDF page also brings its text layer
(``textlayer``) when the limits ask for it.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, UnidentifiedImageError

from pagestream.agents.ingest.core.textlayer import TextLayer, TextLayerRules, text_layer
from pagestream.streams.errors import InvalidDocument
from pagestream.streams.settings import Settings

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


def refusal(head: bytes, size: int, max_bytes: int) -> InvalidDocument | None:
    """Why a file is refused from its size and first bytes alone (empty, too large, a type
    pagestream does not read), or None: ingest's first check, and what ``pagestream submit``
    checks before uploading, so a wrong file is refused at once instead of after a round trip."""
    if size == 0:
        return InvalidDocument(f"the file is empty (0 bytes); send a {ACCEPTED}", code="empty_file")
    if size > max_bytes:
        return InvalidDocument(
            f"the file has {size} bytes, more than the limit of {max_bytes} bytes", code="file_too_large"
        )
    if sniff_kind(head[:1024]) is None:
        return InvalidDocument(f"unsupported file type; pagestream accepts {ACCEPTED}", code="unsupported_type")
    return None


def inspect_file(path: Path, limits: Limits) -> DocumentFacts:
    """Validate a submitted file; raise InvalidDocument naming what is wrong and what is accepted."""
    with path.open("rb") as fh:
        head = fh.read(1024)
    refused = refusal(head, path.stat().st_size, limits.max_bytes)
    if refused is not None:
        raise refused
    kind = sniff_kind(head)
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
