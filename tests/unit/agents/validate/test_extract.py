"""Field extraction per type on synthetic pages (ground-truth words as OCR input, and real
Tesseract output on a few pages), normal forms of amounts and dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from PIL import Image

from pagestream.agents.layout.core.analysis import analyse_page
from pagestream.agents.layout.core.page import region_record
from pagestream.agents.validate.core.extract import extract
from pagestream.agents.validate.core.normalize import iban_valid, parse_amount, parse_date
from tests.conftest import EVALDATA, evaldata_doc

TYPES = {"id_card": "id_document"}


def pages_of(gt: dict, lines_of=lambda page, image: page["lines"]) -> list[dict]:
    out = []
    for page in gt["pages"]:
        with Image.open(EVALDATA / "synthetic" / page["image"]) as im:
            image = np.asarray(im.convert("L"))
            lines = lines_of(page, im.convert("L"))
        regions = analyse_page(lines, page["width"], page["height"], image)
        out.append({"page_no": page["page"], "lines": lines, "regions": [region_record(r) for r in regions]})
    return out


def extracted(doc_id: str):
    _, gt = evaldata_doc(doc_id)
    return extract(TYPES.get(gt["doc_type"], gt["doc_type"]), pages_of(gt)), gt


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("1'234.56", "1234.56"), ("1 234,56 €", "1234.56"),
     ("£7,204.09", "7204.09"), ("$-5,557.16", "-5557.16"), ("CHF 13.66", "13.66"), ("12", "12"), ("1.234", "1234")],
)  # fmt: skip
def test_amounts_in_every_format(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)


def test_dates_numeric_and_named() -> None:
    assert parse_date("20/09/2021") == date(2021, 9, 20)
    assert parse_date("09/20/2021", month_first=True) == date(2021, 9, 20)
    assert parse_date("04.11.2021") == date(2021, 11, 4)
    assert parse_date("7 June 2022") == date(2022, 6, 7)
    assert parse_date("7. Juni 2022") == date(2022, 6, 7)
    assert parse_date("5 décembre 2023") == date(2023, 12, 5)
    assert parse_date("June 7, 2022") == date(2022, 6, 7)
    assert parse_date("2024-02-29") == date(2024, 2, 29)
    assert parse_date("31/02/2021") is None


def test_iban_mod97() -> None:
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82WEST12345698765433")


def test_invoice_fields_and_line_items() -> None:
    ex, gt = extracted("syn-0000-invoice")
    f = gt["fields"]
    for name in ("invoice_number", "invoice_date", "due_date", "currency", "subtotal", "tax_amount", "total", "iban"):
        assert ex.value(name) == f[name], name
    assert ex.value("vendor") == f["vendor_name"] and ex.value("tax_rate") == f["tax_rate"]
    items = ex.lists["line_items"]
    assert [(i["description"].value, i["amount"].normalized) for i in items] == [
        (i["description"], i["amount"]) for i in f["line_items"]
    ]
    total = ex.fields["total"]
    assert total.value == "£7,204.09" and total.page == 1 and total.bbox is not None and 0 < total.confidence <= 1
    box = next(b["bbox"] for b in gt["pages"][0]["field_boxes"] if b["field"] == "total")
    assert abs(total.bbox[0] - box[0]) < 10 and abs(total.bbox[1] - box[1]) < 10


def test_german_invoice_over_two_pages() -> None:
    ex, gt = extracted("syn-0012-invoice")
    for name in ("invoice_number", "invoice_date", "subtotal", "tax_amount", "total", "currency"):
        assert ex.value(name) == gt["fields"][name], name
    assert len(ex.lists["line_items"]) == len(gt["fields"]["line_items"])


def test_receipt_fields() -> None:
    ex, gt = extracted("syn-0003-receipt")
    assert ex.value("merchant") == gt["fields"]["merchant_name"]
    assert (ex.value("date"), ex.value("total"), ex.value("currency")) == ("2024-05-26", "52.95", "EUR")
    assert len(ex.lists["line_items"]) == len(gt["fields"]["line_items"])


def test_bank_statement_fields_and_transactions() -> None:
    ex, gt = extracted("syn-0001-bank_statement")
    f = gt["fields"]
    assert ex.value("iban") == f["iban"]
    assert (ex.value("period_start"), ex.value("period_end")) == (
        f["statement_period_start"],
        f["statement_period_end"],
    )
    assert (ex.value("opening_balance"), ex.value("closing_balance")) == (f["opening_balance"], f["closing_balance"])
    assert [(t["date"].normalized, t["amount"].normalized) for t in ex.lists["transactions"]] == [
        (t["date"], t["amount"]) for t in f["transactions"]
    ]


@pytest.mark.parametrize("doc_id", ["syn-0002-id_card", "syn-0014-id_card"])
def test_id_document_from_the_mrz(doc_id: str) -> None:
    ex, gt = extracted(doc_id)
    f = gt["fields"]
    assert ex.value("mrz_format") == f["mrz_format"]
    for name in ("document_number", "date_of_birth", "date_of_expiry", "nationality", "issuing_state", "sex"):
        assert ex.value(name) == f[name], name
    assert ex.value("surname") == f["surname"].upper() and ex.value("date_of_issue") == f["date_of_issue"]
    assert all(ex.facts["mrz_checks"].values())


def test_form_key_values_and_signature() -> None:
    ex, gt = extracted("syn-0005-form")
    assert ex.value("surname") == gt["fields"]["surname"] and ex.value("first_name") == gt["fields"]["first_name"]
    assert ex.value("date_of_move") == gt["fields"]["date_of_move"]
    assert ex.facts["signed"] is True


def test_letter_fields() -> None:
    ex, gt = extracted("syn-0004-letter")
    f = gt["fields"]
    assert (ex.value("sender"), ex.value("date")) == (f["sender_organisation"], f["date"])
    assert (ex.value("subject"), ex.value("reference")) == (f["subject"], f["reference"])


def test_unknown_type_extracts_nothing() -> None:
    assert extract("scientific_technical", []).flat() == []


def test_invoice_from_real_ocr() -> None:
    from pagestream.agents.common.records import lines_of
    from pagestream.agents.ocr.core.engines.tesseract import TesseractEngine
    from pagestream.streams.settings import Settings

    engine = TesseractEngine("eng", Settings().tessdata)
    _, gt = evaldata_doc("syn-0000-invoice")
    pages = pages_of(gt, lambda page, image: lines_of(engine.recognize(image)))
    ex = extract("invoice", pages)
    f = gt["fields"]
    for name in ("invoice_number", "invoice_date", "subtotal", "total", "iban"):
        assert ex.value(name) == f[name], name
    assert len(ex.lists["line_items"]) == len(f["line_items"])
    assert all(0 < x.confidence < 1 for x in ex.flat())
