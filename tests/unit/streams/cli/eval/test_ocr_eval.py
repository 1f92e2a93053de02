"""``pagestream eval ocr``: the evaldata pages are found, scored and read as the OCR stage reads them."""

from __future__ import annotations

import random

import pytest

from pagestream.agents.ocr.core.reader import engine_spec
from pagestream.streams.cli.eval.measures import edit_distance
from pagestream.streams.cli.eval.ocr_eval import EvalDataError, evaluate, load_pages, score, table
from pagestream.streams.settings import Settings
from tests.conftest import EVALDATA


def _slow_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def test_bit_parallel_edit_distance_agrees_with_the_textbook_one() -> None:
    rng = random.Random(3)
    for _ in range(500):
        a = "".join(rng.choice("ab c") for _ in range(rng.randint(0, 90)))
        b = "".join(rng.choice("abc ") for _ in range(rng.randint(0, 90)))
        assert edit_distance(a, b) == _slow_distance(a, b)


def test_scores_ignore_reading_order_but_not_misreadings() -> None:
    perfect = score("Total 12.50\nInvoice 4711", "Invoice 4711\nTotal 12.50").figures()
    assert (perfect["word_recall"], perfect["word_precision"], perfect["cer"]) == (1.0, 1.0, 0.0)
    wrong = score("Invoice 4711 Tota1", "Invoice 4711 Total").figures()
    assert wrong["word_recall"] == round(2 / 3, 4) and wrong["cer"] == round(1 / 18, 4)


def test_every_evaldata_dataset_is_found() -> None:
    if not EVALDATA.is_dir():
        pytest.skip("evaluation data not present")
    pages = load_pages(EVALDATA)
    assert {p.source for p in pages} == {"docbank", "invoice2data", "synthetic"}
    assert len(pages) == 25 + 13 + 51
    assert {p.noise for p in pages if p.source == "synthetic"} == {"none", "light"}
    assert all(p.image.is_file() and p.truth for p in pages)


def test_a_folder_without_data_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(EvalDataError, match="no evaluation data in"):
        load_pages(tmp_path)


def test_evaluate_reads_pages_in_the_pool() -> None:
    if not EVALDATA.is_dir():
        pytest.skip("evaluation data not present")
    pages = [p for p in load_pages(EVALDATA / "synthetic") if p.noise == "none"][:2]
    result = evaluate(pages, engine_spec(Settings()), "tesseract", processes=2)
    assert result["pages"] == 2 and result["word_recall"] >= 0.85 and result["cer"] < 0.15
    assert set(result["by_noise"]) == {"synthetic/none"} and len(result["per_page"]) == 2
    assert f"| tesseract | {','.join(result['preprocess']) or '-'} | all | 2 |" in table([result])
