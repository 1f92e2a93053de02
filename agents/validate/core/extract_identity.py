"""Field extraction for ID documents (ICAO 9303 MRZ), forms (key-values) and letters."""

from __future__ import annotations

import re

from pagestream.agents.common.geometry import union
from pagestream.agents.validate.core.extract import (
    DocPages,
    Extraction,
    Field,
    amount_field,
    cell_amount,
    date_field,
    extractor,
    find_labelled,
    first,
    fold,
    is_amount,
    is_date_for,
    label_match,
    text_field,
    without_logo,
)
from pagestream.agents.validate.core.extract_finance import table_rows
from pagestream.agents.validate.core.mrz import find_mrz, parse_mrz
from pagestream.agents.validate.core.normalize import find_dates, format_amount

DATE_OF_ISSUE = [
    "Date of issue",
    "Ausstellungsdatum",
    "Date de délivrance",
    "Issued",
    "Date of issue / Date de délivrance",
]


SURNAME = ["Surname", "Name", "Nom", "Nachname"]


def _looks_like_name(text: str) -> bool:
    """A printed name, not the rest of a bilingual label ("Surname / Nom" read as two lines)."""
    text = text.strip()
    return text[:1].isalpha() and label_match(text, SURNAME) is None


@extractor("id_document")
def extract_id_document(doc: DocPages) -> Extraction:
    out = Extraction("id_document")
    for page in doc.pages:
        texts = [ln["text"] for ln in page.lines]
        lines = find_mrz(texts)
        if not lines:
            continue
        try:
            mrz = parse_mrz(lines)
        except ValueError:
            continue
        mrz_lines = [ln for ln in page.lines if ln["text"].replace(" ", "")[:10] in {t[:10] for t in lines}]
        box = union(ln["bbox"] for ln in mrz_lines) if mrz_lines else None
        conf = min((w.get("confidence", 1.0) for ln in mrz_lines for w in ln["words"]), default=0.9)

        birth, expiry = mrz.date_of_birth(), mrz.date_of_expiry()
        values = [
            ("mrz_format", mrz.format, mrz.format),
            ("document_type", mrz.document_type, mrz.document_type),
            ("issuing_state", mrz.issuing_state, mrz.issuing_state),
            ("surname", mrz.surname, mrz.surname),
            ("given_names", mrz.given_names, mrz.given_names),
            ("document_number", mrz.document_number, mrz.document_number),
            ("nationality", mrz.nationality, mrz.nationality),
            ("date_of_birth", mrz.birth, birth.isoformat() if birth else None),
            ("sex", mrz.sex, "X" if mrz.sex == "<" else mrz.sex),
            ("date_of_expiry", mrz.expiry, expiry.isoformat() if expiry else None),
        ]
        if mrz.personal_number:
            values.append(("personal_number", mrz.personal_number, mrz.personal_number))
        for name, value, normalized in values:
            out.add(Field(name, value, normalized, conf * 0.95, page.page_no, box))
        out.facts["mrz_checks"] = dict(mrz.checks)
        out.facts["mrz_lines"] = list(mrz.lines)
        break
    out.add(date_field("date_of_issue", first(find_labelled(doc, DATE_OF_ISSUE, is_date_for(doc))), doc))
    # The visual zone, for the cross-check with the MRZ.
    surname = find_labelled(doc, SURNAME, _looks_like_name, right=False)
    number = find_labelled(doc, ["Document No.", "Passport No.", "Card No.", "Document number"], right=False)
    birth = find_labelled(doc, ["Date of birth", "Geburtsdatum", "Date de naissance"], is_date_for(doc), right=False)
    out.add(text_field("viz_surname", first(surname)))
    out.add(text_field("viz_document_number", first(number)))
    out.add(date_field("viz_date_of_birth", first(birth), doc))
    return out


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", fold(label)).strip("_")[:40]


