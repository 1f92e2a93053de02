"""The classify stage's pure parts: page votes to a document type, text and statistics, scores."""

from __future__ import annotations

import pytest

from pagestream.agents.assemble import core as assemble
from pagestream.agents.classify import core as classify
from pagestream.agents.classify.classifier import corpus, textgen, votes
from pagestream.agents.classify.classifier.features import FEATURE_NAMES, layout_features, reading_order_text
from pagestream.agents.classify.classifier.train import check_held_out, confusion, macro_f1
from pagestream.streams.errors import PagestreamError
from pagestream.streams.records import PageLayout


def probs(**given: float) -> dict[str, float]:
    return {t: given.get(t, 0.0) for t in corpus.DOC_TYPES}


def page(page_no: int, page_count: int = 3, words: int = 100) -> dict:
    return {"doc_id": "d", "tenant": "t", "page_no": page_no, "page_count": page_count, "word_count": words}


def test_pages_with_more_text_outweigh_a_nearly_empty_page() -> None:
    cast = {
        "1": votes.vote(probs(invoice=0.9, letter=0.1), words=200),
        "2": votes.vote(probs(letter=0.95, invoice=0.05), words=4),  # a near-empty back page
    }
    decision = votes.decide(cast)
    assert decision.doc_type == "invoice" and decision.pages == 2 and decision.reason is None
    assert decision.confidence == pytest.approx((1.0 * 0.9 + 0.1 * 0.05) / 1.1, abs=1e-4)


def test_a_document_without_text_is_other_with_the_reason() -> None:
    decision = votes.decide({"1": votes.vote(probs(invoice=1.0), words=0)})
    assert (decision.doc_type, decision.confidence, decision.pages) == ("other", 0.0, 0)
    assert "no page of the document has text" in decision.reason


def test_votes_accumulate_and_shrink_to_the_decision_once_every_page_voted() -> None:
    state = None
    for n, kind in ((2, "bank_statement"), (1, "bank_statement"), (2, "bank_statement")):  # a duplicate
        state = classify.add_vote(state, page(n, page_count=2), votes.vote(probs(**{kind: 0.8, "invoice": 0.2}), 90))
    decision = classify.decision_of(state, None)
    assert decision.doc_type == "bank_statement" and decision.pages == 2
    done = classify.finish_if_complete(state, decision)
    assert done["votes"] == {} and done["final"]["doc_type"] == "bank_statement"
    late = classify.add_vote(done, page(1, page_count=2), votes.vote(probs(invoice=1.0), 90))
    assert classify.decision_of(late, None).doc_type == "bank_statement"  # a late duplicate changes nothing
    assert classify.pages_seen(late) == 2


def test_without_a_model_the_document_is_other_and_says_why() -> None:
    state = classify.add_vote(None, page(1, page_count=1), None)
    decision = classify.decision_of(state, "no model registered as models:/pagestream-doctype@champion")
    layout = PageLayout(doc_id="d", tenant="t", page_no=1, page_count=1, status="OK", text_source="OCR", engine="e",
                        engine_version="1", layout_model="m", regions=[], text="", word_count=0, mean_confidence=0.0,
                        produced_at=0).to_dict()  # fmt: skip
    record = classify.classified_record(layout, None, decision, 1, None)
    assert record["doc_type"] == "other" and record["doc_type_confidence"] == 0.0
    assert "no model registered" in record["doc_type_reason"] and record["page_type"] is None


def test_assembly_keeps_the_verdict_resting_on_the_most_pages() -> None:
    def layout_event(page_no: int, doc_type: str, pages: int) -> dict:
        return {
            "doc_id": "d", "tenant": "t", "page_no": page_no, "page_count": 2, "status": "OK", "word_count": 5,
            "mean_confidence": 0.9, "text_source": "OCR", "engine": "tesseract", "engine_version": "5",
            "doc_type": doc_type, "doc_type_confidence": 0.8, "doc_type_pages": pages,
            "classifier_version": "pagestream-doctype/4",
        }

    state, _ = assemble.add_page(None, layout_event(2, "letter", 1))
    state, _ = assemble.add_page(state, layout_event(1, "invoice", 2))
    record = assemble.assembled_record(
        "d", state, {1: "a", 2: "b"}, filename=None, submitted_at_ms=None, result_uri=None, versions={}, now_ms=1
    )
    assert record["doc_type"] == "invoice" and record["classifier_version"] == "pagestream-doctype/4"


def test_ground_truth_lines_are_read_in_rows_like_ocr_reads_them() -> None:
    lines = [
        {"text": "Invoice no.", "bbox": [10, 100, 120, 120]},
        {"text": "Date", "bbox": [10, 130, 60, 150]},
        {"text": "INV-7", "bbox": [200, 102, 260, 121]},
        {"text": "2024-01-02", "bbox": [200, 131, 300, 149]},
    ]
    assert reading_order_text(lines) == "Invoice no. INV-7\nDate 2024-01-02"


def test_layout_statistics_tell_a_statement_from_prose() -> None:
    statement = "IBAN DE89 3704 0044 0532 0130 00\n01.02.2024 Rent -850,00 EUR\n03.02.2024 Salary 3.100,00 EUR"
    prose = "The morning was grey and quiet when she left the house.\nNobody remembered the old mill."
    s, p = layout_features(statement), layout_features(prose)
    named = dict(zip(FEATURE_NAMES, range(len(FEATURE_NAMES)), strict=True))
    assert s[named["iban"]] == 1 and p[named["iban"]] == 0
    assert s[named["amount_lines"]] > 0.6 > p[named["amount_lines"]]
    assert p[named["sentence_lines"]] == 1.0
    assert layout_features("").shape == (len(FEATURE_NAMES),)


def test_generated_pages_are_repeatable_and_differ_by_seed() -> None:
    a = textgen.generate_pages("scientific_technical", 5, seed=2)
    assert a == textgen.generate_pages("scientific_technical", 5, seed=2)
    assert a != textgen.generate_pages("scientific_technical", 5, seed=3)
    assert all(len(lines) >= 5 for lines in a + textgen.generate_pages("other", 8, seed=2))


def test_the_held_out_seed_and_held_out_pages_are_refused() -> None:
    with pytest.raises(PagestreamError, match="held-out"):
        corpus.synthetic_pages(corpus.Path("ops"), 1, seed=corpus.HELD_OUT_SEED)
    page_ = corpus.LabelledPage("a", 1, "letter", "Dear Anna,\nthank you.", "x")
    with pytest.raises(PagestreamError, match="also in the held-out set 'synthetic'"):
        check_held_out([page_], {"synthetic": [page_]})
    with pytest.raises(PagestreamError, match="unknown document type 'menu'"):
        corpus.doc_type_label("menu")
    assert corpus.doc_type_label("id_card") == "id_document"


def test_macro_f1_and_confusion() -> None:
    truth = ["invoice", "invoice", "letter", "receipt"]
    predicted = ["invoice", "receipt", "letter", "receipt"]
    # invoice F1 2/3, letter 1, receipt 2/3
    assert macro_f1(truth, predicted) == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    assert confusion(truth, predicted)["invoice"] == {"invoice": 1, "receipt": 1}
