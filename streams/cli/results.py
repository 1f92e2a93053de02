"""``pagestream get`` and ``pagestream show``, and the readable summary of a result that they and
``submit --wait`` print: a DocumentCompleted is a large JSON record (a 3-page statement is 70 KB
on one line), so people get status, type, fields, issues and each page's first line instead.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from pagestream.streams.settings import Settings

# How ``get --out`` names the file of each format, after the document's id.
OUT_SUFFIXES = {"md": ".md", "json": ".json", "csv": ".csv", "chunks": ".chunks.jsonl"}
_LIST_FIELD = re.compile(r"^([^\[]+)\[(\d+)\]")


def _first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def _fields_lines(fields: list[dict[str, Any]]) -> list[str]:
    """One line per single field; list fields (line_items[3].amount, ...) as one count each."""
    rows: dict[str, set[str]] = {}
    lines = []
    for field in fields:
        match = _LIST_FIELD.match(field["name"])
        if match:
            rows.setdefault(match.group(1), set()).add(match.group(2))
            continue
        shown = field["value"]
        if field.get("normalized") and field["normalized"] != field["value"]:
            shown += f"  ->  {field['normalized']}"
        where = f"p{field['page_no']}, " if field.get("page_no") else ""
        lines.append(f"  {field['name']:<22} {shown}  ({where}{field['confidence']:.2f})")
    lines += [f"  {name:<22} {len(indices)} rows (pagestream get ID --format csv)" for name, indices in rows.items()]
    return lines


def summary(result: dict[str, Any]) -> str:
    """A DocumentCompleted (decoded event or result.json) as a few readable lines."""
    name = result.get("filename") or "(no file name)"
    lines = [f"{name}  {result['doc_id']}  tenant {result['tenant']}"]
    status = result["status"]
    if result.get("validation_status"):
        status += f", validation {result['validation_status']}"
    lines.append(f"status: {status}, {result['page_count']} pages")
    if result.get("error_message") or result.get("error_code"):
        lines.append(f"reason: {result.get('error_code') or 'error'}: {result.get('error_message') or ''}".rstrip())
    if result.get("doc_type"):
        confidence = result.get("doc_type_confidence")
        model = result.get("classifier_version")
        lines.append(
            f"type: {result['doc_type']}"
            + (f" ({confidence:.2f})" if confidence is not None else "")
            + (f", model {model}" if model else "")
        )
    elif result["page_count"]:
        lines.append(f"type: none ({result.get('doc_type_reason') or 'no classifier decided'})")
    if result.get("fields"):
        lines += ["fields:", *_fields_lines(result["fields"])]
    for issue in result.get("issues") or []:
        found = [f"expected {issue['expected']}"] if issue.get("expected") is not None else []
        found += [f"found {issue['found']}"] if issue.get("found") is not None else []
        detail = f" ({', '.join(found)})" if found else ""
        lines.append(f"issue: [{issue['severity']}] {issue['rule']}: {issue['message']}{detail}")
    for page in result.get("pages") or []:
        if page["status"] != "OK":
            text = f"FAILED: {page.get('error_message') or 'no result'}"
        elif page.get("text") is None:
            text = "(text not inline: pagestream get ID)"
        else:
            text = repr(_first_line(page["text"])[:70])
        lines.append(f"  page {page['page_no']}: {page['word_count']} words, {page['mean_confidence']:.2f}  {text}")
    return "\n".join(lines)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    formats = ", ".join(OUT_SUFFIXES)
    get = sub.add_parser(
        "get",
        help="print or save a completed document's result file",
        description="Print a completed document's result file, or save it with --out. "
        "Example: pagestream get 3f2a... --format csv --out results/",
    )
    get.add_argument("doc_id", metavar="DOC_ID", help="the id 'submit' printed")
    get.add_argument(
        "--format",
        choices=list(OUT_SUFFIXES),
        default="md",
        help=f"md: document.md (text, tables as Markdown); json: result.json (the DocumentCompleted); "
        f"csv: fields.csv (extracted fields); chunks: chunks.jsonl (retrieval chunks); one of {formats} "
        "(default: md)",
    )
    get.add_argument("--out", metavar="DIR", default=None, help="write DIR/DOC_ID.<ext> instead of printing it")
    get.add_argument("--tenant", default=None, help="the document's tenant (default: whichever has it)")
    show = sub.add_parser(
        "show",
        help="a completed document's status, type, fields, issues and pages, readably",
        description="Summarise a completed document. Example: pagestream show 3f2a...",
    )
    show.add_argument("doc_id", metavar="DOC_ID", help="the id 'submit' printed")
    show.add_argument("--tenant", default=None, help="the document's tenant (default: whichever has it)")
    show.add_argument("--json", action="store_true", help="print result.json (the DocumentCompleted) instead")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pagestream.connectors.client import Client

    with Client(settings) as client:
        if args.command == "show":
            text = client.result(args.doc_id, "json", tenant=args.tenant)
            print(text if args.json else summary(json.loads(text)))
            return 0
        text = client.result(args.doc_id, args.format, tenant=args.tenant)
    if args.out is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return 0
    path = Path(args.out) / f"{args.doc_id}{OUT_SUFFIXES[args.format]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(path)
    return 0
