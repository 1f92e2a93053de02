"""document.md: reading order, titles as headings, OCR text kept literal, missing pages named."""

from __future__ import annotations

from pagestream.connectors.results import render_markdown


def test_markdown_follows_reading_order_and_escapes_ocr_text() -> None:
    document = {
        "doc_id": "d1",
        "tenant": "acme",
        "filename": "invoice_1.pdf",
        "page_count": 3,
        "status": "PARTIAL",
        "pages": [
            {
                "page_no": 1,
                "regions": [
                    {"kind": "text", "order": 1, "text": "Total: 12 * 3\n# not a heading\n| a | b |"},
                    {"kind": "title", "order": 0, "text": "INVOICE\nNo. 7"},
                ],
            },
            {"page_no": 3, "regions": []},
        ],
    }
    assert render_markdown(document) == (
        "# invoice\\_1.pdf\n"
        "\n"
        "Document `d1` of tenant `acme`: 3 pages, status PARTIAL.\n"
        "\n"
        "## Page 1\n"
        "\n"
        "### INVOICE No. 7\n"
        "\n"
        "Total: 12 \\* 3\\\n"
        "\\# not a heading\\\n"
        "\\| a \\| b \\|\n"
        "\n"
        "## Page 2\n"
        "\n"
        "*No result for this page.*\n"
        "\n"
        "## Page 3\n"
        "\n"
        "*No text on this page.*\n"
    )
