"""Field extraction for invoices, receipts and bank statements (labels in en/de/fr/nl).

Header fields come from labels and the value beside or below them; line items and transactions
come from the layout's tables, columns recognised by their header words.
"""

from __future__ import annotations

import re
from decimal import Decimal

from pagestream.agents.common.geometry import union
from pagestream.agents.validate.core.extract import (
    DocPages,
    Extraction,
    Field,
    Hit,
    amount_field,
    cell_amount,
    cell_date,
    date_field,
    extractor,
    find_labelled,
    first,
    fold,
    is_amount,
    is_date_for,
    without_logo,
)
from pagestream.agents.validate.core.normalize import IBAN_PATTERN, compact_iban, find_dates, format_amount, iban_valid

INVOICE_NUMBER = ["Invoice No.", "Invoice No", "Invoice number", "Invoice #", "Invoice", "Rechnungsnr.",
                  "Rechnungsnummer", "Rechnung Nr.", "N° de facture", "No de facture", "Facture n°", "Factuurnummer",
                  "Factuur", "Number", "Invoice ID", "Bill No."]  # fmt: skip
INVOICE_DATE = ["Invoice date", "Rechnungsdatum", "Date de facture", "Factuurdatum", "Factuur datum", "Date", "Datum",
                "Invoice Date:", "Date of issue", "Issue date"]  # fmt: skip
DUE_DATE = ["Due date", "Fällig am", "Échéance", "Payment due", "Vervaldatum", "Zahlbar bis"]
SUBTOTAL = ["Subtotal", "Sub-total", "Sub Total", "Zwischensumme", "Nettobetrag", "Sous-total HT", "Sous-total",
            "Total HT", "Net amount", "Subtotaal", "Untaxed Amount", "Total excl. VAT", "Grondslag",
            "Netto"]  # fmt: skip
TAX = ["VAT", "MwSt.", "MwSt", "USt.", "TVA", "Sales tax", "Tax", "BTW", "BTW bedrag", "Taxes"]
TOTAL = ["Total", "Gesamtbetrag", "Total TTC", "Amount due", "Grand total", "Totaal", "Summe", "SUMME", "TOTAL",
         "Rechnungsbetrag", "Montant TTC", "Factuur totaal", "Te betalen", "Total amount"]  # fmt: skip
LEGAL_FORMS = re.compile(
    r"\b(Ltd|LLP|plc|GmbH|AG|KG|SARL|SAS|SA|SRL|B\.V\.|N\.V\.|Inc\.?|LLC|Corp\.?|DAC|Co\.)(?=\W|$)"
)
CARRIED = re.compile(r"carried|brought|übertrag|report|reporter|forward|continued|fortsetzung|suite", re.I)

COLUMNS = {
    "description": ["description", "beschreibung", "designation", "item", "article", "omschrijving", "bezeichnung"],
    "quantity": ["qty", "quantity", "menge", "qte", "anzahl", "aantal"],
    "unit_price": ["unit price", "einzelpreis", "prix unitaire", "price", "preis", "prix", "prijs"],
    "amount": ["amount", "betrag", "montant", "total", "bedrag", "gesamt"],
    "date": ["date", "datum"],
    "debit": ["paid out", "debit", "soll", "withdrawal", "ausgang"],
    "credit": ["paid in", "credit", "haben", "deposit", "eingang"],
    "balance": ["balance", "saldo", "solde"],
    "category": ["category", "kategorie", "categorie"],
}


def _vendor(doc: DocPages) -> Field | None:
    """The issuer: the top-most line with a company legal form, else the top-most line."""
    page = doc.pages[0] if doc.pages else None
    if page is None or not page.rows:
        return None
    top = sorted(page.rows, key=lambda r: r.bbox[1])[:12]
    for row in top:
        for seg in map(without_logo, row.segments):
            if LEGAL_FORMS.search(seg.text) and not seg.text.lower().startswith(("vat", "bill")):
                return Field("vendor", seg.text, seg.text, _min_conf(seg.words) * 0.85, page.page_no, seg.bbox)
    seg = without_logo(top[0].segments[0])
    return Field("vendor", seg.text, seg.text, _min_conf(seg.words) * 0.5, page.page_no, seg.bbox)


