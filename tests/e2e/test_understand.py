"""A document through the whole pipeline comes back classified, with layout regions, fields and
the validation verdict its ground truth expects."""

from __future__ import annotations

import json

import pytest

from pagestream.connectors.objectstore import ObjectStore
from pagestream.streams import topics
from tests.conftest import evaldata_doc, read_topic
from tests.e2e.test_submit_cli import submit

pytestmark = pytest.mark.kafka


def test_invoice_comes_back_with_layout_and_a_verdict(stack) -> None:
    pdf, gt = evaldata_doc("syn-0000-invoice")
    results, proc = submit(stack, pdf)
    assert proc.returncode == 0, proc.stderr
    (doc,) = results
    assert doc["status"] == "OK" and doc["doc_type"] == "invoice" and doc["classifier_version"]
    fields = {f["name"]: f for f in doc["fields"]}
    assert fields["invoice_number"]["value"] == gt["fields"]["invoice_number"]
    assert fields["total"]["normalized"] == gt["fields"]["total"]
    assert doc["validation_status"] in ("OK", "NEEDS_REVIEW") and gt["rules"]["expected_pass"]
    assert all(i["rule"] != "unknown_document_type" for i in doc["issues"])
    kinds = [r["kind"] for r in doc["pages"][0]["regions"]]
    assert {"title", "table", "key_value", "footer"} <= set(kinds)
    assert [r["order"] for r in doc["pages"][0]["regions"]] == list(range(len(kinds)))
    assert doc["versions"]["layout"].startswith("geometry/") and doc["versions"]["validation"]
    # The full layout (table cells) is in document.json; the assembled event went through docs.assembled.
    document = json.loads(ObjectStore(stack).get(doc["result_uri"]))
    (table,) = [r for r in document["pages"][0]["regions"] if r["kind"] == "table"]
    assert table["cells"][1][0]["text"] == gt["fields"]["line_items"][0]["description"]
    (assembled,) = read_topic(stack, topics.DOCS_ASSEMBLED, lambda r: r["doc_id"] == doc["doc_id"])
    assert assembled["doc_type"] == "invoice" and assembled["pages"][0]["regions"]
