"""Born-digital fast path: text layers of real invoices, judged and mapped to pixel boxes."""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from pagestream.agents.common.geometry import Word, rows_of
from pagestream.agents.common.ocr_result import OcrLine, OcrWord
from pagestream.agents.ingest.core.document import Limits, render_page
from pagestream.agents.ingest.core.textlayer import Char, TextLayerRules, judge, text_layer, words_in_lines
from pagestream.streams.cli.eval.measures import ground_truth_text, word_precision, word_recall
from tests.conftest import EVALDATA

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

RULES = TextLayerRules(min_chars=20, max_garbage=0.1)
INVOICES = EVALDATA / "real" / "invoice2data"


def _invoices() -> list[str]:
    if not INVOICES.is_dir():
        return []
    return sorted(p.stem for p in (INVOICES / "pdf").glob("*.pdf"))


@pytest.mark.parametrize("name", _invoices())
def test_invoice_text_layers_are_used_with_boxes_in_page_pixels(name: str) -> None:
    gt = json.loads((INVOICES / "gt" / f"{name}.json").read_text())
    pdf = pdfium.PdfDocument(INVOICES / "pdf" / f"{name}.pdf")
    for page, truth in zip(pdf, gt["pages"], strict=True):
        layer = text_layer(page, truth["width"], truth["height"], RULES)
        text = "\n".join(line.text for line in layer.lines)
        assert layer.usable, layer.reason
        assert word_recall(text, ground_truth_text(truth)) >= 0.99
        assert word_precision(text, ground_truth_text(truth)) >= 0.98
        # Each ground-truth word (pdftotext boxes in the PNG's pixels) lies where we put it.
        ours = {}
        for word in (w for line in layer.lines for w in line.words):
            ours.setdefault(word.text, []).append(word.bbox)
        checked = 0
        for line in truth["lines"]:
            for word in line["words"]:
                if len(ours.get(word["text"], [])) == 1:
                    (x0, y0, x1, y1), (g0, h0, g1, h1) = ours[word["text"]][0], word["bbox"]
                    assert abs((x0 + x1) - (g0 + g1)) / 2 < 8 and abs((y0 + y1) - (h0 + h1)) / 2 < 12, word
                    checked += 1
        assert checked >= 10


def test_image_only_pdfs_have_no_usable_text_layer() -> None:
    pdfs = sorted((EVALDATA / "synthetic").glob("*/*.pdf"))[:6]
    if not pdfs:
        pytest.skip("evaluation data not present")
    for path in pdfs:
        page = pdfium.PdfDocument(path)[0]
        layer = text_layer(page, 1240, 1754, RULES)
        assert not layer.usable and "no usable text layer" in layer.reason


