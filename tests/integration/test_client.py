"""The Python client without the CLI: typed progress and results from the real topics."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from pagestream.connectors.client import Client
from pagestream.connectors.records import DocumentCompleted, Progress
from tests.conftest import text_image

pytestmark = pytest.mark.kafka


def test_progress_then_result_of_a_submitted_document(stack) -> None:
    with Client(stack) as client:
        doc_id = client.submit(text_image(["Client progress test"]), tenant="client", filename="scan.png")
        time.sleep(2)  # whatever happened before this call is read back from the submission on
        items = list(client.progress(doc_id, timeout=300))
    *steps, result = items
    assert isinstance(result, DocumentCompleted) and result.ok and result.doc_id == doc_id
    assert "Client progress test" in result.text and result.filename == "scan.png"
    assert all(isinstance(s, Progress) and s.doc_id == doc_id for s in steps)
    assert (steps[0].stage, steps[0].status) == ("INGEST", "STARTED")
    assert {("OCR", 1), ("LAYOUT", 1)} <= {(s.stage, s.page_no) for s in steps if s.status == "PAGE_DONE"}


def test_results_iterates_typed_results_of_the_given_documents(stack) -> None:
    started = dt.datetime.now(dt.UTC)
    with Client(stack) as client:
        ids = [client.submit(text_image([f"Result number {n}"]), tenant="client", filename=f"r{n}.png") for n in (1, 2)]
        results = list(client.results(ids, timeout=300))
        assert sorted(r.doc_id for r in results) == sorted(ids)
        assert all(isinstance(r, DocumentCompleted) and r.ok and r.page_count == 1 for r in results)
        # Read back later from a point in time, filtered by tenant: the same results again.
        again = [r.doc_id for r in client.results(tenant="client", since=started, timeout=5)]
        assert set(ids) <= set(again)
        with pytest.raises(TimeoutError, match="no result within"):
            list(client.results(["never-submitted"], timeout=2))
