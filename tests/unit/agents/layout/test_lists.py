"""List items: bullets, enumerators and nesting as ``list_item`` regions with their level, and
their Markdown; what only looks like a list stays text."""

from __future__ import annotations

from pagestream.agents.layout.core.analysis import analyse_page
from pagestream.connectors.markdown import list_item_markdown, page_markdown

WIDTH, HEIGHT = 1200, 1600
SIZE = 20  # type size in pixels; lines 30 pixels apart


def page(lines: list[tuple[int, str]], top: int = 300) -> list[dict]:
    """OCR lines from (indent, text), one word box per word, 10 pixels per character."""
    out = []
    for n, (x, text) in enumerate(lines):
        y, words = top + 30 * n, []
        for word in text.split():
            words.append({"text": word, "bbox": [x, y, x + 10 * len(word), y + SIZE]})
            x += 10 * len(word) + 10
        out.append({"text": text, "bbox": [words[0]["bbox"][0], y, x - 10, y + SIZE], "words": words})
    return out


def kinds_and_texts(lines: list[dict]) -> list[tuple[str, str]]:
    return [(r.kind, r.text) for r in analyse_page(lines, WIDTH, HEIGHT)]


def test_bullets_with_wrapped_lines_become_one_item_each_after_the_text_before_them() -> None:
    lines = page(
        [
            (100, "Some tools were made for writers in particular and are listed here:"),
            (100, "• Scrivener: long projects, from novels to screenplays, with"),
            (120, "chapter outlines and character notes."),
            (100, "• Final Draft: scripts for film and television."),
        ]
    )
    assert kinds_and_texts(lines) == [
        ("text", "Some tools were made for writers in particular and are listed here:"),
        (
            "list_item",
            "• Scrivener: long projects, from novels to screenplays, with\nchapter outlines and character notes.",
        ),
        ("list_item", "• Final Draft: scripts for film and television."),
    ]


def test_nested_items_carry_their_level_and_render_as_a_nested_markdown_list() -> None:
    lines = page(
        [
            (100, "1. Undo and redo made experimenting cheap."),
            (140, "a) first in the editors of the 1980s"),
            (140, "b) later in every word processor"),
            (100, "2. Spell check found errors automatically."),
        ]
    )
    regions = analyse_page(lines, WIDTH, HEIGHT)
    assert [r.kind for r in regions] == ["list_item"] * 4
    assert [r.text for r in regions][1] == "  a) first in the editors of the 1980s"
    assert page_markdown(regions) == (
        "1. Undo and redo made experimenting cheap.\n"
        "    - a) first in the editors of the 1980s\n"
        "    - b) later in every word processor\n"
        "2. Spell check found errors automatically.\n"
    )


def test_what_only_looks_like_a_list_stays_text() -> None:
    # One line that starts with a dash (a wrapped sentence) or one enumerator is no list.
    dash = page([(100, "The machines were slow and loud"), (100, "- but they were reliable and cheap.")])
    assert [k for k, _ in kinds_and_texts(dash)] == ["text"]
    number = page([(100, "1. The parties agree on the terms below.")])
    assert [k for k, _ in kinds_and_texts(number)] != ["list_item"]
    amounts = page([(100, "Totals by year were:"), (100, "10. 000 units in 1990"), (100, "12. 500 units in 1991")])
    assert "list_item" not in [k for k, _ in kinds_and_texts(amounts)]


def test_list_item_markdown() -> None:
    assert list_item_markdown("• Word") == "- Word"
    assert list_item_markdown("- Word\nwrapped") == "- Word wrapped"
    assert list_item_markdown("3) Third") == "3. Third"
    assert list_item_markdown("    ◦ Deep") == "        - Deep"
    assert list_item_markdown("(iv) Roman") == "- (iv) Roman"
