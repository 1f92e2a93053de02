"""Headings in body type, found by position: a short line set apart directly above the paragraph
it heads; a paragraph's last line, a closing sentence or a label stays what it was."""

from __future__ import annotations

from pagestream.agents.layout.core.analysis import analyse_page
from pagestream.connectors.markdown import heading_level, page_markdown
from tests.unit.agents.layout.test_lists import HEIGHT, WIDTH, page


def kinds(lines: list[dict]) -> list[tuple[str, str]]:
    return [(r.kind, r.text.split("\n")[0]) for r in analyse_page(lines, WIDTH, HEIGHT)]


PARAGRAPH = [
    (100, "The term word processor first emerged in the 1960s and referred to any system"),
    (100, "designed to streamline written communication and document production."),
]


def test_a_short_line_above_its_paragraph_is_a_heading() -> None:
    lines = page([(100, "The Birth of Word Processing (1960s - 1970s)")]) + page(PARAGRAPH, top=360)
    assert kinds(lines) == [
        ("heading", "The Birth of Word Processing (1960s - 1970s)"),
        ("text", PARAGRAPH[0][1]),
    ]


def test_lines_that_are_no_headings_stay_text() -> None:
    # closing punctuation, a label, too far from the paragraph, indented, or as wide as the text
    for first, top in (
        ("Thank you for your business.", 360),
        ("Payment terms:", 360),
        ("The Birth of Word Processing", 500),
        ("The Birth of Word Processing", 360),
        ("The Birth of Word Processing and of the Personal Computer in the Office", 360),
    ):
        x = 300 if top == 360 and first == "The Birth of Word Processing" else 100
        lines = page([(x, first)]) + page(PARAGRAPH, top=top)
        assert kinds(lines)[0] == ("text", first), first


def test_a_paragraphs_last_line_is_no_heading() -> None:
    lines = page([*PARAGRAPH, (100, "Across Many Offices")]) + page(PARAGRAPH, top=440)
    assert [k for k, _ in kinds(lines)] == ["text", "text"]


def test_numbered_sections_take_their_level_from_the_number() -> None:
    assert [heading_level("title", "1.1 Security fundamentals"), heading_level("heading", "1.2 Current state")] == [
        3,
        3,
    ]
    assert heading_level("heading", "2 Row permissions") == 2 and heading_level("heading", "3.1.4 Masks") == 4
    assert heading_level("title", "INVOICE") == 1 and heading_level("heading", "Notes") == 2
    assert heading_level("heading", "2024 Annual Report") == 2 and heading_level("text", "1.1 x") is None
    regions = [{"kind": "heading", "text": "1.1 Security fundamentals", "order": 0}]
    assert page_markdown(regions) == "### 1.1 Security fundamentals\n"
