"""Validation's verdict: a document's type and pages in, its fields and a verdict (ok /
needs_review / failed) with machine-readable reasons out.

The verdict combines the type's JSON Schema (required fields, formats of normal forms), the
type's rules (``rules``) and a confidence threshold per field, over the fields ``extract`` finds.
Without a document type nothing is extracted and the document needs review with the reason
``unknown_document_type``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from pagestream.agents.common.records import completed_record
from pagestream.agents.validate.core.extract import Extraction, extract, known_types
from pagestream.agents.validate.core.rules import Issue, Rule, rules_for

VALIDATION_VERSION = "rules/1"

_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_AMOUNT = {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}
_CURRENCY = {"type": "string", "pattern": r"^[A-Z]{3}$"}
_IBAN = {"type": "string", "pattern": r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$"}


def _items(required: list[str], **props: dict) -> dict:
    return {"type": "array", "minItems": 1, "items": {"type": "object", "required": required, "properties": props}}


SCHEMAS: dict[str, dict] = {
    "invoice": {
        "type": "object",
        "required": ["invoice_number", "invoice_date", "vendor", "currency", "total", "line_items"],
        "properties": {
            "invoice_date": _DATE, "due_date": _DATE, "currency": _CURRENCY, "subtotal": _AMOUNT,
            "tax_amount": _AMOUNT, "total": _AMOUNT, "iban": _IBAN,
            "line_items": _items(["amount"], amount=_AMOUNT, unit_price=_AMOUNT),
        },
    },
    "receipt": {
        "type": "object",
        "required": ["merchant", "date", "total", "line_items"],
        "properties": {"date": _DATE, "total": _AMOUNT, "currency": _CURRENCY, "tax_amount": _AMOUNT,
                       "line_items": _items(["amount"], amount=_AMOUNT)},
    },
    "bank_statement": {
        "type": "object",
        "required": ["iban", "opening_balance", "closing_balance"],
        "properties": {
            "iban": _IBAN, "period_start": _DATE, "period_end": _DATE, "opening_balance": _AMOUNT,
            "closing_balance": _AMOUNT, "transactions": _items(["date", "amount"], date=_DATE, amount=_AMOUNT),
        },
    },
    "id_document": {
        "type": "object",
        "required": ["document_number", "surname", "date_of_birth", "date_of_expiry", "issuing_state"],
        "properties": {"date_of_birth": _DATE, "date_of_expiry": _DATE, "date_of_issue": _DATE,
                       "sex": {"enum": ["M", "F", "X"]}},
    },
    "form": {"type": "object", "minProperties": 1},
    "letter": {"type": "object", "required": ["sender", "date"], "properties": {"date": _DATE}},
}  # fmt: skip


@dataclass
class Verdict:
    status: str  # OK, NEEDS_REVIEW or FAILED (the ValidationStatus enum)
    issues: list[Issue]
    extraction: Extraction | None


def schema_issues(extraction: Extraction) -> list[Issue]:
    schema = SCHEMAS.get(extraction.doc_type)
    if schema is None:
        return []
    issues = []
    for error in sorted(Draft202012Validator(schema).iter_errors(extraction.as_plain()), key=str):
        if error.validator == "required":
            missing = error.message.split("'")[1]
            issues.append(Issue(f"schema.{extraction.doc_type}.required", "review", [missing], "present", None,
                                f"required field {missing} was not found"))  # fmt: skip
        else:
            where = ".".join(str(p) for p in error.absolute_path) or "document"
            issues.append(Issue(f"schema.{extraction.doc_type}.{error.validator}", "review", [where], None,
                                str(error.instance)[:200], error.message[:300]))  # fmt: skip
    return issues


def confidence_issues(extraction: Extraction, threshold: float) -> list[Issue]:
    return [
        Issue("confidence.below_threshold", "review", [f.name], f">= {threshold}", f"{f.confidence:.2f}",
              f"{f.name} was read with confidence {f.confidence:.2f}")
        for f in extraction.flat()
        if f.confidence < threshold
    ]  # fmt: skip


def judge(issues: list[Issue]) -> str:
    if any(i.severity == "error" for i in issues):
        return "FAILED"
    return "NEEDS_REVIEW" if issues else "OK"


def validate_document(
    doc_type: str | None,
    pages: list[dict],
    *,
    min_confidence: float = 0.5,
    extra_rules: list[Rule] | None = None,
) -> Verdict:
    """Extract the fields of a document of ``doc_type`` from its pages and judge them."""
    if not doc_type or doc_type not in known_types():
        reason = (
            "no document type was decided upstream"
            if not doc_type
            else f"no extraction for document type {doc_type!r}; known: {', '.join(known_types())}"
        )
        return Verdict("NEEDS_REVIEW", [Issue("unknown_document_type", "review", [], None, doc_type, reason)], None)
    extraction = extract(doc_type, pages)
    return judge_extraction(extraction, min_confidence=min_confidence, extra_rules=extra_rules)


def judge_extraction(
    extraction: Extraction, *, min_confidence: float = 0.5, extra_rules: list[Rule] | None = None
) -> Verdict:
    issues = schema_issues(extraction)
    for rule in rules_for(extraction.doc_type, extra_rules):
        issue = rule.check(extraction, rule)
        if issue is not None:
            issues.append(issue)
    issues += confidence_issues(extraction, min_confidence)
    return Verdict(judge(issues), issues, extraction)


def completed_from_assembled(assembled: dict[str, Any], verdict: Verdict, now: int) -> dict[str, Any]:
    """The DocumentCompleted of an assembled, validated document."""
    pages = [
        {k: v for k, v in p.items() if k != "regions"} | {"regions": p.get("regions") or []} for p in assembled["pages"]
    ]
    extraction = verdict.extraction
    return completed_record(
        assembled,
        now,
        pages=pages,
        versions={**assembled.get("versions", {}), "validation": VALIDATION_VERSION},
        fields=[f.as_record() for f in extraction.flat()] if extraction else None,
        validation_status=verdict.status,
        issues=[i.as_record() for i in verdict.issues],
    )


def validate_pages(doc_type: str | None, document: dict, min_confidence: float) -> Verdict:
    """``validate_document`` on a stored document result (what the agent runs in the process pool)."""
    return validate_document(doc_type, document.get("pages", []), min_confidence=min_confidence)
