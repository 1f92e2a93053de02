"""Ingest's core: type from magic bytes, limits, and every page rendered."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from pagestream.agents.ingest.core.document import Limits, inspect_file, render_page, sniff_kind
from pagestream.streams.errors import InvalidDocument
from tests.conftest import REPO, text_image

LIMITS = Limits(max_bytes=10_000_000, max_pages=50, max_pixels=40_000_000, max_page_inches=200, dpi=100)
SAMPLE = REPO / "samples" / "bank-statement.pdf"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_sniff_by_magic_bytes_not_name() -> None:
    assert sniff_kind(b"%PDF-1.7\n") == "PDF"
    assert sniff_kind(b"\x89PNG\r\n\x1a\n....") == "PNG"
    assert sniff_kind(b"\xff\xd8\xff\xe0") == "JPEG"
    assert sniff_kind(b"II*\x00") == "TIFF" and sniff_kind(b"MM\x00*") == "TIFF"
    assert sniff_kind(b"PK\x03\x04") is None


def test_pdf_pages_are_counted_and_rendered_at_the_dpi() -> None:
    facts = inspect_file(SAMPLE, LIMITS)
    assert (facts.kind, facts.page_count) == ("PDF", 3)
    page = render_page(SAMPLE, "PDF", 2, LIMITS)
    assert (page.width, page.height, page.dpi) == (827, 1170, 100)  # A4 at 100 dpi (as pdfium rounds)
    assert Image.open(io.BytesIO(page.png)).mode == "L"


def test_multi_page_tiff(tmp_path: Path) -> None:
    frames = [Image.open(io.BytesIO(text_image([f"page {i}"]))) for i in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:])
    path = write(tmp_path, "scan.pdf", out.getvalue())  # misleading extension: magic bytes win
    facts = inspect_file(path, LIMITS)
    assert (facts.kind, facts.page_count) == ("TIFF", 3)
    assert render_page(path, "TIFF", 2, LIMITS).width == 1200


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_single_images(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path, "page.bin", text_image(["hello"], fmt=fmt))
    facts = inspect_file(path, LIMITS)
    assert (facts.kind, facts.page_count) == (fmt, 1)
    page = render_page(path, fmt, 0, LIMITS)
    assert (page.width, page.height, page.dpi) == (1200, 400, 200)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (b"", "empty_file", "empty"),
        (b"hello, this is a text file\n", "unsupported_type", "accepts PDF, PNG, JPEG or TIFF"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog", "corrupt_pdf", "corrupt or truncated"),
        (_png_header_only(100_000, 100_000), "image_too_large", "decompression bomb"),
        (_png_header_only(20_000, 20_000), "image_too_large", "decompression bomb"),
    ],
)
def test_bad_input_is_refused_with_a_clear_reason(tmp_path: Path, data: bytes, code: str, message: str) -> None:
    with pytest.raises(InvalidDocument, match=message) as info:
        inspect_file(write(tmp_path, "doc.pdf", data), LIMITS)
    assert info.value.code == code


def test_truncated_pdf(tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    with pytest.raises(InvalidDocument) as info:
        inspect_file(write(tmp_path, "cut.pdf", data[: len(data) // 3]), LIMITS)
    assert info.value.code == "corrupt_pdf"


def test_limits_on_size_and_pages() -> None:
    with pytest.raises(InvalidDocument, match="more than the limit of 2") as info:
        inspect_file(SAMPLE, Limits(10_000_000, 2, 40_000_000, 200, 100))
    assert info.value.code == "too_many_pages"
    with pytest.raises(InvalidDocument) as info:
        inspect_file(SAMPLE, Limits(1000, 50, 40_000_000, 200, 100))
    assert info.value.code == "file_too_large"


def test_page_rendered_over_the_pixel_limit_is_refused() -> None:
    with pytest.raises(InvalidDocument) as info:
        render_page(SAMPLE, "PDF", 0, Limits(10_000_000, 50, 1_000_000, 200, 300))
    assert info.value.code == "image_too_large"
