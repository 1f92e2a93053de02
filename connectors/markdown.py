"""Markdown of a page or document: regions in reading order, tables as Markdown tables.

Callers (document.md writers, the bridge) pass the regions of a page result; only kind, text,
cells and pairs are read, so both Region objects and their stored dict form work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# A list item's own marker: a bullet glyph or dash (dropped for Markdown's "-"), a number (kept,
# Markdown numbers lists), or a letter or roman numeral (kept after a "-": Markdown has no such lists).
_GLYPH = re.compile(r"^(?:[•·▪◦‣●○■□➢►▸✓]|[-\u2013*](?=\s))\s*")
_NUMBER = re.compile(r"^\(?(\d{1,3})[.)]\s+")
_SECTION_NUMBER = re.compile(r"^\d{1,2}((?:\.\d{1,2}){0,4})\.?\s+\S")


def heading_level(kind: str | None, text: str) -> int | None:
    """One level scheme for titles and headings: a numbered section takes its level from its
    number (``1`` → 2, ``1.1`` → 3, ``1.1.1`` → 4, at most 6), whatever its type size made it; an
    unnumbered title is 1 and an unnumbered heading 2. None for other kinds."""
    if kind not in ("title", "heading"):
        return None
    number = _SECTION_NUMBER.match(text.strip())
    if number:
        return min(6, 2 + number.group(1).count("."))
    return 1 if kind == "title" else 2


def _get(region: Any, name: str) -> Any:
    return region.get(name) if isinstance(region, dict) else getattr(region, name, None)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def table_markdown(cells: list[list[dict]], header_rows: int | None) -> str:
    """A Markdown table; without a header row the first row still heads it (Markdown needs one)."""
    if not cells:
        return ""
    width = max(len(row) for row in cells)
    rows = [[_escape(c["text"]) for c in row] + [""] * (width - len(row)) for row in cells]
    lines = ["| " + " | ".join(rows[0]) + " |", "| " + " | ".join(["---"] * width) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def list_item_markdown(text: str) -> str:
    """A list item (its level carried as two spaces of indent per level below the first, see
    agents/layout) as one Markdown list line, nested items indented four spaces per level."""
    body = text.lstrip(" ")
    level = (len(text) - len(body)) // 2
    body = " ".join(line.strip() for line in body.splitlines() if line.strip())
    number = _NUMBER.match(body)
    line = f"{number.group(1)}. {body[number.end() :]}" if number else f"- {_GLYPH.sub('', body, count=1)}"
    return "    " * level + line


def page_markdown(regions: Iterable[Any]) -> str:
    """One page as Markdown, regions in their reading order; consecutive list items form one list."""
    blocks: list[str] = []
    previous = None
    for region in sorted(regions, key=lambda r: _get(r, "order")):
        kind, raw = _get(region, "kind"), _get(region, "text") or ""
        text = raw.strip()
        if kind == "list_item" and text:
            if previous == "list_item":
                blocks[-1] += "\n" + list_item_markdown(raw)
            else:
                blocks.append(list_item_markdown(raw))
            previous = kind
            continue
        if kind not in ("header", "footer"):
            previous = kind
        if kind == "table" and _get(region, "cells"):
            blocks.append(table_markdown(_get(region, "cells"), _get(region, "header_rows")))
        elif kind == "key_value" and _get(region, "pairs"):
            blocks.append("\n".join(f"- **{_escape(p['key'])}:** {_escape(p['value'])}" for p in _get(region, "pairs")))
        elif kind in ("title", "heading") and text:
            blocks.append(f"{'#' * (heading_level(kind, text) or 2)} {_escape(text)}")
        elif kind == "list" and text:
            blocks.append("\n".join(f"- {line.lstrip('-•·*▪ ').strip()}" for line in text.splitlines()))
        elif kind in ("figure", "photo", "logo", "signature"):
            blocks.append(f"*[{kind}]*")
        elif kind in ("header", "footer"):
            continue  # running heads repeat on every page
        elif text:
            blocks.append(text)
    return "\n\n".join(blocks) + "\n"


def document_markdown(pages: Iterable[dict]) -> str:
    """A document's pages (stored page results with regions), separated by rules."""
    return "\n---\n\n".join(page_markdown(p.get("regions") or []) for p in pages)
