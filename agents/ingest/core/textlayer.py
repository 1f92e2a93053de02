"""Born-digital fast path: a PDF page's own text layer, as words and lines with pixel boxes.

pypdfium2 gives every character with its box in PDF points; characters are grouped into words at
spaces and into lines at pdfium's line breaks, and boxes are mapped into the pixel space of the
page image rendered at the same size (``FPDF_PageToDevice``, which also applies the page's
/Rotate). ``judge`` decides whether the layer is usable: too few characters (a scan, perhaps with
a page number), unreadable characters (fonts without a Unicode map give private-use code points
or U+FFFD), letter soup (shifted encodings), or a page-covering image with a sparse text layer
(a scan with a stamp or header text) all send the page to OCR instead.
"""

from __future__ import annotations

import ctypes
import time
import unicodedata
from dataclasses import dataclass
from importlib.metadata import version

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from pagestream.agents.common.ocr_result import Box, OcrLine, OcrPage, OcrWord, union

ENGINE = "text-layer"
ENGINE_VERSION = f"pypdfium2 {version('pypdfium2')}"
_VOWELS = set("aeiouyäöüàâéèêëîïôûùœæøåáíóúAEIOUYÄÖÜÀÂÉÈÊËÎÏÔÛÙŒÆØÅÁÍÓÚ")
_SPARSE_TEXT_CHARS = 200  # a page-covering image with fewer characters than this is a scan
_IMAGE_COVER = 0.6  # share of the page an image must cover to count as a scan
_SOUP_SHARE = 0.6  # share of vowel-less Latin words above which the text is letter soup


@dataclass(frozen=True)
class TextLayerRules:
    """When a text layer is usable (from the settings; picklable for the pool)."""

    min_chars: int
    max_garbage: float


@dataclass
class TextLayer:
    lines: list[OcrLine]
    chars: int  # non-space characters
    usable: bool
    reason: str  # why it is (not) used, for logs and the evaluation
    duration_ms: int

    def as_page(self, width: int, height: int) -> OcrPage:
        return OcrPage(self.lines, ENGINE, ENGINE_VERSION, "pdf-text-layer", self.duration_ms, width, height)


def _to_pixels(
    page: pdfium.PdfPage, width: int, height: int, left: float, bottom: float, right: float, top: float
) -> Box:
    xs, ys = [], []
    for px, py in ((left, top), (right, bottom)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, width, height, 0, px, py, ctypes.byref(dx), ctypes.byref(dy))
        xs.append(dx.value)
        ys.append(dy.value)
    return (min(xs), min(ys), max(xs), max(ys))


def read_lines(page: pdfium.PdfPage, width: int, height: int) -> list[OcrLine]:
    """The page's text as lines of words, boxes in the pixels of a width x height rendering."""
    textpage = page.get_textpage()
    try:
        lines: list[OcrLine] = []
        line_words: list[OcrWord] = []
        chars: list[str] = []
        boxes: list[tuple[float, float, float, float]] = []

        def end_word() -> None:
            if chars and boxes:
                left = min(b[0] for b in boxes)
                bottom = min(b[1] for b in boxes)
                right = max(b[2] for b in boxes)
                top = max(b[3] for b in boxes)
                box = _to_pixels(page, width, height, left, bottom, right, top)
                line_words.append(OcrWord("".join(chars), box, 1.0))
            chars.clear()
            boxes.clear()

        def end_line() -> None:
            end_word()
            if line_words:
                lines.append(OcrLine(union([w.bbox for w in line_words]), list(line_words)))
            line_words.clear()

        for i in range(textpage.count_chars()):
            char = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i))
            if char in "\r\n":
                end_line()
            elif char.isspace() or char == "\x00":
                end_word()
            else:
                left, bottom, right, top = textpage.get_charbox(i)
                if boxes and (left < boxes[-1][0] - 1 or bottom > boxes[-1][3]):
                    end_line()  # the text jumped back or up: a new line without a break marker
                chars.append(char)
                if right > left or top > bottom:
                    boxes.append((left, bottom, right, top))
        end_line()
        return lines
    finally:
        textpage.close()


def _garbage_share(text: str) -> float:
    bad = sum(1 for c in text if c == "\ufffd" or unicodedata.category(c) in ("Co", "Cn", "Cc", "Cs"))
    return bad / len(text) if text else 0.0


def _soup_share(words: list[str]) -> float:
    latin = [w for w in words if len(w) >= 3 and w.isascii() and w.isalpha()]
    if len(latin) < 10:
        return 0.0
    return sum(1 for w in latin if not _VOWELS.intersection(w)) / len(latin)


def _image_cover(page: pdfium.PdfPage) -> float:
    width, height = page.get_size()
    area = max(width * height, 1.0)
    largest = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        covered = max(0.0, min(right, width) - max(left, 0.0)) * max(0.0, min(top, height) - max(bottom, 0.0))
        largest = max(largest, covered)
    return largest / area


def judge(page: pdfium.PdfPage, lines: list[OcrLine], rules: TextLayerRules) -> tuple[bool, str, int]:
    """Whether the text layer is usable, why, and how many characters it has."""
    words = [w.text for line in lines for w in line.words]
    text = "".join(words)
    if len(text) < rules.min_chars:
        return False, f"no usable text layer ({len(text)} characters)", len(text)
    garbage = _garbage_share(text)
    if garbage > rules.max_garbage:
        return False, f"garbage text layer ({garbage:.0%} unreadable characters)", len(text)
    soup = _soup_share(words)
    if soup > _SOUP_SHARE:
        return False, f"garbage text layer ({soup:.0%} of words without vowels)", len(text)
    if len(text) < _SPARSE_TEXT_CHARS and _image_cover(page) >= _IMAGE_COVER:
        return False, "a scanned page with a sparse text layer", len(text)
    return True, f"text layer ({len(text)} characters)", len(text)


def text_layer(page: pdfium.PdfPage, width: int, height: int, rules: TextLayerRules) -> TextLayer:
    """Read and judge a PDF page's text layer for an image of width x height pixels."""
    started = time.perf_counter()
    lines = read_lines(page, width, height)
    usable, reason, chars = judge(page, lines, rules)
    return TextLayer(lines, chars, usable, reason, int((time.perf_counter() - started) * 1000))
