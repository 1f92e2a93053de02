"""Business rules per document type: plain data (name, type, fields, severity) plus one small
function each, so a tenant's own rules are a list appended to ``RULES``.

A check returns None when it holds or cannot apply (its inputs are missing: the JSON Schema
reports missing fields), or an ``Issue`` naming what it expected and what the document says.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from pagestream.agents.validate.core.extract import Extraction
from pagestream.agents.validate.core.normalize import iban_valid

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Issue:
    rule: str
    severity: str  # "review" or "error"
    fields: list[str]
    expected: str | None
    found: str | None
    message: str

    def as_record(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "fields": list(self.fields),
            "expected": self.expected,
            "found": self.found,
            "message": self.message,
        }


Check = Callable[[Extraction, "Rule"], Issue | None]


@dataclass(frozen=True)
class Rule:
    name: str
    doc_type: str
    fields: list[str]
    check: Check
    severity: str = "review"
    description: str = ""
    params: dict = field(default_factory=dict)

    def issue(self, expected: object, found: object, message: str, fields: list[str] | None = None) -> Issue:
        return Issue(
            self.name,
            self.severity,
            fields or self.fields,
            None if expected is None else str(expected),
            None if found is None else str(found),
            message,
        )


def dec(ex: Extraction, name: str) -> Decimal | None:
    value = ex.value(name)
    try:
        return Decimal(value) if value is not None else None
    except InvalidOperation:
        return None


def day(ex: Extraction, name: str) -> date | None:
    value = ex.value(name)
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _list_dec(row: dict, column: str) -> Decimal | None:
    f = row.get(column)
    try:
        return Decimal(f.normalized) if f is not None and f.normalized is not None else None
    except InvalidOperation:
        return None


def _close(a: Decimal, b: Decimal, tolerance: Decimal) -> bool:
    return abs(a - b) <= tolerance


# --- checks ----------------------------------------------------------------------------------------


def sum_equals(list_name: str, column: str, total: str) -> Check:
    """The amounts of a list field add up to a total (rounding tolerance one cent per row)."""

    def check(ex: Extraction, rule: Rule) -> Issue | None:
        rows = ex.lists.get(list_name) or []
        values = [_list_dec(r, column) for r in rows]
        target = dec(ex, total)
        if not rows or target is None or any(v is None for v in values):
            return None
        computed = sum(values, Decimal(0))
        if _close(computed, target, CENT * max(1, len(values)) / 2):
            return None
        return rule.issue(computed, target, f"{list_name} add up to {computed}, the document says {total} {target}")

    return check


def addition(parts: list[str], total: str) -> Check:
    """total = sum of parts, within a cent."""

    def check(ex: Extraction, rule: Rule) -> Issue | None:
        values = [dec(ex, p) for p in parts]
        target = dec(ex, total)
        if target is None or any(v is None for v in values):
            return None
        computed = sum(values, Decimal(0))
        if _close(computed, target, CENT):
            return None
        return rule.issue(computed, target, f"{' + '.join(parts)} = {computed}, but {total} is {target}")

    return check


def tax_rate(ex: Extraction, rule: Rule) -> Issue | None:
    rate, base, tax = dec(ex, "tax_rate"), dec(ex, "subtotal"), dec(ex, "tax_amount")
    if rate is None or base is None or tax is None:
        return None
    expected = (base * rate / 100).quantize(CENT)
    return None if _close(expected, tax, CENT) else rule.issue(expected, tax, f"{rate}% of {base} is {expected}")


def included_tax(ex: Extraction, rule: Rule) -> Issue | None:
    """Tax included in a gross total: total x rate / (100 + rate)."""
    rate, total, tax = dec(ex, "tax_rate"), dec(ex, "total"), dec(ex, "tax_amount")
    if rate is None or total is None or tax is None:
        return None
    expected = (total * rate / (100 + rate)).quantize(CENT)
    return (
        None if _close(expected, tax, CENT) else rule.issue(expected, tax, f"{rate}% included in {total} is {expected}")
    )


def line_products(list_name: str) -> Check:
    def check(ex: Extraction, rule: Rule) -> Issue | None:
        for i, row in enumerate(ex.lists.get(list_name) or []):
            qty, price, amount = _list_dec(row, "quantity"), _list_dec(row, "unit_price"), _list_dec(row, "amount")
            if qty is None or price is None or amount is None:
                continue
            expected = (qty * price).quantize(CENT)
            if not _close(expected, amount, CENT):
                return rule.issue(
                    expected, amount, f"line {i + 1}: {qty} x {price} = {expected}", [f"{list_name}[{i}].amount"]
                )
        return None

    return check


def dates_ordered(earlier: str, later: str, strict: bool = False) -> Check:
    def check(ex: Extraction, rule: Rule) -> Issue | None:
        a, b = day(ex, earlier), day(ex, later)
        if a is None or b is None or (a < b if strict else a <= b):
            return None
        return rule.issue(f"{later} after {a}", b, f"{later} {b} is before {earlier} {a}")

    return check


def iban_checksum(ex: Extraction, rule: Rule) -> Issue | None:
    iban = ex.value("iban")
    if iban is None or iban_valid(iban):
        return None
    return rule.issue("mod-97 remainder 1", iban, f"IBAN {iban} fails the ISO 13616 mod-97 check")


def balance_flow(ex: Extraction, rule: Rule) -> Issue | None:
    opening, closing = dec(ex, "opening_balance"), dec(ex, "closing_balance")
    rows = ex.lists.get("transactions") or []
    amounts = [_list_dec(r, "amount") for r in rows]
    if opening is None or closing is None or not rows or any(a is None for a in amounts):
        return None
    expected = opening + sum(amounts, Decimal(0))
    if _close(expected, closing, CENT):
        return None
    return rule.issue(
        expected, closing, f"opening {opening} + transactions = {expected}, closing balance says {closing}"
    )


def running_balance(ex: Extraction, rule: Rule) -> Issue | None:
    previous = dec(ex, "opening_balance")
    for i, row in enumerate(ex.lists.get("transactions") or []):
        amount, balance = _list_dec(row, "amount"), _list_dec(row, "balance")
        known = previous is not None and amount is not None and balance is not None
        if known and not _close(previous + amount, balance, CENT):
            return rule.issue(
                previous + amount, balance, f"row {i + 1}: balance should be {previous + amount}",
                [f"transactions[{i}].balance"],
            )  # fmt: skip
        previous = balance
    return None


def within_period(ex: Extraction, rule: Rule) -> Issue | None:
    start, end = day(ex, "period_start"), day(ex, "period_end")
    if start is None or end is None:
        return None
    for i, row in enumerate(ex.lists.get("transactions") or []):
        f = row.get("date")
        when = date.fromisoformat(f.normalized) if f and f.normalized else None
        if when and not start <= when <= end:
            return rule.issue(f"{start}..{end}", when, f"transaction {i + 1} is dated outside the statement period")
    return None


def mrz_check(part: str) -> Check:
    def check(ex: Extraction, rule: Rule) -> Issue | None:
        checks = ex.facts.get("mrz_checks") or {}
        if part not in checks or checks[part]:
            return None
        return rule.issue("valid check digit", "invalid", f"MRZ check digit of {part.replace('_', ' ')} is wrong")

    return check


def _mrz_form(text: str) -> str:
    """Text as the MRZ writes it: upper case, accents and punctuation dropped (ICAO 9303 part 3)."""
    folded = unicodedata.normalize("NFKD", text.upper())
    return "".join(c for c in folded if c.isalnum() and c.isascii())


# Characters OCR cannot tell apart in print (0/O/Q/D, 1/I/L, 5/S, 8/B, 2/Z): the visual zone is
# compared with the MRZ up to these, so a misread is not taken for a printed mismatch.
_LOOKALIKE_CLASS = str.maketrans("OQDILSBZ", "00011582")


def viz_matches_mrz(ex: Extraction, rule: Rule) -> Issue | None:
    """The printed (visual) surname, document number and birth date agree with the MRZ."""
    for viz, mrz in (("viz_surname", "surname"), ("viz_document_number", "document_number"),
                     ("viz_date_of_birth", "date_of_birth")):  # fmt: skip
        a, b = ex.value(viz), ex.value(mrz)
        if a is None or b is None:
            continue
        if _mrz_form(a).translate(_LOOKALIKE_CLASS) != _mrz_form(b).translate(_LOOKALIKE_CLASS):
            return rule.issue(b, a, f"{mrz} printed as {a!r} but the MRZ says {b!r}", [viz, mrz])
    return None


def signed(ex: Extraction, rule: Rule) -> Issue | None:
    if ex.facts.get("signed", True):
        return None
    return rule.issue("a signature", "none", "the form carries no signature")


def plausible_dates(ex: Extraction, rule: Rule) -> Issue | None:
    """Every date field between 1900 and twenty years from now (OCR slips, two-digit years)."""
    latest = date.today() + timedelta(days=365 * 20)
    for name in ex.fields:
        when = day(ex, name) if name.endswith("date") or name.startswith(("date", "period")) else None
        if when and not date(1900, 1, 1) <= when <= latest:
            return rule.issue(f"1900-01-01..{latest}", when, f"{name} {when} is implausible", [name])
    return None


# --- the rules -------------------------------------------------------------------------------------

RULES: list[Rule] = [
    Rule("invoice.line_amounts_equal_qty_times_price", "invoice", ["line_items"], line_products("line_items")),
    Rule("invoice.line_items_sum_to_subtotal", "invoice", ["line_items", "subtotal"],
         sum_equals("line_items", "amount", "subtotal")),
    Rule("invoice.tax_equals_rate_times_subtotal", "invoice", ["tax_rate", "subtotal", "tax_amount"], tax_rate),
    Rule("invoice.total_equals_subtotal_plus_tax", "invoice", ["subtotal", "tax_amount", "total"],
         addition(["subtotal", "tax_amount"], "total")),
    Rule("invoice.due_date_not_before_invoice_date", "invoice", ["invoice_date", "due_date"],
         dates_ordered("invoice_date", "due_date")),
    Rule("invoice.iban_checksum", "invoice", ["iban"], iban_checksum, "error"),
    Rule("receipt.line_amounts_equal_qty_times_price", "receipt", ["line_items"], line_products("line_items")),
    Rule("receipt.items_sum_to_total", "receipt", ["line_items", "total"], sum_equals("line_items", "amount", "total")),
    Rule("receipt.included_tax_consistent", "receipt", ["tax_rate", "total", "tax_amount"], included_tax),
    Rule("statement.iban_checksum", "bank_statement", ["iban"], iban_checksum, "error"),
    Rule("statement.opening_plus_transactions_equals_closing", "bank_statement",
         ["opening_balance", "transactions", "closing_balance"], balance_flow),
    Rule("statement.running_balance_consistent", "bank_statement", ["transactions"], running_balance),
    Rule("statement.transactions_within_period", "bank_statement", ["period_start", "period_end", "transactions"],
         within_period),
    Rule("mrz.document_number_check", "id_document", ["document_number"], mrz_check("document_number"), "error"),
    Rule("mrz.date_of_birth_check", "id_document", ["date_of_birth"], mrz_check("date_of_birth"), "error"),
    Rule("mrz.date_of_expiry_check", "id_document", ["date_of_expiry"], mrz_check("date_of_expiry"), "error"),
    Rule("mrz.personal_number_check", "id_document", ["personal_number"], mrz_check("personal_number"), "error"),
    Rule("mrz.composite_check", "id_document", ["mrz"], mrz_check("composite"), "error"),
    Rule("id.viz_matches_mrz", "id_document", ["surname", "document_number", "date_of_birth"], viz_matches_mrz),
    Rule("id.expiry_after_issue", "id_document", ["date_of_issue", "date_of_expiry"],
         dates_ordered("date_of_issue", "date_of_expiry", strict=True)),
    Rule("id.birth_before_issue", "id_document", ["date_of_birth", "date_of_issue"],
         dates_ordered("date_of_birth", "date_of_issue", strict=True)),
    Rule("form.expense_items_sum_to_total", "form", ["expense_items", "total"],
         sum_equals("expense_items", "amount", "total")),
    Rule("form.signed", "form", ["signature"], signed),
    *(Rule("dates.plausible", t, [], plausible_dates)
      for t in ("invoice", "receipt", "bank_statement", "id_document", "form", "letter")),
]  # fmt: skip


def rules_for(doc_type: str, extra: list[Rule] | None = None) -> list[Rule]:
    """The rules of a type: the built-in ones, then a tenant's own."""
    return [r for r in [*RULES, *(extra or [])] if r.doc_type == doc_type]
