"""Documents in through the CLI, results out through real Kafka topics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from aiokafka.partitioner import DefaultPartitioner

from pagestream.connectors.client import Client
from pagestream.streams import topics
from pagestream.streams.cli.eval.measures import ground_truth_text, word_recall
from pagestream.streams.cli.supervisor import service_env
from tests.conftest import evaldata_doc, read_topic, text_image

pytestmark = pytest.mark.kafka


def submit(
    settings, *paths: Path, timeout: int = 600, extra: list[str] | None = None, env: dict[str, str] | None = None
) -> tuple[list[dict], subprocess.CompletedProcess]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pagestream.streams.cli",
            "submit",
            *map(str, paths),
            "--wait",
            "--json",
            "--timeout",
            str(timeout),
            *(extra or []),
        ],
        env={**service_env(settings), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout + 60,
    )
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()], proc


def test_multi_page_pdf_comes_back_complete_in_page_order(stack) -> None:
    pdf, gt = evaldata_doc("syn-0007-bank_statement")
    results, proc = submit(stack, pdf)
    assert proc.returncode == 0, proc.stderr
    assert len(results) == 1, proc.stdout
    doc = results[0]
    assert doc["status"] == "OK" and doc["filename"] == pdf.name
    assert doc["page_count"] == len(gt["pages"]) == 3
    assert [p["page_no"] for p in doc["pages"]] == [1, 2, 3]
    for page, truth in zip(doc["pages"], gt["pages"], strict=True):
        assert page["text_source"] == "OCR" and page["engine"].startswith("tesseract 5")
        assert word_recall(page["text"], ground_truth_text(truth)) >= 0.8, page["page_no"]
    assert doc["versions"]["ocr"].startswith("tesseract") and doc["result_uri"].endswith("/document.json")
    assert "3/3 pages" in proc.stderr  # the progress bar reached the end
    # Pages were keyed by page, so each one sits in the partition of its own key (and one
    # document's pages spread over partitions; asserting that they did here would fail for the
    # ~6 % of random doc_ids whose three page keys hash alike).
    raw = read_topic(stack, topics.PAGES_RAW, lambda r: r["doc_id"] == doc["doc_id"], count=3)
    assert sorted(r["_key"] for r in raw) == [f"{doc['doc_id']}/{n}".encode() for n in (1, 2, 3)]
    partitions = list(range(stack.topic_partitions))
    assert all(r["_partition"] == DefaultPartitioner()(r["_key"], partitions, partitions) for r in raw)
    # Per-stage progress was published for every page.
    progress = read_topic(
        stack,
        topics.DOCS_PROGRESS,
        lambda r: r["doc_id"] == doc["doc_id"] and r["status"] == "PAGE_DONE" and r["stage"] != "ASSEMBLE",
        count=12,
    )
    assert {(r["stage"], r["page_no"]) for r in progress} == {
        (stage, n) for stage in ("INGEST", "OCR", "LAYOUT", "CLASSIFY") for n in (1, 2, 3)
    }


def _many_pages(path: Path, count: int) -> Path:
    pdf = pdfium.PdfDocument.new()
    for _ in range(count):
        pdf.new_page(200, 200)
    pdf.save(path)
    return path


def _png_bomb(path: Path) -> Path:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 200_000, 200_000, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 999)) + chunk(b"IEND", b"")
    )
    return path


def test_bad_inputs_fail_clearly_and_the_worker_keeps_running(stack, tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    good.write_bytes(text_image(["The pipeline is still running", "after bad documents"]))
    bad = {
        "notes.pdf": ("unsupported_type", b"just some text, not a document\n"),
        "corrupt.pdf": ("corrupt_pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R"),
        "empty.pdf": ("empty_file", b""),
    }
    paths = []
    for name, (_, data) in bad.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    paths.append(_many_pages(tmp_path / "huge.pdf", 501))
    paths.append(_png_bomb(tmp_path / "bomb.png"))
    paths.append(good)
    results, proc = submit(stack, *paths)
    assert proc.returncode == 3, proc.stderr  # some documents failed
    # The CLI refuses what ingest's first check would, before uploading; the rest still goes.
    assert f"pagestream: refused {tmp_path / 'notes.pdf'}: unsupported file type" in proc.stderr
    assert f"pagestream: refused {tmp_path / 'empty.pdf'}: the file is empty" in proc.stderr
    assert "pagestream: corrupt.pdf FAILED: corrupt_pdf: " in proc.stderr  # the reason, beside the JSON
    # A producer that skips that check meets the same rule at ingest.
    with Client(stack) as client:
        watch = client.watch()
        ids = {client.submit(tmp_path / name) for name in ("notes.pdf", "empty.pdf")}
        results += [e.record for e in watch.until_completed(ids, timeout=300) if e.kind == "completed"]
        watch.close()
    by_name = {r["filename"]: r for r in results}
    expected = {**{n: c for n, (c, _) in bad.items()}, "huge.pdf": "too_many_pages", "bomb.png": "image_too_large"}
    for name, code in expected.items():
        result = by_name[name]
        assert (result["status"], result["error_code"], result["page_count"]) == ("FAILED", code, 0), name
        assert result["error_message"]
        dlq = read_topic(stack, topics.PAGES_DLQ, lambda r, d=result["doc_id"]: r["doc_id"] == d)
        assert dlq and dlq[0]["error_code"] == code and dlq[0]["stage"] == "INGEST"
        assert dlq[0]["input_ref"].startswith("s3://")
    assert by_name["good.png"]["status"] == "OK"
    assert "still running" in by_name["good.png"]["pages"][0]["text"]


def test_submit_takes_folders_and_refuses_bad_paths_without_stranding_the_rest(stack, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.png").write_bytes(text_image(["first page in a folder"]))
    (folder / "nested" / "b.png").write_bytes(text_image(["second page deeper down"]))
    (folder / "readme.txt").write_text("not a document\n")  # in a folder: skipped, not an error
    (folder / ".hidden.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("plain text\n")
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 600_000)
    env_limit = {"PAGESTREAM_MAX_UPLOAD_BYTES": "500000"}
    results, proc = submit(stack, folder, tmp_path / "missing.pdf", notes, big, env=env_limit)
    assert proc.returncode == 2, proc.stderr  # some paths were refused; what went through is OK
    assert sorted(r["filename"] for r in results) == ["a.png", "b.png"]
    assert all(r["status"] == "OK" for r in results)
    assert f"skipped {folder / 'readme.txt'}: unsupported file type" in proc.stderr
    assert f"pagestream: refused {tmp_path / 'missing.pdf'}: No such file or directory" in proc.stderr
    assert f"pagestream: refused {notes}: unsupported file type" in proc.stderr
    assert f"pagestream: refused {big}: the file has 600008 bytes, more than the limit of 500000" in proc.stderr
    assert ".hidden" not in proc.stderr
