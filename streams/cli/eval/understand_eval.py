"""Understanding measured on the evaluation data (``pagestream eval understand``).

Per synthetic document: layout (ground-truth words as OCR input, or Tesseract's with ``ocr``; the
page image and the layout model), extraction with the ground-truth type, then validation; with a
model, the document type from the classifier on the same page texts. Field figures compare
normal forms with the ground truth's ``fields`` (precision over the fields found, recall over
those expected, F1): leniently (equal decimals, case-folded text) and exactly (character for
character). Validation is scored against ``rules.expected_pass`` (a document with a deliberate
fault must not come out OK: violation recall; a clean one should: false-alarm rate). Real
invoices (invoice2data) are scored on the fields their expected output names, from their PDF
text layer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pagestream.agents.layout.core.analysis import analyse_page
from pagestream.agents.layout.core.model import process_model
from pagestream.agents.layout.core.page import region_record
from pagestream.agents.validate.core.extract import extract
from pagestream.agents.validate.core.normalize import parse_date
from pagestream.agents.validate.core.verdict import judge_extraction
from pagestream.streams.settings import Settings

TYPES = {"id_card": "id_document"}
# ground-truth field -> extracted field, per type
FIELDS = {
    "invoice": {"invoice_number": "invoice_number", "invoice_date": "invoice_date", "due_date": "due_date",
                "vendor_name": "vendor", "currency": "currency", "subtotal": "subtotal", "tax_amount": "tax_amount",
                "total": "total", "iban": "iban"},
    "receipt": {"merchant_name": "merchant", "date": "date", "total": "total", "currency": "currency"},
    "bank_statement": {"iban": "iban", "statement_period_start": "period_start",
                       "statement_period_end": "period_end", "opening_balance": "opening_balance",
                       "closing_balance": "closing_balance"},
    "id_card": {"document_number": "document_number", "surname": "surname", "given_names": "given_names",
                "date_of_birth": "date_of_birth", "date_of_expiry": "date_of_expiry", "nationality": "nationality",
                "issuing_state": "issuing_state", "sex": "sex", "date_of_issue": "date_of_issue"},
    "letter": {"sender_organisation": "sender", "date": "date", "subject": "subject", "reference": "reference"},
    "form": {"surname": "surname", "first_name": "first_name", "total": "total"},
}  # fmt: skip
LISTS = {"invoice": ("line_items", "line_items"), "receipt": ("line_items", "line_items"),
         "bank_statement": ("transactions", "transactions"), "form": ("expense_items", "expense_items")}  # fmt: skip
INVOICE2DATA = {"invoice_number": "invoice_number", "date": "invoice_date", "amount": "total",
                "currency": "currency", "amount_untaxed": "subtotal", "amount_tax": "tax_amount"}  # fmt: skip

Lines = Callable[[Image.Image], list[dict]]
Classify = Callable[[list[dict]], str]  # laid-out pages -> document type


def same(truth: object, found: str | None) -> bool:
    """Equal as decimals when both are numbers, else as case-folded text."""
    if found is None or truth is None:
        return False
    t, f = str(truth).strip(), found.strip()
    try:
        return Decimal(t) == Decimal(f)
    except InvalidOperation:
        pass
    return t.casefold() == f.casefold()


def tesseract_reader(settings: Settings) -> Lines:
    """Lines of a page image read by Tesseract exactly as the OCR stage reads them (same
    preprocessing), in this process."""
    from pagestream.agents.common.records import lines_of
    from pagestream.agents.ocr.core.reader import engine_spec, init_process, read_image

    init_process(replace(engine_spec(settings), name="tesseract"))
    return lambda image: lines_of(read_image(image))


def laid_out(root: Path, page: dict, read: Lines | None) -> dict:
    """A ground-truth page through layout: its lines (the ground truth's, or ``read``'s) and regions."""
    with Image.open(root / page["image"]) as im:
        grey = np.asarray(im.convert("L"))
        lines = read(im.convert("L")) if read else page["lines"]
    regions = analyse_page(lines, page["width"], page["height"], grey, process_model().detect(grey))
    return {"page_no": page["page"], "lines": lines, "regions": [region_record(r) for r in regions],
            "width": page["width"], "height": page["height"]}  # fmt: skip


def _f1(correct: int, found: int, expected: int) -> dict[str, float | int | None]:
    precision = correct / found if found else None
    recall = correct / expected if expected else None
    f1 = 2 * correct / (found + expected) if found + expected else None
    return {"correct": correct, "found": found, "expected": expected,
            **{k: round(v, 3) if v is not None else None for k, v in
               (("precision", precision), ("recall", recall), ("f1", f1))}}  # fmt: skip


def _score_synthetic(gt: dict, extraction: Any, stats: dict, exact: dict) -> list:
    kind, wrong = gt["doc_type"], []
    for truth_name, name in FIELDS[kind].items():
        truth = gt["fields"].get(truth_name)
        if truth is None:
            continue
        field = extraction.fields.get(name)
        stats["expected"] += 1
        stats["found"] += field is not None
        exact["expected"] += 1
        exact["found"] += field is not None
        exact["correct"] += field is not None and (field.normalized or "").strip() == str(truth).strip()
        if same(truth, extraction.value(name)):
            stats["correct"] += 1
        else:
            wrong.append([name, truth, extraction.value(name)])
    if kind in LISTS and gt["fields"].get(LISTS[kind][0]):
        truth_rows = gt["fields"][LISTS[kind][0]]
        found = extraction.lists.get(LISTS[kind][1], [])
        stats["lists"] += 1
        amounts_ok = len(found) == len(truth_rows) and all(
            same(t["amount"], f["amount"].normalized) for t, f in zip(truth_rows, found, strict=True)
        )
        stats["lists_exact"] += amounts_ok
        if not amounts_ok:
            wrong.append([LISTS[kind][1], len(truth_rows), len(found)])
    return wrong


def evaluate_synthetic(root: Path, read: Lines | None, classify: Classify | None) -> dict[str, Any]:
    """Fields, validation verdicts and (with ``classify``) document types on the synthetic set."""
    per_type: dict[str, dict] = {}
    exact = {"correct": 0, "found": 0, "expected": 0}
    confusion = {"caught": 0, "missed": 0, "false_alarm": 0, "clean_ok": 0}
    rule_hits: dict[str, dict] = {}
    typed = {"documents": 0, "correct": 0, "wrong": []}
    details = []
    for gt_path in sorted(root.glob("*/gt.json")):
        gt = json.loads(gt_path.read_text())
        kind = TYPES.get(gt["doc_type"], gt["doc_type"])
        pages = [laid_out(root, p, read) for p in gt["pages"]]
        if classify is not None:
            predicted = classify(pages)
            typed["documents"] += 1
            typed["correct"] += predicted == kind
            if predicted != kind:
                typed["wrong"].append([gt["doc_id"], kind, predicted])
        extraction = extract(kind, pages)
        stats = per_type.setdefault(gt["doc_type"], {"expected": 0, "found": 0, "correct": 0, "lists": 0,
                                                     "lists_exact": 0})  # fmt: skip
        wrong = _score_synthetic(gt, extraction, stats, exact)
        verdict = judge_extraction(extraction)
        expected_pass = gt["rules"]["expected_pass"]
        ok = verdict.status == "OK"
        confusion[("clean_ok" if ok else "false_alarm") if expected_pass else ("missed" if ok else "caught")] += 1
        for rule in {c["name"] for c in gt["rules"]["checks"] if not c["pass"]}:
            hit = rule_hits.setdefault(rule, {"failing_docs": 0, "caught_by_rule": 0})
            hit["failing_docs"] += 1
            hit["caught_by_rule"] += rule in {i.rule for i in verdict.issues}
        details.append({"doc_id": gt["doc_id"], "status": verdict.status, "expected_pass": expected_pass,
                        "issues": sorted({i.rule for i in verdict.issues}), "wrong_fields": wrong})  # fmt: skip
    faulty, clean = confusion["caught"] + confusion["missed"], confusion["false_alarm"] + confusion["clean_ok"]
    totals = {k: sum(v[k] for v in per_type.values()) for k in ("correct", "found", "expected")}
    return {
        "doc_type_accuracy": round(typed["correct"] / typed["documents"], 3) if typed["documents"] else None,
        "doc_type_errors": typed["wrong"],
        "field_f1_normalised": _f1(**totals),
        "field_f1_exact": _f1(**exact),
        "fields_per_type": {k: {**v, **_f1(v["correct"], v["found"], v["expected"])} for k, v in per_type.items()},
        "violation_recall": round(confusion["caught"] / faulty, 3) if faulty else None,
        "false_alarm_rate": round(confusion["false_alarm"] / clean, 3) if clean else None,
        "validation_confusion": confusion,
        "rules": rule_hits,
        "documents": details,
    }


def evaluate_invoice2data(folder: Path, read: Lines | None) -> dict[str, Any]:
    """Field accuracy on the real invoices, from their PDF text layer (or ``read``'s OCR)."""
    real: dict[str, Any] = {"fields": 0, "correct": 0, "wrong": []}
    for gt_path in sorted((folder / "gt").glob("*.json")):
        gt = json.loads(gt_path.read_text())
        extraction = extract("invoice", [laid_out(folder, p, read) for p in gt["pages"]])
        for truth_name, name in INVOICE2DATA.items():
            truth = gt["fields"].get(truth_name)
            if truth is None:
                continue
            if truth_name == "date" and parse_date(str(truth)):
                truth = parse_date(str(truth)).isoformat()
            real["fields"] += 1
            if same(truth, extraction.value(name)):
                real["correct"] += 1
            else:
                real["wrong"].append([gt["doc_id"], name, truth, extraction.value(name)])
    return {**real, "accuracy": round(real["correct"] / max(1, real["fields"]), 3)}


def champion_classifier(settings: Settings) -> tuple[Classify, str]:
    """The registry's champion as a document classifier (page votes as in the pipeline) and its label."""
    from pagestream.agents.classify.classifier import votes
    from pagestream.agents.classify.classifier.registry import ClassifierUnavailable, champion_version, load_version

    version = champion_version(settings)
    if version is None:
        raise ClassifierUnavailable(
            f"no model registered as models:/{settings.classifier_model}@{settings.classifier_alias}"
        )
    served = load_version(settings, version)

    def classify(pages: list[dict]) -> str:
        texts = ["\n".join(line["text"] for line in p["lines"]) for p in pages]
        predictions = served.model.predict(texts)
        cast = {str(i): votes.vote(p.probs, len(t.split())) for i, (p, t) in enumerate(zip(predictions, texts,
                                                                                           strict=True))}  # fmt: skip
        return votes.decide(cast).doc_type

    return classify, served.label


def evaluate_understanding(data: Path, settings: Settings, *, ocr: bool, classify: bool) -> dict[str, Any]:
    """The whole report of ``pagestream eval understand`` over the evaldata root ``data``."""
    read = tesseract_reader(settings) if ocr else None
    classifier, model = champion_classifier(settings) if classify else (None, None)
    return {
        "input": "tesseract words" if ocr else "ground-truth words",
        "classifier": model,
        "synthetic": evaluate_synthetic(data / "synthetic", read, classifier),
        "invoice2data": evaluate_invoice2data(data / "real" / "invoice2data", read),
    }