def _pdf_with_text(path: Path, lines: list[str], image: bool = False, size: float = 12) -> Path:
    """A one-page A4 PDF whose text layer holds ``lines`` (Helvetica), optionally under a photo."""
    pdf = pdfium.PdfDocument.new()
    page = pdf.new_page(595, 842)
    if image:
        from PIL import Image

        photo = pdfium.PdfImage.new(pdf)
        photo.set_bitmap(pdfium.PdfBitmap.from_pil(Image.new("RGB", (300, 420), (90, 120, 150))))
        photo.set_matrix(pdfium.PdfMatrix().scale(595, 842))
        page.insert_obj(photo)
    font = pdfium_c.FPDFText_LoadStandardFont(pdf.raw, b"Helvetica")
    for i, line in enumerate(lines):
        obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(size))
        text = (line + "\x00").encode("utf-16-le")
        pdfium_c.FPDFText_SetText(obj, ctypes.cast(ctypes.c_char_p(text), ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
        pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 50, 780 - size * 5 / 3 * i)
        pdfium_c.FPDFPage_InsertObject(page.raw, obj)
    page.gen_content()
    pdf.save(path)
    return path


def _layer(path: Path):
    return text_layer(pdfium.PdfDocument(path)[0], 1654, 2339, RULES)


def test_a_made_text_layer_is_read_in_order(tmp_path: Path) -> None:
    layer = _layer(_pdf_with_text(tmp_path / "ok.pdf", ["Invoice number 4711", "Total due 1234.50 EUR"]))
    assert layer.usable and [line.text for line in layer.lines] == ["Invoice number 4711", "Total due 1234.50 EUR"]
    first = layer.lines[0].words[0]
    assert first.text == "Invoice" and abs(first.bbox[0] - 50 * 1654 / 595) < 5


def test_unreadable_characters_make_a_garbage_layer(tmp_path: Path) -> None:
    # A font without a Unicode map yields private-use code points; a standard font cannot write
    # them, so the judged lines are given directly for a real page.
    page = pdfium.PdfDocument(_pdf_with_text(tmp_path / "pua.pdf", ["Total 12"]))[0]
    words = [OcrWord(t, (0, 0, 10, 10), 1.0) for t in ("\ue001\ue002\ue003", "\ue004\ufffd", "Total", "12")]
    usable, reason, _ = judge(page, [OcrLine((0, 0, 40, 10), words)] * 3, RULES)
    assert not usable and "unreadable characters" in reason


def test_letter_soup_makes_a_garbage_layer(tmp_path: Path) -> None:
    layer = _layer(_pdf_with_text(tmp_path / "soup.pdf", ["Xvbqt Zrpl Mnbv Qwrt Lkjh Pqrs Tvwx Bcdf Ghjk Zxcv"] * 2))
    assert not layer.usable and "without vowels" in layer.reason


def test_a_scan_with_a_stamp_of_text_goes_to_ocr(tmp_path: Path) -> None:
    layer = _layer(_pdf_with_text(tmp_path / "scan.pdf", ["Scanned by the mail room 2024-05-01"], image=True))
    assert not layer.usable and "scanned page" in layer.reason


def test_render_page_brings_the_text_layer_only_when_asked(tmp_path: Path) -> None:
    path = _pdf_with_text(tmp_path / "doc.pdf", ["Invoice number 4711", "Total due 1234.50 EUR"])
    limits = Limits(10**8, 10, 10**8, 200, 200, RULES)
    page = render_page(path, "PDF", 0, limits)
    assert page.text_layer is not None and page.text_layer.usable
    assert page.width == round(595 * 200 / 72)
    without = render_page(path, "PDF", 0, Limits(10**8, 10, 10**8, 200, 200, None))
    assert without.text_layer is None


def _chars(text: str, x: float = 0, y: float = 0, step: float = 6, vertical: bool = False) -> list[Char]:
    """Characters laid out along a line (upwards when vertical), 6 points apart, 8 high."""
    out = []
    for i, char in enumerate(text):
        left, bottom = (x, y + i * step) if vertical else (x + i * step, y)
        box = None if char.isspace() else (left, bottom, left + 5, bottom + 8)
        out.append(Char(char, box, vertical))
    return out


def _texts(chars: list[Char]) -> list[list[str]]:
    return [[text for text, _ in line] for line in words_in_lines(chars)]


def test_characters_outside_the_basic_plane_stay_whole_and_encodable() -> None:
    lines = _texts(_chars("U\U000f0854 code \U0001d400"))
    assert lines == [["U\U000f0854", "code", "\U0001d400"]]
    "".join(lines[0]).encode("utf-8")  # no lone surrogates: Avro (UTF-8) carries it


def test_hyphenation_marks_join_the_word_and_no_control_character_remains() -> None:
    chars = [*_chars("Ef\x02"), Char("\r", None), Char("\n", None), *_chars("fects of\x01 co\xadop", y=-12)]
    assert _texts(chars) == [["Effects"], ["of", "coop"]]


def test_underscores_below_the_line_do_not_split_a_word() -> None:
    chars = _chars("QIBM_DB")
    low = chars[4].box
    chars[4] = Char("_", (low[0], -1.5, low[2], -1.0))
    assert _texts(chars) == [["QIBM_DB"]]


def test_vertical_text_reads_as_words() -> None:
    assert _texts(_chars("*JOBCTL", vertical=True)) == [["*JOBCTL"]]


def test_right_to_left_lines_keep_words_and_lam_alef_order() -> None:
    # pdfium gives Arabic in logical order, moving left; a lam-alef ligature as alef then lam
    # with one box, which reads as lam then alef.
    chars = _chars("\u0645\u0646 \u0627\u0625", x=100, step=-6)
    chars += [Char("\u0644", chars[4].box), Char("\u0646", (70, 0, 75, 8))]
    assert _texts(chars) == [["\u0645\u0646", "\u0627\u0644\u0625\u0646"]]


@pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVu fonts not installed")
def test_an_arabic_line_with_a_latin_run_reads_in_bidi_order(tmp_path: Path) -> None:
    pdf = pdfium.PdfDocument.new()
    page = pdf.new_page(595, 842)
    data = DEJAVU.read_bytes()
    font = pdfium_c.FPDFText_LoadFont(
        pdf.raw, (ctypes.c_uint8 * len(data)).from_buffer_copy(data), len(data), pdfium_c.FPDF_FONT_TRUETYPE, 1
    )
    obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(12))
    logical = "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 Python 3"
    visual = "Python 3 " + logical[: -len(" Python 3")][::-1]  # as a PDF sets the glyphs, left to right
    text = (visual + "\x00").encode("utf-16-le")
    pdfium_c.FPDFText_SetText(obj, ctypes.cast(ctypes.c_char_p(text), ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
    pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 50, 780)
    pdfium_c.FPDFPage_InsertObject(page.raw, obj)
    page.gen_content()
    pdf.save(tmp_path / "rtl.pdf")
    layer = text_layer(pdfium.PdfDocument(tmp_path / "rtl.pdf")[0], 1654, 2339, RULES)
    words = [Word(w.text, w.bbox) for line in layer.lines for w in line.words]
    assert len(words) == 4 and rows_of(words)[0].text == logical
