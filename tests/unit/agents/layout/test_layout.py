"""Layout on evaluation pages: tables with cells, key-value pairs, kinds, two-column reading order,
Markdown; the model's detections on real page images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pagestream.agents.layout.core.analysis import analyse_page, page_text
from pagestream.agents.layout.core.model import process_model
from pagestream.agents.layout.core.order import reading_order
from pagestream.connectors.markdown import page_markdown
from pagestream.streams.cli.eval.layout_score import f1_table, match_counts
from tests.conftest import EVALDATA, evaldata_doc


def page_of(gt: dict, index: int = 0) -> tuple[dict, np.ndarray]:
    page = gt["pages"][index]
    root = EVALDATA / "synthetic" if gt["doc_id"].startswith("syn-") else EVALDATA / "real" / "docbank"
    with Image.open(root / page["image"]) as im:
        return page, np.asarray(im.convert("L"))


def docbank(doc_id: str) -> dict:
    path = EVALDATA / "real" / "docbank" / "gt" / f"{doc_id}.json"
    if not path.is_file():
        pytest.skip(f"evaluation data not found at {path}")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def model():
    return process_model()


def test_invoice_table_has_rows_and_cells(model) -> None:
    _, gt = evaldata_doc("syn-0000-invoice")
    page, image = page_of(gt)
    regions = analyse_page(page["lines"], page["width"], page["height"], image, model.detect(image))
    (table,) = [r for r in regions if r.kind == "table"]
    truth = next(r for r in page["regions"] if r["type"] == "table")
    assert match_counts([("table", table.bbox)], [("table", truth["bbox"])])["table"]["tp"] == 1
    assert table.header_rows == 1
    header = [c["text"] for c in table.cells[0]]
    assert header[0] == "Description" and header[-1] == "Amount"
    body = table.cells[1:]
    assert len(body) == len(gt["fields"]["line_items"]) == 5
    assert [row[0]["text"] for row in body] == [i["description"] for i in gt["fields"]["line_items"]]
    assert body[0][-1]["text"] == "1,053.61"
    pairs = [p for r in regions if r.kind == "key_value" for p in r.pairs]
    assert {"key": "Invoice No.", "value": "F2021/60606"}.items() <= next(
        p for p in pairs if p["key"] == "Invoice No."
    ).items()
    assert any(p["key"] == "Total" and p["value"] == "£7,204.09" for p in pairs)


def test_ruled_expense_table_and_signature(model) -> None:
    _, gt = evaldata_doc("syn-0011-form")
    page, image = page_of(gt)
    regions = analyse_page(page["lines"], page["width"], page["height"], image, model.detect(image))
    tables = [r for r in regions if r.kind == "table"]
    assert tables and tables[0].source == "geometry"
    cells = tables[0].cells
    assert [c["text"] for c in cells[0]] == ["Date", "Category", "Description", "Amount (EUR)"]
    assert len(cells) == 1 + len(gt["fields"]["expense_items"]) + 1  # header, items, total row
    assert any(r.kind == "signature" for r in regions)


def test_unsigned_form_has_no_signature(model) -> None:
    _, gt = evaldata_doc("syn-0017-form")
    assert gt["rules"]["corruption"]["kind"] == "missing_signature"
    page, image = page_of(gt)
    regions = analyse_page(page["lines"], page["width"], page["height"], image, model.detect(image))
    assert not any(r.kind == "signature" for r in regions)


def test_two_column_docbank_page_reads_left_column_first(model) -> None:
    gt = docbank("docbank-1402.5330-p1")
    page, image = page_of(gt)
    regions = analyse_page(page["lines"], page["width"], page["height"], image, model.detect(image))
    text = page_text(regions)
    left_last = "and erfξ is the Gaussian error integral"
    right_first = "collision, followed by formation of a composite system"
    right_last = "In Figs.-1 & 2, the measured fusion excitation"
    assert text.index("III. THE FUSION CROSS SECTION") < text.index(left_last) < text.index(right_first)
    assert text.index(right_first) < text.index(right_last)
    assert [r.order for r in regions] == list(range(len(regions)))


def test_reading_order_of_columns_under_a_full_width_title() -> None:
    title = (100, 50, 1500, 120)
    left = [(100, 200, 780, 400), (100, 420, 780, 600)]
    right = [(820, 200, 1500, 400), (820, 420, 1500, 600)]  # paragraph gaps line up across columns
    boxes = [right[1], left[1], title, right[0], left[0]]
    order = [boxes[i] for i in reading_order(boxes, 1600)]
    assert order == [title, left[0], left[1], right[0], right[1]]


def test_model_finds_docbank_regions(model) -> None:
    gt = docbank("docbank-1402.5330-p1")
    page, image = page_of(gt)
    detections = model.detect(image)
    truth = [(r["type"], r["bbox"]) for r in page["regions"]]
    scores = f1_table(match_counts([(d.label, d.bbox) for d in detections], truth))
    assert scores["text"]["precision"] >= 0.5


def test_markdown_renders_reading_order_and_tables(model) -> None:
    _, gt = evaldata_doc("syn-0000-invoice")
    page, image = page_of(gt)
    regions = analyse_page(page["lines"], page["width"], page["height"], image, model.detect(image))
    md = page_markdown(regions)
    assert "| Description | Qty | Unit price | Amount |" in md
    assert "| Security audit |" in md and "| --- |" in md
    assert md.index("INVOICE") < md.index("| Description") < md.index("Payment details")
    assert "**Invoice No.:** F2021/60606" in md


def test_without_image_text_blocks_still_come_out() -> None:
    lines = [
        {"text": "A title", "bbox": [100, 50, 700, 110], "words": [{"text": "A", "bbox": [100, 50, 160, 110]},
                                                                  {"text": "title", "bbox": [180, 50, 700, 110]}]},
        {"text": "body text", "bbox": [100, 200, 400, 230], "words": [{"text": "body", "bbox": [100, 200, 200, 230]},
                                                                     {"text": "text", "bbox": [210, 200, 400, 230]}]},
        {"text": "more body", "bbox": [100, 235, 420, 265], "words": [{"text": "more", "bbox": [100, 235, 200, 265]},
                                                                     {"text": "body", "bbox": [210, 235, 420, 265]}]},
    ]  # fmt: skip
    regions = analyse_page(lines, 1000, 1400)
    assert [(r.kind, r.text) for r in regions] == [("title", "A title"), ("text", "body text\nmore body")]
    assert analyse_page([], 1000, 1400) == []
