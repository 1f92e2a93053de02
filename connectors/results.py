"""Result files of a document in the object store, beside its page images, and their download URLs.

Under ``<tenant>/<doc_id>/``: ``document.json`` (every page with lines, words, boxes and regions)
and ``document.md`` (the text in reading order, one section per page, titles as headings).
``fields.csv`` joins them once field extraction exists. Downloads go through presigned URLs
that expire, so readers need no object-store credentials.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from pagestream.connectors.objectstore import ObjectStore, StoredObject, document_prefix

_INLINE = re.compile(r"([\\`*_\[\]<|])")
_BLOCK_START = re.compile(r"^(\s*)([#>+-]|\d+[.)])")


def _escape(line: str) -> str:
    """OCR text as literal Markdown: no accidental emphasis, links, tables, headings or lists."""
    return _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), _INLINE.sub(r"\\\1", line.strip()))


def _lines(text: str) -> list[str]:
    return [_escape(line) for line in text.splitlines() if line.strip()]


def render_markdown(document: dict[str, Any]) -> str:
    """``document.md``: a title, a summary line, then each page's regions in reading order."""
    name = document.get("filename") or document.get("doc_id") or "document"
    out = [
        f"# {_escape(name)}",
        "",
        f"Document `{document.get('doc_id')}` of tenant `{document.get('tenant')}`: "
        f"{document['page_count']} pages, status {document['status']}.",
    ]
    pages = {p["page_no"]: p for p in document["pages"]}
    for page_no in range(1, document["page_count"] + 1):
        out += ["", f"## Page {page_no}", ""]
        page = pages.get(page_no)
        if page is None:
            out.append("*No result for this page.*")
            continue
        blocks = []
        for region in sorted(page.get("regions", []), key=lambda r: r["order"]):
            lines = _lines(region["text"])
            if lines:  # a title is one heading; other regions keep their line breaks (backslash)
                blocks.append("### " + " ".join(lines) if region["kind"] == "title" else "\\\n".join(lines))
        out.append("\n\n".join(blocks) if blocks else "*No text on this page.*")
    return "\n".join(out) + "\n"


def store_results(store: ObjectStore, prefix: str, document: dict[str, Any]) -> StoredObject:
    """Write ``document.json`` and ``document.md`` under ``prefix``; returns ``document.json``'s reference."""
    stored = store.put(f"{prefix}/document.json", json.dumps(document).encode(), "application/json")
    store.put(f"{prefix}/document.md", render_markdown(document).encode(), "text/markdown; charset=utf-8")
    return stored


def download_urls(store: ObjectStore, tenant: str, doc_id: str, expires: dt.timedelta) -> dict[str, Any]:
    """Presigned URLs of a document's result files and page images (those that exist)."""
    prefix = document_prefix(tenant, doc_id)
    files: dict[str, str] = {}
    pages: list[dict[str, Any]] = []
    for key in store.keys(prefix):
        name = key.removeprefix(prefix + "/")
        if name in ("document.json", "document.md"):
            files[name] = store.presigned_url(key, expires)
        elif match := re.fullmatch(r"pages/(\d+)\.png", name):
            pages.append({"page_no": int(match.group(1)), "url": store.presigned_url(key, expires)})
    return {
        "doc_id": doc_id,
        "tenant": tenant,
        "expires_at": (dt.datetime.now(dt.UTC) + expires).isoformat().replace("+00:00", "Z"),
        "files": files,
        "pages": pages,
    }
