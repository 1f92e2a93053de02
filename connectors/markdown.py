"""Markdown of a page or document: regions in reading order, tables as Markdown tables.

Callers (document.md writers, the bridge) pass the regions of a page result; only kind, text,
cells and pairs are read, so both Region objects and their stored dict form work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


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


def page_markdown(regions: Iterable[Any]) -> str:
    """One page as Markdown, regions in their reading order."""
    blocks: list[str] = []
    for region in sorted(regions, key=lambda r: _get(r, "order")):
        kind, text = _get(region, "kind"), (_get(region, "text") or "").strip()
        if kind == "table" and _get(region, "cells"):
            blocks.append(table_markdown(_get(region, "cells"), _get(region, "header_rows")))
        elif kind == "key_value" and _get(region, "pairs"):
            blocks.append("\n".join(f"- **{_escape(p['key'])}:** {_escape(p['value'])}" for p in _get(region, "pairs")))
        elif kind == "title" and text:
            blocks.append(f"# {_escape(text)}")
        elif kind == "heading" and text:
            blocks.append(f"## {_escape(text)}")
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
