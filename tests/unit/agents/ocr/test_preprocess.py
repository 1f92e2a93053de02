"""Preprocessing: a turned page is detected and turned upright, a skewed scan straightened."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pagestream.agents.ocr.core.engines.tesseract import TesseractEngine
from pagestream.agents.ocr.core.preprocess import check_steps, estimate_skew, looks_turned, prepare, upright_reread
from pagestream.streams.cli.eval.measures import word_recall
from pagestream.streams.errors import PageFailed
from pagestream.streams.settings import Settings
from tests.conftest import EVALDATA

TESSDATA = Settings().tessdata


@pytest.fixture(scope="module")
def page() -> Image.Image:
    path = EVALDATA / "synthetic" / "syn-0004-letter" / "page-1.png"
    if not path.is_file():
        pytest.skip("evaluation data not present")
    return Image.open(path).convert("L")


@pytest.mark.parametrize("turned", [90, 180, 270])
def test_a_turned_page_is_detected_and_turned_upright(page: Image.Image, turned: int) -> None:
    lying = page.rotate(turned, expand=True)  # counter-clockwise
    prepared = prepare(lying, ("orient",), TESSDATA)
    assert prepared.orientation == turned  # turned back clockwise by as much
    assert prepared.image.size == page.size
    assert np.mean(np.abs(np.asarray(prepared.image, dtype=int) - np.asarray(page, dtype=int))) < 1


def test_an_upright_page_stays_as_it_is(page: Image.Image) -> None:
    assert prepare(page, ("orient",), TESSDATA).orientation == 0


def test_orientation_correction_restores_recall(page: Image.Image) -> None:
    engine = TesseractEngine("eng", TESSDATA)
    upright = engine.recognize(page).text
    lying = page.rotate(90, expand=True)
    assert word_recall(engine.recognize(lying).text, upright) < 0.3
    assert word_recall(engine.recognize(prepare(lying, ("orient",), TESSDATA).image).text, upright) > 0.95


@pytest.mark.parametrize("turned", [90, 180, 270])
def test_a_turned_page_is_read_upright_without_the_orient_step(page: Image.Image, turned: int) -> None:
    engine = TesseractEngine("eng", TESSDATA)
    first = engine.recognize(page)
    assert not looks_turned(first)  # upright pages never pay for the orientation detector
    lying = page.rotate(turned, expand=True)
    read = engine.recognize(lying)
    assert looks_turned(read)
    again = upright_reread(lying, read, TESSDATA, engine.recognize)
    assert again.orientation == turned and (again.width, again.height) == page.size
    assert word_recall(again.text, first.text) > 0.95


@pytest.mark.parametrize("angle", [-2.5, 1.2, 4.0])
def test_skew_is_measured_and_removed(page: Image.Image, angle: float) -> None:
    skewed = page.rotate(angle, resample=Image.BILINEAR, fillcolor=255)
    assert abs(estimate_skew(np.asarray(skewed)) + angle) <= 0.2
    prepared = prepare(skewed, ("deskew",))
    assert abs(prepared.skew + angle) <= 0.2
    assert abs(estimate_skew(np.asarray(prepared.image))) <= 0.2


def test_contrast_denoise_and_binarize_keep_the_page(page: Image.Image) -> None:
    faint = Image.fromarray((np.asarray(page) // 3 + 150).astype(np.uint8))
    prepared = prepare(faint, ("clahe", "denoise", "binarize"))
    pixels = np.asarray(prepared.image)
    assert prepared.image.size == page.size and set(np.unique(pixels)) <= {0, 255}
    assert (pixels == 0).mean() > 0.01  # the text survived as black ink


def test_blank_page_passes_through_every_step() -> None:
    prepared = prepare(Image.new("L", (800, 1000), 255), ("orient", "deskew", "clahe", "denoise", "binarize"), TESSDATA)
    assert (prepared.orientation, prepared.skew) == (0, 0.0)


def test_unknown_steps_are_named() -> None:
    with pytest.raises(PageFailed, match=r"unknown preprocessing step.*sharpen; accepted: orient, deskew"):
        check_steps(["deskew", "sharpen"])
    assert check_steps(["binarize", "orient"]) == ("orient", "binarize")
