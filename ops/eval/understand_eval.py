"""Measure field extraction and validation on the evaluation data.

    .venv/bin/python ops/eval/understand_eval.py ../shared/evaldata [--ocr] > understand.json

Per synthetic document: layout (ground-truth words as OCR input, or Tesseract's with --ocr; the
page image and the layout model), extraction with the ground-truth type (classification is not
part of this measurement), then validation. Field accuracy compares normal forms with the
ground truth's ``fields``; validation is scored against ``rules.expected_pass`` (a document with
a deliberate fault must not come out OK; a clean one should). Real invoices (invoice2data) are
scored on the fields their expected output names, from their PDF text layer.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
from PIL import Image

from pagestream.agents.extract import extract
from pagestream.agents.layout import region_record
from pagestream.agents.layout_analysis import analyse_page
from pagestream.agents.layout_model import process_model
from pagestream.agents.normalize import parse_date
from pagestream.agents.validate import judge_extraction

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


def same(truth: object, found: str | None) -> bool:
    if found is None or truth is None:
        return False
    t, f = str(truth).strip(), found.strip()
    try:
        return Decimal(t) == Decimal(f)
    except InvalidOperation:
        pass
    return t.casefold() == f.casefold()


def ocr_lines(image: Image.Image) -> list[dict]:
    from pagestream.agents.ocr import TesseractEngine, page_record_fields
    from pagestream.streams.settings import Settings

    engine = _engines.setdefault("t", TesseractEngine("eng+deu+fra+nld", Settings().tessdata))
    return page_record_fields(engine.recognize(image))["lines"]


_engines: dict = {}


def laid_out(root: Path, page: dict, use_ocr: bool) -> dict:
    with Image.open(root / page["image"]) as im:
        grey = np.asarray(im.convert("L"))
        lines = ocr_lines(im.convert("L")) if use_ocr else page["lines"]
    regions = analyse_page(lines, page["width"], page["height"], grey, process_model().detect(grey))
    return {"page_no": page["page"], "lines": lines, "regions": [region_record(r) for r in regions],
            "width": page["width"], "height": page["height"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("evaldata", type=Path)
    parser.add_argument("--ocr", action="store_true", help="Tesseract's words instead of the ground truth's")
    args = parser.parse_args()
    per_type: dict[str, dict] = {}
    confusion = {"caught": 0, "missed": 0, "false_alarm": 0, "clean_ok": 0}
    rule_hits: dict[str, dict] = {}
    details = []
    root = args.evaldata / "synthetic"
    for gt_path in sorted(root.glob("*/gt.json")):
        gt = json.loads(gt_path.read_text())
        kind = gt["doc_type"]
        pages = [laid_out(root, p, args.ocr) for p in gt["pages"]]
        extraction = extract(TYPES.get(kind, kind), pages)
        stats = per_type.setdefault(kind, {"fields": 0, "correct": 0, "lists": 0, "lists_exact": 0})
        wrong = []
        for truth_name, name in FIELDS[kind].items():
            truth = gt["fields"].get(truth_name)
            if truth is None:
                continue
            stats["fields"] += 1
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
        verdict = judge_extraction(extraction)
        expected_pass = gt["rules"]["expected_pass"]
        ok = verdict.status == "OK"
        key = ("clean_ok" if ok else "false_alarm") if expected_pass else ("missed" if ok else "caught")
        confusion[key] += 1
        failing = {c["name"] for c in gt["rules"]["checks"] if not c["pass"]}
        for rule in failing:
            hit = rule_hits.setdefault(rule, {"failing_docs": 0, "caught_by_rule": 0})
            hit["failing_docs"] += 1
            hit["caught_by_rule"] += rule in {i.rule for i in verdict.issues}
        details.append({"doc_id": gt["doc_id"], "status": verdict.status, "expected_pass": expected_pass,
                        "issues": sorted({i.rule for i in verdict.issues}), "wrong_fields": wrong})  # fmt: skip
    real = {"fields": 0, "correct": 0, "wrong": []}
    inv = args.evaldata / "real" / "invoice2data"
    for gt_path in sorted((inv / "gt").glob("*.json")):
        gt = json.loads(gt_path.read_text())
        pages = [laid_out(inv, p, args.ocr) for p in gt["pages"]]
        extraction = extract("invoice", pages)
        for truth_name, name in INVOICE2DATA.items():
            truth = gt["fields"].get(truth_name)
            if truth is None:
                continue
            if truth_name == "date":
                truth = (parse_date(str(truth)) or truth).isoformat() if parse_date(str(truth)) else truth
            real["fields"] += 1
            if same(truth, extraction.value(name)):
                real["correct"] += 1
            else:
                real["wrong"].append([gt["doc_id"], name, truth, extraction.value(name)])
    report = {
        "input": "tesseract words" if args.ocr else "ground-truth words",
        "synthetic_field_accuracy": {
            k: {**v, "accuracy": round(v["correct"] / v["fields"], 3) if v["fields"] else None}
            for k, v in per_type.items()
        },
        "synthetic_overall": round(
            sum(v["correct"] for v in per_type.values()) / max(1, sum(v["fields"] for v in per_type.values())), 3
        ),
        "validation_confusion": confusion,
        "rules": rule_hits,
        "invoice2data": {**real, "accuracy": round(real["correct"] / max(1, real["fields"]), 3)},
        "documents": details,
    }
    json.dump(report, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main()
