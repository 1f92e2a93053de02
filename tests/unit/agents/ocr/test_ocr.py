"""The Tesseract engine reads real pages with boxes and confidences."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from PIL import Image

from pagestream.agents.common.ocr_result import EngineSpec
from pagestream.agents.ocr.core.engines import EngineCache
from pagestream.agents.ocr.core.engines.tesseract import TesseractEngine
from pagestream.streams.cli.eval.measures import ground_truth_text, word_precision, word_recall
from pagestream.streams.errors import PageFailed
from pagestream.streams.settings import Settings
from tests.conftest import EVALDATA, text_image


@pytest.fixture(scope="module")
def engine() -> TesseractEngine:
    return TesseractEngine("eng", Settings().tessdata)


def test_words_lines_boxes_and_confidences(engine: TesseractEngine) -> None:
    page = engine.recognize(Image.open(io.BytesIO(text_image(["Invoice number 4711", "Total 1234.50 EUR"]))))
    assert [line.text for line in page.lines] == ["Invoice number 4711", "Total 1234.50 EUR"]
    first = page.lines[0].words[0]
    assert first.text == "Invoice" and 30 <= first.bbox[0] <= 50 and 30 <= first.bbox[1] <= 60
    assert all(0.5 < w.confidence <= 1 for w in page.words)
    assert page.engine == "tesseract" and page.engine_version.startswith("5.")


def test_recall_on_a_labelled_synthetic_page(engine: TesseractEngine) -> None:
    folder = EVALDATA / "synthetic" / "syn-0000-invoice"
    if not folder.is_dir():
        pytest.skip("evaluation data not present")
    import json

    gt = json.loads((folder / "gt.json").read_text())
    page = engine.recognize(Image.open(folder / gt["pages"][0]["image"].split("/")[-1]))
    truth = ground_truth_text(gt["pages"][0])
    assert word_recall(page.text, truth) >= 0.9
    assert word_precision(page.text, truth) >= 0.85


def test_unknown_engine_names_the_available_ones() -> None:
    cache = EngineCache(EngineSpec("tesseract", "eng", Settings().tessdata))
    for name in ("nope", "tesseract>tesseract", "tesseract>ppocr>paddleocr"):
        with pytest.raises(PageFailed, match=r"unknown OCR engine .*; available: tesseract, ppocr, paddleocr, or a"):
            cache.get(name)


def test_missing_language_data_is_a_clear_error() -> None:
    with pytest.raises(PageFailed, match="languages xx are not installed"):
        TesseractEngine("eng+xx", Settings().tessdata)


def test_pdfium_render_feeds_ocr(engine: TesseractEngine, tmp_path) -> None:
    from tests.conftest import REPO

    pdf = pdfium.PdfDocument(REPO / "samples" / "invoice.pdf")
    image = pdf[0].render(scale=200 / 72, grayscale=True).to_pil()
    assert len(engine.recognize(image).words) > 50
