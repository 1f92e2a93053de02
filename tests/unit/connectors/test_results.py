"""document.md: pages in order, regions through connectors.markdown, pages without a result named."""

from __future__ import annotations

from pagestream.connectors.results import fields_csv, render_markdown


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
