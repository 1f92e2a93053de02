"""Results out through the CLI and the client: ``submit --wait`` prints a summary, ``show`` and
``get`` read the stored files, the bridge's download URLs answer as soon as the result is out, and
the chunks are in chunks.jsonl and on docs.chunks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pagestream.connectors.chunks import TOKENIZER
from pagestream.connectors.client import Client
from pagestream.streams import topics
from pagestream.streams.cli.supervisor import service_env
from tests.conftest import REPO, read_topic

pytestmark = pytest.mark.kafka


def cli(settings, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pagestream.streams.cli", *args],
        env=service_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout + 60,
    )


@pytest.fixture(scope="module")
def invoice(stack) -> tuple[str, subprocess.CompletedProcess]:
    """The sample invoice submitted with --wait, and the document's files asked for right after."""
    proc = cli(stack, "submit", str(REPO / "samples" / "invoice.pdf"), "--wait", "--tenant", "results")
    assert proc.returncode == 0, proc.stderr
    doc_id = proc.stdout.split(" as ", 1)[1].split()[0]
    # No wait: the result files were written before the result was announced.
    files = httpx.get(f"{stack.bridge_url}/v1/documents/{doc_id}/files")
    assert files.status_code == 200, files.text
    assert {"result.json", "document.md", "document.json"} <= set(files.json()["files"])
    return doc_id, proc


def test_submit_wait_prints_a_readable_summary(invoice) -> None:
    doc_id, proc = invoice
    lines = proc.stdout.splitlines()
    assert lines[0].endswith(f"as {doc_id}") and lines[1] == f"invoice.pdf  {doc_id}  tenant results"
    assert lines[2].startswith("status: OK, validation ") and lines[3].startswith("type: invoice (")
    assert "fields:" in lines and any(line.startswith("  page 1: ") for line in lines)
    assert not any(line.startswith("{") for line in lines)  # no raw JSON without --json


def test_show_and_get_read_the_stored_result(stack, invoice, tmp_path: Path) -> None:
    doc_id, waited = invoice
    shown = cli(stack, "show", doc_id)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == waited.stdout.splitlines()[1:-1]  # what --wait printed, blank line aside
    record = json.loads(cli(stack, "show", doc_id, "--json").stdout)
    assert record["doc_id"] == doc_id and record["completed_at"].endswith("Z") and record["doc_type"] == "invoice"
    markdown = cli(stack, "get", doc_id).stdout
    assert markdown.startswith(f"<!-- pagestream document {doc_id}, tenant results,")
    saved = cli(stack, "get", doc_id, "--format", "csv", "--out", str(tmp_path), "--tenant", "results")
    assert saved.stdout.strip() == str(tmp_path / f"{doc_id}.csv")
    assert (tmp_path / f"{doc_id}.csv").read_text().startswith("name,value,normalized,confidence,page_no,bbox\n")
    with Client(stack) as client:
        assert client.result(doc_id) == markdown
        assert json.loads(client.result(doc_id, format="json", tenant="results"))["status"] == "OK"
        assert client.result(doc_id, format="chunks") == cli(stack, "get", doc_id, "--format", "chunks").stdout
    missing = cli(stack, "get", doc_id, "--tenant", "someone-else")
    assert missing.returncode == 2 and "no document.md for document" in missing.stderr


def test_chunks_are_stored_and_published_with_table_rows_whole(stack, invoice) -> None:
    doc_id, _ = invoice
    with Client(stack) as client:
        stored = [json.loads(line) for line in client.result(doc_id, format="chunks").splitlines()]
    assert stored and [c["chunk_no"] for c in stored] == list(range(len(stored)))
    assert all(c["doc_type"] == "invoice" and c["tokenizer"] == TOKENIZER for c in stored)
    assert all(c["token_count"] <= stack.chunk_max_tokens or c["text"].count("\n") == 0 for c in stored)
    rows = [line for c in stored for line in c["text"].splitlines() if line.startswith("| ")]
    assert rows and all(line.endswith(" |") for line in rows)  # a table row, whole, in one chunk
    published = read_topic(stack, topics.DOCS_CHUNKS, lambda r: r["doc_id"] == doc_id, count=len(stored))
    assert sorted(r["chunk_no"] for r in published) == [c["chunk_no"] for c in stored]
    assert {r["text"] for r in published} == {c["text"] for c in stored}
