"""``pagestream train classifier --eval-ocr``: held-out page images are read as the pipeline reads
them (OCR in the process pool, then layout) and evaluated beside their ground-truth text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pagestream.agents.classify.classifier import train
from pagestream.streams.cli.main import main
from tests.conftest import text_image

LINES = ["INVOICE No 4711", "Total due 12.50 EUR"]


def held_out_folder(root: Path) -> Path:
    """A one-page dataset in the evaluation ground-truth format, with its page image."""
    root.mkdir()
    (root / "index.json").write_text("{}")
    (root / "page-1.png").write_bytes(text_image(LINES))
    lines = [{"text": text, "bbox": [40, 40 + i * 60, 600, 80 + i * 60]} for i, text in enumerate(LINES)]
    gt = {"schema": "evaldata-gt/1", "doc_id": "inv-1", "doc_type": "invoice",
          "pages": [{"page": 1, "image": "page-1.png", "lines": lines}]}  # fmt: skip
    (root / "gt.json").write_text(json.dumps(gt))
    return root


def test_eval_ocr_evaluates_the_text_read_from_the_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    held_out = held_out_folder(tmp_path / "held-out")
    monkeypatch.setenv("PAGESTREAM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PAGESTREAM_POOL_PROCESSES", "1")
    monkeypatch.setenv("PAGESTREAM_OCR_ENGINE", "tesseract")
    seen: dict[str, list] = {}

    def fake_training(settings, pages, eval_sets, **_kwargs) -> train.TrainReport:  # the model is not the point here
        seen.update(eval_sets)
        metrics = {"inference_ms_per_page": 1.0, "model_load_seconds": 0.1, "encoder_load_seconds": 0.1}
        return train.TrainReport("pagestream-doctype", "1", "champion", "run", len(pages), metrics, {})

    monkeypatch.setattr(train, "train_and_register", fake_training)
    code = main(["train", "classifier", str(held_out), "--eval", str(held_out), "--eval-ocr", "--no-generated",
                 "--json"])  # fmt: skip
    assert code == 0
    assert json.loads(capsys.readouterr().out)["version"] == "1"
    assert set(seen) == {"held-out", "held-out (OCR)"}
    [read] = seen["held-out (OCR)"]
    assert read.source == "held-out (OCR)" and read.image == held_out / "page-1.png"
    assert "INVOICE" in read.text and "12.50" in read.text, read.text