@extractor("form")
def extract_form(doc: DocPages) -> Extraction:
    """Every key-value pair of the layout, plus labels with a value below them (boxed fields)."""
    out = Extraction("form")
    for page, region in doc.regions("key_value"):
        for pair in region.get("pairs") or []:
            name = _slug(pair["key"])
            if name:
                out.add(
                    Field(
                        name, pair["value"], _normal(pair["value"], doc), 0.8, page.page_no, tuple(pair["value_bbox"])
                    )
                )
    for page in doc.pages:
        for r, row in enumerate(page.rows[:-1]):
            nxt = page.rows[r + 1]
            for seg in row.segments:
                label = seg.text
                if len(seg.words) > 5 or not re.search(r"[^\W\d_]{2}", label) or label.endswith("."):
                    continue
                gap = nxt.bbox[1] - seg.bbox[3]
                if not 0 <= gap <= 2.5 * (seg.bbox[3] - seg.bbox[1]):
                    continue
                below = [s for s in nxt.segments if abs(s.bbox[0] - seg.bbox[0]) <= 20]
                if below and _slug(label) and not any(_slug(label) == _slug(s.text) for s in below):
                    value = below[0]
                    conf = min(w.confidence for w in value.words) * 0.75
                    out.add(Field(_slug(label), value.text, _normal(value.text, doc), conf, page.page_no, value.bbox))
    items = list(_expense_items(doc))
    if items:
        out.lists["expense_items"] = items
        totals = [h for h in find_labelled(doc, ["TOTAL", "Total", "Summe", "Gesamt"], is_amount, below=False)]
        out.add(amount_field("total", totals[-1] if totals else None))
    out.facts["signed"] = any(True for _ in doc.regions("signature"))
    return out


def _expense_items(doc: DocPages):
    names = ["date", "category", "description", "amount"]
    for page, cols, row in table_rows(doc, ["date", "amount"], names):
        amount = cell_amount(row[cols["amount"]]["text"])
        dates = find_dates(row[cols["date"]]["text"], doc.month_first)
        if amount is None or not dates:
            continue
        date_cell, amount_cell = row[cols["date"]], row[cols["amount"]]
        item = {
            "date": Field(
                "date", date_cell["text"], dates[0].isoformat(), 0.85, page.page_no, tuple(date_cell["bbox"])
            ),
            "amount": Field(
                "amount", amount_cell["text"], format_amount(amount), 0.85, page.page_no, tuple(amount_cell["bbox"])
            ),
        }
        if "description" in cols:
            cell = row[cols["description"]]
            item["description"] = Field(
                "description", cell["text"], cell["text"], 0.85, page.page_no, tuple(cell["bbox"])
            )
        yield item


def _normal(value: str, doc: DocPages) -> str | None:
    dates = find_dates(value, doc.month_first)
    if dates and len(value) <= 24:
        return dates[0].isoformat()
    return value.strip()


REFERENCE = [
    "Our ref", "Our reference", "Your ref", "Your reference", "Reference", "Ref.", "Ref", "Unser Zeichen",
    "Ihr Zeichen", "Aktenzeichen", "Notre réf.", "Notre référence", "Référence", "N/Réf.", "Kenmerk",
]  # fmt: skip
SUBJECT = ["Subject", "Re", "Betreff", "Objet", "Betreft", "Concerne"]
_SALUTATION = re.compile(r"(?i)^(dear|sehr geehrte|liebe|madame|monsieur|bonjour|geachte|hello|to whom)")


@extractor("letter")
def extract_letter(doc: DocPages) -> Extraction:
    """Sender (top-most line), date (first date near the top), reference (label), subject (a
    labelled line, else the line just above the salutation)."""
    out = Extraction("letter")
    page = doc.pages[0] if doc.pages else None
    if page is None or not page.rows:
        return out
    top = sorted(page.rows, key=lambda r: r.bbox[1])
    seg = without_logo(top[0].segments[0])
    out.add(Field("sender", seg.text, seg.text, min(w.confidence for w in seg.words) * 0.7, page.page_no, seg.bbox))
    for row in top[:25]:
        for part in row.segments:
            dates = find_dates(part.text, doc.month_first)
            if dates:
                conf = min(w.confidence for w in part.words) * 0.8
                out.add(Field("date", part.text, dates[0].isoformat(), conf, page.page_no, part.bbox))
                break
        if "date" in out.fields:
            break
    out.add(text_field("reference", first(find_labelled(doc, REFERENCE, lambda t: bool(re.search(r"\d", t))))))
    out.add(text_field("subject", first(find_labelled(doc, SUBJECT, below=False))))
    salutation = next((i for i, r in enumerate(top) if _SALUTATION.match(r.text)), None)
    if "subject" not in out.fields and salutation:
        above = top[salutation - 1]
        if not find_dates(above.text, doc.month_first) and len(above.words) <= 14:
            conf = min(w.confidence for w in above.words) * 0.7
            out.add(Field("subject", above.text, above.text.strip(), conf, page.page_no, above.bbox))
    return out
