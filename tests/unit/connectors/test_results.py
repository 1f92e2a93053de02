"""Result files: document.md (pages in order, regions through connectors.markdown, pages without a
result named), fields.csv, result.json, and finding them by document."""

from __future__ import annotations

import datetime as dt
import json

from pagestream.connectors.objectstore import StoredObject, parse_uri
from pagestream.connectors.results import download_urls, fields_csv, find_result, render_markdown, store_completed


def test_markdown_has_every_page_in_reading_order_with_tables() -> None:
    cells = [[{"text": "Item", "bbox": [0, 0, 1, 1]}, {"text": "Amount", "bbox": [0, 0, 1, 1]}],
             [{"text": "Paper | A4", "bbox": [0, 0, 1, 1]}, {"text": "12.50", "bbox": [0, 0, 1, 1]}]]  # fmt: skip
    document = {
        "doc_id": "d1",
        "tenant": "acme",
        "page_count": 3,
        "status": "PARTIAL",
        "pages": [
            {
                "page_no": 1,
                "regions": [
                    {"kind": "table", "order": 1, "text": "", "cells": cells, "header_rows": 1},
                    {"kind": "title", "order": 0, "text": "INVOICE"},
                ],
            },
            {"page_no": 3, "regions": []},
        ],
    }
    assert render_markdown(document) == (
        "<!-- pagestream document d1, tenant acme, 3 pages, status PARTIAL -->\n"
        "# INVOICE\n\n| Item | Amount |\n| --- | --- |\n| Paper \\| A4 | 12.50 |\n"
        "\n---\n\n"
        "*Page 2: no result.*\n"
        "\n---\n\n"
        "\n"
    )


def test_fields_csv_has_one_row_per_field() -> None:
    fields = [
        {"name": "total", "value": "1.234,50 EUR", "normalized": "1234.50", "confidence": 0.91234, "page_no": 1,
         "bbox": [10, 20, 30, 40]},
        {"name": "line_items[0].description", "value": 'Paper, "A4"', "normalized": None, "confidence": 0.5,
         "page_no": None, "bbox": None},
    ]  # fmt: skip
    assert fields_csv(fields).splitlines() == [
        "name,value,normalized,confidence,page_no,bbox",
        'total,"1.234,50 EUR",1234.50,0.912,1,10 20 30 40',
        'line_items[0].description,"Paper, ""A4""",,0.500,,',
    ]


class MemoryStore:
    """The object store's interface over a dict (keys without the bucket)."""

    bucket = "pagestream"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes, content_type: str = "") -> StoredObject:
        self.objects[key] = data
        return StoredObject(f"s3://{self.bucket}/{key}", "sha", len(data))

    def get(self, uri: str) -> bytes:
        return self.objects[parse_uri(uri)[1]]

    def size(self, key: str) -> int | None:
        return len(self.objects[key]) if key in self.objects else None

    def folders(self) -> list[str]:
        return sorted({key.split("/", 1)[0] for key in self.objects})

    def keys(self, prefix: str) -> list[str]:
        return sorted(key for key in self.objects if key.startswith(prefix + "/"))

    def presigned_url(self, key: str, expires: dt.timedelta) -> str:
        return f"http://store/{key}?expires={int(expires.total_seconds())}"


COMPLETED = {
    "doc_id": "d1",
    "tenant": "acme",
    "status": "OK",
    "page_count": 1,
    "pages": [],
    "fields": [{"name": "total", "value": "12.50", "normalized": "12.50", "confidence": 0.9, "page_no": 1,
                "bbox": [1, 2, 3, 4]}],
    "submitted_at": 1_767_225_600_000,
    "completed_at": 1_767_225_601_500,
}  # fmt: skip


def test_validation_writes_result_json_with_iso_times_fields_csv_and_chunks_jsonl() -> None:
    store = MemoryStore()
    chunks = [{"chunk_no": 0, "text": "# Invoice"}, {"chunk_no": 1, "text": "| a | b |"}]
    store_completed(store, COMPLETED, chunks)
    assert [json.loads(line) for line in store.objects["acme/d1/chunks.jsonl"].decode().splitlines()] == chunks
    result = json.loads(store.objects["acme/d1/result.json"])
    assert result["completed_at"] == "2026-01-01T00:00:01.500000Z" and result["submitted_at"] == "2026-01-01T00:00:00Z"
    assert result["fields"] == COMPLETED["fields"]
    assert store.objects["acme/d1/fields.csv"].decode().splitlines()[1] == "total,12.50,12.50,0.900,1,1 2 3 4"
    store_completed(store, {**COMPLETED, "doc_id": "d2", "fields": None}, [])
    assert "acme/d2/result.json" in store.objects and "acme/d2/fields.csv" not in store.objects


def test_a_result_is_found_under_its_tenant_or_any_tenant() -> None:
    store = MemoryStore()
    store.put("zeta/d1/result.json", b"{}")
    store.put("acme/d2/document.md", b"# x")
    assert find_result(store, "d1", "result.json") == "zeta/d1/result.json"
    assert find_result(store, "d1", "result.json", "zeta") == "zeta/d1/result.json"
    assert find_result(store, "d1", "result.json", "acme") is None  # another tenant's
    assert find_result(store, "d2", "result.json") is None  # not completed yet
    urls = download_urls(store, "zeta", "d1", dt.timedelta(seconds=60))
    assert urls["files"] == {"result.json": "http://store/zeta/d1/result.json?expires=60"}
