"""Born-digital pages come back from their text layer, scanned ones through OCR, through Kafka."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pagestream.streams import topics
from pagestream.streams.cli.eval.measures import ground_truth_text, word_recall
from pagestream.streams.cli.supervisor import service_env
from tests.conftest import EVALDATA, evaldata_doc, read_topic, text_image
from tests.e2e.test_submit_cli import submit

pytestmark = pytest.mark.kafka
INVOICES = EVALDATA / "real" / "invoice2data"


def _invoice(name: str) -> tuple[Path, dict]:
    if not INVOICES.is_dir():
        pytest.skip("evaluation data not present")
    return INVOICES / "pdf" / f"{name}.pdf", json.loads((INVOICES / "gt" / f"{name}.json").read_text())


def test_born_digital_pages_use_the_text_layer_and_scans_go_to_ocr(stack) -> None:
    born, born_gt = _invoice("QualityHosting")
    scan, _ = evaldata_doc("syn-0000-invoice")
    results, proc = submit(stack, born, scan)
    assert proc.returncode == 0, proc.stderr
    by_name = {r["filename"]: r for r in results}
    pages = by_name[born.name]["pages"]
    assert [p["text_source"] for p in pages] == ["TEXT_LAYER", "TEXT_LAYER"]
    assert all(p["engine"].startswith("text-layer pypdfium2") for p in pages)
    for page, truth in zip(pages, born_gt["pages"], strict=True):
        assert word_recall(page["text"], ground_truth_text(truth)) >= 0.99
    assert [p["text_source"] for p in by_name[scan.name]["pages"]] == ["OCR"]
    assert by_name[scan.name]["pages"][0]["engine"].startswith("tesseract")


def test_force_ocr_and_engine_per_document(stack, tmp_path: Path) -> None:
    born, born_gt = _invoice("AzureInterior")
    image = tmp_path / "note.png"
    image.write_bytes(text_image(["Payment received with thanks", "Reference 2024 0042"]))
    forced, proc = submit(stack, born, extra=["--force-ocr"])
    assert proc.returncode == 0, proc.stderr
    page = forced[0]["pages"][0]
    assert page["text_source"] == "OCR" and word_recall(page["text"], ground_truth_text(born_gt["pages"][0])) >= 0.9
    read, proc = submit(stack, image, extra=["--engine", "ppocr"])
    assert proc.returncode == 0, proc.stderr
    assert read[0]["pages"][0]["engine"].startswith("ppocr") and "Payment received" in read[0]["pages"][0]["text"]
    rejected, proc = submit(stack, image, extra=["--engine", "nope"])
    assert proc.returncode == 3
    assert (rejected[0]["status"], rejected[0]["error_code"]) == ("FAILED", "unknown_engine")


def test_bench_smoke(stack, tmp_path: Path) -> None:
    born, _ = _invoice("SammyMaystoneLinesTest")
    scan, _ = evaldata_doc("syn-0003-receipt")
    shutil.copy(born, tmp_path / born.name)
    shutil.copy(scan, tmp_path / scan.name)
    proc = subprocess.run(
        [sys.executable, "-m", "pagestream.streams.cli", "bench", "--pages", "1", "--source", str(tmp_path), "--json"],
        env=service_env(stack),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["pages"] == 2 and result["engine"] == "tesseract"
    assert result["scanned"]["text_sources"] == ["OCR"] and result["born_digital"]["text_sources"] == ["TEXT_LAYER"]
    for key in ("raw_pages_per_s", "pipeline_pages_per_s", "ratio", "p50_page_latency_s", "first_progress_s"):
        assert result[key] > 0, key
    assert 0 < result["max_worker_rss_mb"] < 4000
    assert "pipeline scanned: 1/1 pages" in proc.stderr


def test_a_page_with_many_words_travels_by_claim_check(stack, tmp_path: Path) -> None:
    from tests.unit.agents.ingest.test_textlayer import _pdf_with_text

    words = " ".join(f"x{i:02d}" for i in range(70))
    dense = _pdf_with_text(tmp_path / "dense.pdf", [words] * 110, size=4)  # 7700 words: lines over 256 kB
    results, proc = submit(stack, dense)
    assert proc.returncode == 0, proc.stderr
    page = results[0]["pages"][0]
    assert page["text_source"] == "TEXT_LAYER" and page["word_count"] == 7700
    ocr = read_topic(stack, topics.PAGES_OCR, lambda r: r["doc_id"] == results[0]["doc_id"])[0]
    assert ocr["lines"] == [] and ocr["lines_uri"].endswith("/results/lines-0001.json")
