"""Result files of a document in the object store, beside its page images, and their download URLs.

Under ``<tenant>/<doc_id>/``: ``document.json`` (every page with lines, words, boxes and regions)
``document.md`` (the text in reading order, tables as Markdown tables), both written by assembly;
``result.json`` (the DocumentCompleted: status, type, fields, issues, pages), ``fields.csv``
(the extracted fields) and ``chunks.jsonl`` (retrieval chunks, ``connectors.chunks``), written by
validation before it announces the result, so whoever hears of a completed document finds its
files. Downloads go through presigned URLs that expire, so
readers need no object-store credentials.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any

from pagestream.connectors.markdown import page_markdown
from pagestream.connectors.objectstore import ObjectStore, StoredObject, document_prefix
from pagestream.streams.codec import to_json

# The result files a reader can ask for by format (`pagestream get --format`, Client.result).
RESULT_FILES = {"md": "document.md", "json": "result.json", "csv": "fields.csv", "chunks": "chunks.jsonl"}


def render_markdown(document: dict[str, Any]) -> str:
    """``document.md``: every page's regions in reading order (tables as Markdown tables, through
    ``connectors.markdown``), pages separated by rules; a page without a result says so."""
    pages = {p["page_no"]: p for p in document["pages"]}
    parts = [
        f"<!-- pagestream document {document.get('doc_id')}, tenant {document.get('tenant')}, "
        f"{document['page_count']} pages, status {document['status']} -->\n"
    ]
    for page_no in range(1, document["page_count"] + 1):
        page = pages.get(page_no)
        parts.append(page_markdown(page.get("regions") or []) if page else f"*Page {page_no}: no result.*\n")
    return parts[0] + "\n---\n\n".join(parts[1:])


def store_results(store: ObjectStore, prefix: str, document: dict[str, Any]) -> StoredObject:
    """Write ``document.json`` and ``document.md`` under ``prefix``; returns ``document.json``'s reference."""
    stored = store.put(f"{prefix}/document.json", json.dumps(document).encode(), "application/json")
    store.put(f"{prefix}/document.md", render_markdown(document).encode(), "text/markdown; charset=utf-8")
    return stored


FIELD_COLUMNS = ("name", "value", "normalized", "confidence", "page_no", "bbox")


def fields_csv(fields: list[dict[str, Any]]) -> str:
    """``fields.csv``: one extracted field per row (list fields flattened as name[i].column)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELD_COLUMNS)
    for field in fields:
        bbox = " ".join(map(str, field.get("bbox") or []))
        confidence = f"{field['confidence']:.3f}"
        writer.writerow([field["name"], field["value"], field.get("normalized") or "", confidence,
                         field.get("page_no") or "", bbox])  # fmt: skip
    return out.getvalue()


def completed_json(completed: dict[str, Any]) -> str:
    """A DocumentCompleted record as ``result.json``: times as ISO 8601, as ``submit --json`` prints them."""
    times = {
        name: dt.datetime.fromtimestamp(completed[name] / 1000, dt.UTC)
        for name in ("submitted_at", "completed_at")
        if isinstance(completed.get(name), int)
    }
    return to_json({**completed, **times})


def store_completed(store: ObjectStore, completed: dict[str, Any], chunks: list[dict[str, Any]]) -> None:
    """Write ``chunks.jsonl`` (one DocumentChunk per line), ``result.json`` and, when it has
    fields, ``fields.csv`` beside ``document.json``."""
    prefix = document_prefix(completed["tenant"], completed["doc_id"])
    lines = "".join(json.dumps(chunk, ensure_ascii=False) + "\n" for chunk in chunks)
    store.put(f"{prefix}/chunks.jsonl", lines.encode(), "application/jsonl; charset=utf-8")
    if completed.get("fields"):
        store.put(f"{prefix}/fields.csv", fields_csv(completed["fields"]).encode(), "text/csv; charset=utf-8")
    store.put(f"{prefix}/result.json", completed_json(completed).encode(), "application/json")


def find_result(store: ObjectStore, doc_id: str, name: str, tenant: str | None = None) -> str | None:
    """The key of result file ``name`` of ``doc_id`` under ``tenant``, or, without one (a caller
    trusted with every tenant), under whichever tenant has it; None when there is none."""
    for owner in [tenant] if tenant else store.folders():
        key = f"{document_prefix(owner, doc_id)}/{name}"
        if store.size(key) is not None:
            return key
    return None


def download_urls(store: ObjectStore, tenant: str, doc_id: str, expires: dt.timedelta) -> dict[str, Any]:
    """Presigned URLs of a document's result files and page images (those that exist)."""
    prefix = document_prefix(tenant, doc_id)
    files: dict[str, str] = {}
    pages: list[dict[str, Any]] = []
    for key in store.keys(prefix):
        name = key.removeprefix(prefix + "/")
        if name in ("document.json", *RESULT_FILES.values()):
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
