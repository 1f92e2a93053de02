"""Born-digital fast path: a PDF page's own text layer, as words and lines with pixel boxes.

pypdfium2 gives the page's text as one range (whole characters, also outside the basic plane) and
every character's box in PDF points; characters are grouped into words at spaces and into lines
at pdfium's line breaks or where a character leaves the line's band (across the writing
direction, so right-to-left and vertical text keep their words), hyphenated words are joined,
control characters dropped, and boxes are mapped into the pixel space of the page image rendered
at the same size (``FPDF_PageToDevice``, which also applies the page's /Rotate).

``judge`` decides whether the layer is usable: too few characters (a scan, perhaps with a page
number), unreadable characters (fonts without a Unicode map give private-use code points
or U+FFFD), letter soup (shifted encodings), or a page-covering image with a sparse text layer
(a scan with a stamp or header text) all send the page to OCR instead.
"""

from __future__ import annotations

import ctypes
import math
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
_HYPHEN_MARKS = "\x02\xad"  # pdfium's mark of a hyphen that splits a word at a line end; soft hyphen
_ALEFS = "\u0627\u0623\u0625\u0622"  # alef and alef with hamza or madda, the second half of lam-alef
# Control characters (other than line breaks, which end lines) and the hyphen marks left mid-word.
_DROP = {c: None for c in [*range(0x20), *range(0x7F, 0xA0), 0xAD]}


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
    replaced: int = 0  # characters no encoding can carry (lone surrogates), replaced by U+FFFD

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


PdfBox = tuple[float, float, float, float]  # left, bottom, right, top in PDF points


@dataclass(frozen=True)
class Char:
    """One character of the text layer: its text (one code point, or a line break), its box
    (None for characters pdfium generates, such as spaces and line breaks) and whether it is set
    vertically (turned a quarter, as in table headers written upwards)."""

    text: str
    box: PdfBox | None
    vertical: bool = False


def read_chars(textpage: pdfium.PdfTextPage) -> tuple[list[Char], int]:
    """The page's characters in pdfium's (logical) order, and how many could not be carried.

    The text comes as one range from pdfium's UTF-16 text, so a character outside the basic
    plane arrives whole rather than as two lone surrogates that no encoder accepts; boxes are
    looked up by the character index each text index stands for. What still cannot be encoded
    (a lone surrogate in a broken font map) becomes U+FFFD and is counted."""
    text = textpage.get_text_range(errors="surrogatepass")
    chars: list[Char] = []
    replaced = unit = 0
    for char in text:
        index = pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage.raw, unit)
        unit += 2 if ord(char) > 0xFFFF else 1
        if unicodedata.category(char) == "Cs":
            char, replaced = "\ufffd", replaced + 1
        box = None
        vertical = False
        if index >= 0 and not char.isspace():
            left, bottom, right, top = textpage.get_charbox(index)
            if right > left or top > bottom:
                box = (left, bottom, right, top)
            vertical = abs(math.sin(pdfium_c.FPDFText_GetCharAngle(textpage.raw, index))) > 0.7
        chars.append(Char(char, box, vertical))
    return chars, replaced


def _rtl(char: str) -> bool:
    return unicodedata.bidirectional(char) in ("R", "AL")


def _continues(line: PdfBox, last: PdfBox, box: PdfBox, vertical: bool, rtl: bool) -> bool:
    """Whether a character's box continues a line (its box so far, its last character's box):
    it lies in the line's band (across the writing direction, with a quarter of slack for an
    underscore or a subscript) and, in left-to-right text, does not jump back to the left."""
    lo, hi, a, b = (line[0], line[2], box[0], box[2]) if vertical else (line[1], line[3], box[1], box[3])
    slack = (hi - lo) / 4
    if b < lo - slack or a > hi + slack:
        return False
    return vertical or rtl or box[0] >= last[0] - 1


def _join_hyphenated(lines: list[list[tuple[str, PdfBox]]]) -> list[list[tuple[str, PdfBox]]]:
    """A word that ends a line in pdfium's hyphenation marker (U+0002) or a soft hyphen takes
    the first word of the next line (one word, boxed where it starts); markers elsewhere go."""
    for n, line in enumerate(lines):
        if not line:
            continue
        text, box = line[-1]
        if text[-1] in _HYPHEN_MARKS and n + 1 < len(lines) and lines[n + 1]:
            rest, _ = lines[n + 1].pop(0)
            line[-1] = (text + rest, box)
    cleaned = [[(t.translate(_DROP), b) for t, b in line] for line in lines]
    return [[(t, b) for t, b in line if t] for line in cleaned if any(t for t, _ in line)]


def words_in_lines(chars: list[Char]) -> list[list[tuple[str, PdfBox]]]:
    """Characters grouped into words (at spaces) and lines (at pdfium's breaks, or where a
    character leaves the line's band), in logical order, so right-to-left and vertical text
    keep whole words; two characters of one ligature glyph that pdfium gives as alef then lam
    (the same box) are put back in their logical order, lam first."""
    lines: list[list[tuple[str, PdfBox]]] = []
    words: list[tuple[str, PdfBox]] = []
    text: list[str] = []
    boxes: list[PdfBox] = []
    line_boxes: list[PdfBox] = []
    rtl = False

    def end_word() -> None:
        if text and boxes:
            words.append(("".join(text), _union(boxes)))
        text.clear()
        boxes.clear()

    def end_line() -> None:
        nonlocal rtl
        end_word()
        if words:
            lines.append(list(words))
        words.clear()
        line_boxes.clear()
        rtl = False

    for char in chars:
        if char.text in "\r\n":
            end_line()
        elif char.text.isspace() or char.text == "\x00":
            end_word()
        elif char.box is not None:
            if line_boxes and not _continues(_union(line_boxes), line_boxes[-1], char.box, char.vertical, rtl):
                end_line()
            if boxes and boxes[-1] == char.box and char.text == "\u0644" and text[-1] in _ALEFS:
                text.insert(len(text) - 1, char.text)
            else:
                text.append(char.text)
            boxes.append(char.box)
            line_boxes.append(char.box)
            rtl = rtl or _rtl(char.text)
        elif char.text in _HYPHEN_MARKS:
            text.append(char.text)
    end_line()
    return _join_hyphenated(lines)


def _union(boxes: list[PdfBox]) -> PdfBox:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def read_lines(page: pdfium.PdfPage, width: int, height: int) -> tuple[list[OcrLine], int]:
    """The page's text as lines of words, boxes in the pixels of a width x height rendering, and
    how many characters had to be replaced."""
    textpage = page.get_textpage()
    try:
        chars, replaced = read_chars(textpage)
    finally:
        textpage.close()
    lines = []
    for line in words_in_lines(chars):
        words = [OcrWord(text, _to_pixels(page, width, height, *box), 1.0) for text, box in line]
        lines.append(OcrLine(union([w.bbox for w in words]), words))
    return lines, replaced


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
    lines, replaced = read_lines(page, width, height)
    usable, reason, chars = judge(page, lines, rules)
    if replaced:
        reason += f"; {replaced} unencodable characters replaced by U+FFFD"
    return TextLayer(lines, chars, usable, reason, int((time.perf_counter() - started) * 1000), replaced)