def _min_conf(words) -> float:
    return min((w.confidence for w in words), default=0.0)


def _currency(doc: DocPages) -> Field | None:
    if doc.currency is None:
        return None
    return Field("currency", doc.currency, doc.currency, 0.9)


def _iban(doc: DocPages) -> Field | None:
    found: list[Field] = []
    for page in doc.pages:
        for line in page.lines:
            for match in IBAN_PATTERN.finditer(line["text"].upper()):
                iban = compact_iban(match.group(1))
                words = [w for w in line["words"] if compact_iban(w["text"]) and compact_iban(w["text"]) in iban]
                box = union(w["bbox"] for w in words) if words else tuple(line["bbox"])
                conf = min((w.get("confidence", 1.0) for w in words), default=1.0)
                found.append(
                    Field("iban", match.group(1), iban, conf * (0.95 if iban_valid(iban) else 0.6), page.page_no, box)
                )
    labelled = [f for f in found if len(f.normalized or "") >= 15]
    return labelled[0] if labelled else None


def _columns(header: list[str], names: list[str]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for i, text in enumerate(header):
        folded = fold(text)
        for name in names:
            if name not in mapping and any(folded.startswith(k) or f" {k}" in f" {folded}" for k in COLUMNS[name]):
                mapping[name] = i
                break
    return mapping


def table_rows(doc: DocPages, needed: list[str], names: list[str]):
    """(page, column map, row cells) for tables whose header names the ``needed`` columns."""
    for page, region in doc.tables():
        cells = region["cells"]
        header_count = region.get("header_rows") or 1
        header = [" ".join(c["text"] for c in col) for col in zip(*cells[:header_count], strict=False)]
        mapping = _columns(header, names)
        if not all(n in mapping for n in needed):
            continue
        for row in cells[header_count:]:
            yield page, mapping, row


def _cell_field(name: str, cell: dict, page: int, value: str | None, confidence: float = 0.85) -> Field:
    return Field(name, cell["text"], value, confidence, page, tuple(cell["bbox"]))


def _line_items(doc: DocPages, with_unit: bool = True) -> list[dict[str, Field]]:
    items = []
    names = ["description", "quantity", "unit_price", "amount"]
    for page, cols, row in table_rows(doc, ["description", "amount"], names):
        desc = row[cols["description"]]
        amount_cell = row[cols["amount"]]
        amount = cell_amount(amount_cell["text"])
        if amount is None or not desc["text"] or CARRIED.search(desc["text"]):
            continue
        if re.fullmatch(r"(?i)(sub)?total.*|summe.*|zwischensumme.*|sous-total.*", fold(desc["text"])):
            continue
        item = {
            "description": _cell_field("description", desc, page.page_no, desc["text"]),
            "amount": _cell_field("amount", amount_cell, page.page_no, format_amount(amount)),
        }
        if "quantity" in cols:
            q = re.match(r"\s*(\d+(?:[.,]\d+)?)", row[cols["quantity"]]["text"])
            if q:
                item["quantity"] = _cell_field(
                    "quantity", row[cols["quantity"]], page.page_no, q.group(1).replace(",", ".")
                )
        if with_unit and "unit_price" in cols:
            price = cell_amount(row[cols["unit_price"]]["text"])
            if price is not None:
                item["unit_price"] = _cell_field(
                    "unit_price", row[cols["unit_price"]], page.page_no, format_amount(price)
                )
        items.append(item)
    return items


def _total_hits(doc: DocPages) -> list[Hit]:
    hits = find_labelled(doc, TOTAL, is_amount, below=False)
    return [
        h for h in hits if not re.search(r"sub|zwischen|sous|net|ht$", fold(h.label)) and not CARRIED.search(h.text)
    ]


def _tax_rate(doc: DocPages, tax: Hit | None) -> Field | None:
    if tax is None:
        return None
    for page, row in doc.rows():
        for seg in row.segments:
            if seg.bbox[1] <= (tax.bbox[1] + tax.bbox[3]) / 2 <= seg.bbox[3] and page.page_no == tax.page:
                match = re.search(r"(\d+(?:[.,]\d+)?)\s?%", seg.text)
                if match:
                    return Field(
                        "tax_rate", match.group(0), match.group(1).replace(",", "."), 0.8, page.page_no, seg.bbox
                    )
    return None


@extractor("invoice")
def extract_invoice(doc: DocPages) -> Extraction:
    out = Extraction("invoice")
    number = [
        h for h in find_labelled(doc, INVOICE_NUMBER) if re.search(r"\d", h.text) and not is_date_for(doc)(h.text)
    ]
    hit = first(number)
    if hit is not None:
        compact = re.sub(r"\s+", "", hit.text.strip(" :"))
        out.add(Field("invoice_number", hit.text, compact, hit.confidence * 0.9, hit.page, hit.bbox))
    out.add(date_field("invoice_date", first(find_labelled(doc, INVOICE_DATE, is_date_for(doc))), doc))
    out.add(date_field("due_date", first(find_labelled(doc, DUE_DATE, is_date_for(doc))), doc))
    out.add(_vendor(doc))
    out.add(_currency(doc))
    out.add(amount_field("subtotal", first(find_labelled(doc, SUBTOTAL, is_amount, below=False))))
    tax = first([h for h in find_labelled(doc, TAX, is_amount, below=False) if "id" not in fold(h.text)])
    out.add(amount_field("tax_amount", tax))
    out.add(_tax_rate(doc, tax))
    totals = _total_hits(doc)
    out.add(amount_field("total", totals[-1] if totals else None))
    out.add(_iban(doc))
    out.lists["line_items"] = _line_items(doc)
    return out


RECEIPT_TOTAL = ["TOTAL", "SUMME", "Total", "Montant", "TOTAL TTC", "Amount"]


@extractor("receipt")
def extract_receipt(doc: DocPages) -> Extraction:
    out = Extraction("receipt")
    page = doc.pages[0] if doc.pages else None
    if page and page.rows:
        seg = without_logo(sorted(page.rows, key=lambda r: r.bbox[1])[0].segments[0])
        out.add(Field("merchant", seg.text, seg.text, _min_conf(seg.words) * 0.8, page.page_no, seg.bbox))
    for p, row in doc.rows():
        dates = find_dates(row.text, doc.month_first)
        if dates:
            out.add(Field("date", row.text, dates[0].isoformat(), _min_conf(row.words) * 0.85, p.page_no, row.bbox))
            break
    totals = [h for h in find_labelled(doc, RECEIPT_TOTAL, is_amount, below=False) if not CARRIED.search(h.text)]
    out.add(amount_field("total", first(totals)))
    out.add(_currency(doc))
    included = first(find_labelled(doc, INCLUDED_TAX, is_amount, below=False))
    out.add(amount_field("tax_amount", included))
    out.add(_tax_rate(doc, included))
    out.lists["line_items"] = _receipt_items(doc)
    return out


# "incl. VAT 20%", "enth. MwSt 19%", "dont TVA 20%": tax included in a receipt's total.
INCLUDED_TAX = [
    f"{a} {b}" for a in ("incl.", "incl", "enth.", "inkl.", "dont") for b in ("VAT", "MwSt", "MwSt.", "TVA")
]


_QTY_LINE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*[xX\u00d7*@]\s*(.+)$")
_RECEIPT_STOP = re.compile(r"(?i)^(total|summe|sum|montant|amount|subtotal|zwischensumme|sous-total)\b")


def _receipt_items(doc: DocPages) -> list[dict[str, Field]]:
    """Items are rows of a description and an amount before the total; a ``2 x 2,88`` row holds
    the quantity and unit price of the description above it."""
    items: list[dict[str, Field]] = []
    for page in doc.pages:
        pending = None
        started = False
        for row in page.rows:
            text = row.segments[0].text
            if _RECEIPT_STOP.match(fold(text)):
                break
            last = row.segments[-1]
            amount = cell_amount(last.text) if len(row.segments) > 1 and is_amount(last.text) else None
            qty = _QTY_LINE.match(text)
            if qty and amount is not None and pending is not None:
                price = cell_amount(qty.group(2))
                item = {
                    "description": pending,
                    "amount": _seg_field("amount", last, page.page_no, format_amount(amount)),
                    "quantity": _seg_field("quantity", row.segments[0], page.page_no, qty.group(1).replace(",", ".")),
                }
                if price is not None:
                    item["unit_price"] = _seg_field("unit_price", row.segments[0], page.page_no, format_amount(price))
                items.append(item)
                pending = None
            elif amount is not None and re.search(r"[^\W\d_]{2}", text) and started:
                desc = _seg_field("description", row.segments[0], page.page_no, text)
                items.append(
                    {"description": desc, "amount": _seg_field("amount", last, page.page_no, format_amount(amount))}
                )
                pending = None
            elif len(row.segments) == 1 and re.search(r"[^\W\d_]{2}", text) and started and not find_dates(text):
                pending = _seg_field("description", row.segments[0], page.page_no, text)
            if find_dates(row.text, doc.month_first):
                started = True  # items follow the date line of the receipt head
    return items


def _seg_field(name: str, seg, page: int, value: str) -> Field:
    return Field(name, seg.text, value, _min_conf(seg.words) * 0.85, page, seg.bbox)


PERIOD = ["Statement period", "Period", "Zeitraum", "Période", "Periode", "Auszugszeitraum"]
OPENING = ["Opening balance", "Alter Kontostand", "Ancien solde", "Balance brought forward", "Beginsaldo",
           "Anfangssaldo", "Solde initial"]  # fmt: skip
CLOSING = ["Closing balance", "Neuer Kontostand", "Nouveau solde", "Eindsaldo", "Endsaldo", "Solde final"]


@extractor("bank_statement")
def extract_bank_statement(doc: DocPages) -> Extraction:
    out = Extraction("bank_statement")
    out.add(_iban(doc))
    out.add(_currency(doc))
    period = first(find_labelled(doc, PERIOD, lambda t: len(find_dates(t, doc.month_first)) >= 2))
    if period:
        start, end = find_dates(period.text, doc.month_first)[:2]
        out.add(
            Field("period_start", period.text, start.isoformat(), period.confidence * 0.9, period.page, period.bbox)
        )
        out.add(Field("period_end", period.text, end.isoformat(), period.confidence * 0.9, period.page, period.bbox))
    out.add(amount_field("opening_balance", first(find_labelled(doc, OPENING, is_amount, below=False))))
    out.add(amount_field("closing_balance", first(find_labelled(doc, CLOSING, is_amount, below=False))))
    out.lists["transactions"] = _transactions(doc)
    return out


def _transactions(doc: DocPages) -> list[dict[str, Field]]:
    rows = []
    names = ["date", "description", "debit", "credit", "balance", "amount"]
    for page, cols, row in table_rows(doc, ["date", "balance"], names):
        when = cell_date(row[cols["date"]]["text"], doc)
        if when is None:
            continue
        debit = cell_amount(row[cols["debit"]]["text"]) if "debit" in cols else None
        credit = cell_amount(row[cols["credit"]]["text"]) if "credit" in cols else None
        amount = cell_amount(row[cols["amount"]]["text"]) if "amount" in cols else None
        if amount is None and (debit is not None or credit is not None):
            amount = (credit or Decimal(0)) - abs(debit or Decimal(0))
        if amount is None:
            continue
        cell = row[cols["credit"] if credit is not None else cols.get("debit", cols.get("amount", 0))]
        entry = {
            "date": _cell_field("date", row[cols["date"]], page.page_no, when.isoformat()),
            "amount": _cell_field("amount", cell, page.page_no, format_amount(amount)),
        }
        if "description" in cols:
            desc = row[cols["description"]]
            entry["description"] = _cell_field("description", desc, page.page_no, desc["text"])
        balance = cell_amount(row[cols["balance"]]["text"])
        if balance is not None:
            entry["balance"] = _cell_field("balance", row[cols["balance"]], page.page_no, format_amount(balance))
        rows.append(entry)
    return rows
