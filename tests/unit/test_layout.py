from pagestream.agents.layout import LineIn, layout_regions, page_text


def test_lines_group_into_blocks_in_reading_order() -> None:
    lines = [
        LineIn("ACME Corporation", (100, 50, 700, 110)),  # large type: title
        LineIn("Invoice 4711", (100, 200, 400, 230)),
        LineIn("Date 2024-01-02", (100, 235, 420, 265)),
        LineIn("Total 12.50", (100, 500, 380, 530)),
    ]
    regions = layout_regions(lines)
    assert [(r.kind, r.order) for r in regions] == [("title", 0), ("text", 1), ("text", 2)]
    assert regions[1].text == "Invoice 4711\nDate 2024-01-02"
    assert regions[1].bbox == (100, 200, 420, 265)
    assert page_text(regions) == "ACME Corporation\n\nInvoice 4711\nDate 2024-01-02\n\nTotal 12.50"


def test_side_by_side_columns_are_separate_blocks() -> None:
    lines = [LineIn("left column", (50, 100, 400, 130)), LineIn("right column", (700, 135, 1000, 165))]
    assert len(layout_regions(lines)) == 2


def test_empty_page() -> None:
    assert layout_regions([LineIn("  ", (0, 0, 1, 1))]) == []
