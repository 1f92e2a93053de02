"""Documents come back typed by the registry's champion, and a moved alias takes over live."""

from __future__ import annotations

import time

import pytest

from pagestream.agents.classify.classifier import registry
from tests.conftest import REPO, evaldata_doc
from tests.e2e.test_submit_cli import submit

pytestmark = pytest.mark.kafka

def test_an_invoice_comes_back_as_an_invoice_with_the_model_version(stack) -> None:
    pdf, gt = evaldata_doc("syn-0000-invoice")
    assert gt["doc_type"] == "invoice"
    results, proc = submit(stack, pdf)
    assert proc.returncode == 0, proc.stderr
    (doc,) = results
    champion = registry.champion_version(stack)
    assert doc["doc_type"] == "invoice" and doc["doc_type_confidence"] > 0.5
    assert doc["classifier_version"] == f"pagestream-doctype/{champion}" == doc["versions"]["classifier"]
    assert doc["doc_type_reason"] is None


def test_a_re_aliased_model_is_served_without_restarting_the_worker(stack) -> None:
    client = registry.client_for(stack)
    name, alias = stack.classifier_model, stack.classifier_alias
    before = registry.champion_version(stack)
    current = client.get_model_version(name, before)
    moved = client.create_model_version(name, current.source, run_id=current.run_id).version
    client.set_registered_model_alias(name, alias, moved)
    try:
        time.sleep(stack.classifier_poll_seconds + 2)  # one poll of the worker
        results, proc = submit(stack, REPO / "samples" / "letter.pdf")
        assert proc.returncode == 0, proc.stderr
        (doc,) = results
        assert doc["classifier_version"] == f"pagestream-doctype/{moved}" != f"pagestream-doctype/{before}"
        assert doc["doc_type"] == "letter", doc
    finally:
        client.set_registered_model_alias(name, alias, before)
