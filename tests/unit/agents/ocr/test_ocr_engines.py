"""PP-OCR (rapidocr's shipped ONNX models), paddleocr on the same models, and the cascade, on
real labelled pages; plus the pages that must not break an engine (blank, a photo, a huge one)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pagestream.agents.common.ocr_result import EngineSpec
from pagestream.agents.ocr.core.engines import EngineCache
from pagestream.agents.ocr.core.engines.cascade import CascadeEngine
from pagestream.agents.ocr.core.engines.paddleocr import check_model_dir
from pagestream.streams.cli.eval.measures import ground_truth_text, word_precision, word_recall
from pagestream.streams.errors import PageFailed
from pagestream.streams.settings import Settings
from tests.conftest import EVALDATA


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> EngineCache:
    spec = EngineSpec("tesseract", "eng", Settings().tessdata, model_dir=tmp_path_factory.mktemp("paddle-models"))
    return EngineCache(spec)


@pytest.fixture(scope="module")
def labelled_page() -> tuple[Image.Image, str]:
    """The upper half of a labelled invoice page (header, addresses, first items) and its truth."""
    folder = EVALDATA / "synthetic" / "syn-0000-invoice"
    if not folder.is_dir():
        pytest.skip("evaluation data not present")
    gt = json.loads((folder / "gt.json").read_text())["pages"][0]
    with Image.open(folder / "page-1.png") as full:
        image = full.crop((0, 0, full.width, full.height // 2))
    inside = {**gt, "lines": [ln for ln in gt["lines"] if ln["bbox"][3] < image.height]}
    return image, ground_truth_text(inside)


@pytest.mark.parametrize("name", ["ppocr", "paddleocr"])
def test_pp_ocr_engines_read_a_labelled_page(engines: EngineCache, labelled_page, name: str) -> None:
    image, truth = labelled_page
    page = engines.get(name).recognize(image)
    assert word_recall(page.text, truth) >= 0.93
    assert word_precision(page.text, truth) >= 0.9
    assert page.engine == name and "onnxruntime" in page.engine_version and "PP-OCRv6" in page.model
    words = {w.text: w for w in page.words}
    # "INVOICE" is printed near the top right; its box must say so.
    title = words["INVOICE"]
    assert title.bbox[0] > image.width / 2 and title.bbox[1] < image.height / 2
    assert all(0 < w.confidence <= 1 and w.bbox[2] > w.bbox[0] and w.bbox[3] > w.bbox[1] for w in page.words)


def test_paddleocr_without_models_says_what_it_needs(tmp_path) -> None:
    with pytest.raises(PageFailed, match=r"paddleocr needs local models: .* lacks inference.yml, inference.onnx"):
        check_model_dir(tmp_path)


@pytest.mark.parametrize("name", ["tesseract", "ppocr"])
def test_a_blank_page_has_no_text(engines: EngineCache, name: str) -> None:
    page = engines.get(name).recognize(Image.new("L", (1654, 2339), 255))
    assert page.lines == [] and page.mean_confidence == 0.0


@pytest.mark.parametrize("name", ["tesseract", "ppocr"])
def test_a_page_that_is_one_photo_gives_little_text_and_no_error(engines: EngineCache, name: str) -> None:
    rng = np.random.default_rng(7)
    smooth = rng.normal(128, 40, (120, 90)).clip(0, 255).astype(np.uint8)
    photo = Image.fromarray(smooth).resize((1654, 2339), Image.BICUBIC)
    page = engines.get(name).recognize(photo)
    assert len(page.words) < 30


def test_cascade_keeps_confident_lines_and_rereads_doubtful_ones(engines: EngineCache, labelled_page) -> None:
    image, truth = labelled_page
    first, second = engines.get("tesseract"), engines.get("ppocr")
    alone = first.recognize(image)
    trusting = CascadeEngine(first, second, line_confidence=0.0, page_fraction=0.5)
    page = trusting.recognize(image)
    assert page.text == alone.text and trusting.lines_reread == 0 and page.engine == "tesseract>ppocr"

    doubting = CascadeEngine(first, second, line_confidence=0.9, page_fraction=1.0)
    page = doubting.recognize(image)
    doubtful = sum(1 for line in alone.lines if line.confidence < 0.9)
    assert doubting.lines_reread == doubtful > 0 and doubting.pages_reread == 0
    assert [line.bbox for line in page.lines] == [line.bbox for line in alone.lines]
    assert word_recall(page.text, truth) >= word_recall(alone.text, truth) - 0.01


def test_cascade_hands_a_doubtful_page_to_the_second_engine(engines: EngineCache, labelled_page) -> None:
    image, _ = labelled_page
    cascade = CascadeEngine(engines.get("tesseract"), engines.get("ppocr"), line_confidence=1.01, page_fraction=0.5)
    page = cascade.recognize(image)
    assert cascade.pages_reread == 1
    assert page.text == engines.get("ppocr").recognize(image).text
