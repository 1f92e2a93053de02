"""The summary ``show`` and ``submit --wait`` print, and ``get``'s parser."""

from __future__ import annotations

from pagestream.streams.cli.main import build_parser
from pagestream.streams.cli.results import summary


def _page(page_no: int, text: str | None, status: str = "OK", error: str | None = None) -> dict:
    return {"page_no": page_no, "status": status, "text": text, "word_count": len((text or "").split()),
            "mean_confidence": 0.91, "error_message": error}  # fmt: skip


def test_summary_has_status_type_fields_issues_and_each_page_first_line() -> None:
    fields = [
        {"name": "total", "value": "1.234,50", "normalized": "1234.50", "confidence": 0.9, "page_no": 1},
        {"name": "currency", "value": "EUR", "normalized": "EUR", "confidence": 0.8, "page_no": None},
        {"name": "line_items[0].amount", "value": "1", "normalized": "1.00", "confidence": 0.9, "page_no": 1},
        {"name": "line_items[1].amount", "value": "2", "normalized": "2.00", "confidence": 0.9, "page_no": 1},
        {"name": "line_items[1].description", "value": "x", "normalized": None, "confidence": 0.9, "page_no": 1},
    ]
    issue = {"rule": "invoice.total_equals_subtotal_plus_tax", "severity": "review", "fields": ["total"],
             "expected": "1200.00", "found": "1234.50", "message": "total is not subtotal plus tax"}  # fmt: skip
    result = {
        "doc_id": "d1", "tenant": "acme", "filename": "invoice.pdf", "status": "PARTIAL", "page_count": 3,
        "validation_status": "NEEDS_REVIEW", "doc_type": "invoice", "doc_type_confidence": 0.97,
        "classifier_version": "pagestream-doctype/3", "fields": fields, "issues": [issue],
        "error_code": "pages_failed", "error_message": "pages without a result: [3]",
        "pages": [_page(1, "\n  INVOICE 2026-17\nACME GmbH"), _page(2, None),
                  _page(3, None, "FAILED", "OCR timed out")],
    }  # fmt: skip
    assert summary(result).splitlines() == [
        "invoice.pdf  d1  tenant acme",
        "status: PARTIAL, validation NEEDS_REVIEW, 3 pages",
        "reason: pages_failed: pages without a result: [3]",
        "type: invoice (0.97), model pagestream-doctype/3",
        "fields:",
        "  total                  1.234,50  ->  1234.50  (p1, 0.90)",
        "  currency               EUR  (0.80)",
        "  line_items             2 rows (pagestream get ID --format csv)",
        "issue: [review] invoice.total_equals_subtotal_plus_tax: total is not subtotal plus tax "
        "(expected 1200.00, found 1234.50)",
        "  page 1: 4 words, 0.91  'INVOICE 2026-17'",
        "  page 2: 0 words, 0.91  (text not inline: pagestream get ID)",
        "  page 3: 0 words, 0.91  FAILED: OCR timed out",
    ]


def test_a_rejected_document_says_why() -> None:
    result = {"doc_id": "d2", "tenant": "default", "filename": "notes.pdf", "status": "FAILED", "page_count": 0,
              "error_code": "unsupported_type", "error_message": "not a PDF or image", "pages": []}  # fmt: skip
    assert summary(result).splitlines() == [
        "notes.pdf  d2  tenant default",
        "status: FAILED, 0 pages",
        "reason: unsupported_type: not a PDF or image",
    ]


def test_get_and_show_parse_with_their_defaults() -> None:
    args = build_parser().parse_args(["get", "d1"])
    assert (args.command, args.doc_id, args.format, args.out, args.tenant) == ("get", "d1", "md", None, None)
    args = build_parser().parse_args(["show", "d1", "--json"])
    assert (args.command, args.json) == ("show", True)


def test_every_option_has_help_and_states_its_default() -> None:
    import argparse

    from pagestream.streams.cli.main import _every_parser

    parsers = _every_parser(build_parser())
    assert len(parsers) > 20
    for parser in parsers:
        text = " ".join(parser.format_help().split())  # wrapped lines joined
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{parser.prog} {action.option_strings or action.dest} has no help"
            if action.option_strings and action.default not in (None, False):
                assert f"default: {action.default}" in text or "default" in action.help, (parser.prog, action.dest)
