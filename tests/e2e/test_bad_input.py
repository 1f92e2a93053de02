"""Every kind of bad input gets a clear, machine-readable answer and the pipeline keeps running."""

from __future__ import annotations

import io
import os
import struct
import time
import uuid
import zipfile
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from confluent_kafka import Producer
from PIL import Image

from pagestream.connectors.client import Client, SubmitError
from pagestream.connectors.objectstore import ObjectStoreError
from pagestream.streams import topics
from pagestream.streams.topics import SCHEMA_VERSION
from tests.conftest import REPO, read_topic, text_image
from tests.e2e.test_submit_cli import submit

pytestmark = pytest.mark.kafka


def encrypted_pdf(path: Path) -> Path:
    with pikepdf.open(REPO / "samples" / "invoice.pdf") as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(owner="owner-secret", user="user-secret"))
    return path


def thousand_page_tiff(path: Path) -> Path:
    frames = [Image.new("L", (8, 8), 255) for _ in range(1000)]
    frames[0].save(path, format="TIFF", save_all=True, append_images=frames[1:])
    return path


def zip_named_pdf(path: Path) -> Path:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    path.write_bytes(out.getvalue())
    return path


def giant_page_pdf(path: Path) -> Path:
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(72 * 400, 72 * 400)  # 400 x 400 inches
    pdf.save(path)
    return path


def test_bad_files_through_the_cli(stack, tmp_path: Path) -> None:
    non_utf8 = Path(os.fsdecode(bytes(tmp_path) + b"/scan-\xff\xfe.png"))
    non_utf8.write_bytes(text_image(["a file name that is not UTF-8"]))
    paths = [
        encrypted_pdf(tmp_path / "locked.pdf"),
        thousand_page_tiff(tmp_path / "pages.tiff"),
        zip_named_pdf(tmp_path / "contract.pdf"),
        giant_page_pdf(tmp_path / "poster.pdf"),
        non_utf8,
    ]
    results, proc = submit(stack, *paths)
    by_name = {r["filename"]: r for r in results}
    assert len(by_name) == 4, proc.stderr
    # a zip named .pdf is refused before upload (its first bytes); ingest's answer to it is tested
    # with producers that skip the CLI (tests/e2e/test_submit_cli.py)
    assert f"refused {tmp_path / 'contract.pdf'}: unsupported file type; pagestream accepts PDF" in proc.stderr
    for name, code, fragment in [
        ("locked.pdf", "encrypted_pdf", "encrypted with a password"),
        ("pages.tiff", "too_many_pages", "1000 pages"),
    ]:
        result = by_name[name]
        assert (result["status"], result["error_code"]) == ("FAILED", code), result
        assert fragment in result["error_message"]
    poster = by_name["poster.pdf"]
    assert poster["status"] == "FAILED" and poster["page_count"] == 1
    assert "400x400 inches" in poster["pages"][0]["error_message"]
    readable = by_name["scan-\ufffd\ufffd.png"]
    assert readable["status"] == "OK" and "not UTF-8" in readable["pages"][0]["text"]


def _submission(stack, doc_id: str, tenant: str = "acme", **extra: object) -> dict:
    return {
        "doc_id": doc_id,
        "tenant": tenant,
        "filename": "x.png",
        "source_uri": f"s3://{stack.s3_bucket}/{tenant}/{doc_id}/source/original",
        "sha256": "0" * 64,
        "size_bytes": 1,
        "content_type": None,
        "submitted_at": int(time.time() * 1000),
        "render_dpi": None,
        "ocr_engine": None,
        "schema_version": SCHEMA_VERSION,
        **extra,
    }


def test_bad_submissions_from_any_producer(stack) -> None:
    with Client(stack) as client:
        watch = client.watch()
        absurd_dpi = client.submit(text_image(["dpi"]), render_dpi=5000, filename="dpi.png")
        traversal = "../../etc"
        client.publish(_submission(stack, traversal))  # a foreign producer: no client-side checks
        results = {
            e.record["doc_id"]: e.record
            for e in watch.until_completed({absurd_dpi, traversal}, timeout=300)
            if e.kind == "completed"
        }
        watch.close()
        assert (results[absurd_dpi]["error_code"], results[traversal]["error_code"]) == ("bad_dpi", "bad_key")
        assert "outside the accepted range 50..600" in results[absurd_dpi]["error_message"]
        with pytest.raises(ObjectStoreError, match="not allowed in object keys"):
            client.submit(text_image(["x"]), tenant="../other-tenant")
        with pytest.raises(SubmitError, match="messages up to about 1 MB"):
            client.publish(_submission(stack, uuid.uuid4().hex, filename="n" * 2_000_000))


def test_unknown_schema_id_goes_to_the_dead_letter_topic(stack) -> None:
    value = struct.pack(">bI", 0, 999_999) + uuid.uuid4().bytes
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers, "partitioner": "murmur2_random"})
    producer.produce(topics.PAGES_RAW.name, key=b"x/1", value=value)
    assert producer.flush(30) == 0
    (letter,) = read_topic(stack, topics.PAGES_DLQ, lambda r: r["raw_value"] == value)
    assert (letter["error_code"], letter["stage"], letter["source_topic"]) == ("unknown_schema_id", "OCR", "pages.raw")
