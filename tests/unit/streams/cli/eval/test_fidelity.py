"""``pagestream eval fidelity``: Markdown structure counted, order measured, a made PDF converted."""

from __future__ import annotations

from pathlib import Path

from pagestream.streams.cli.eval.fidelity import compare, evaluate_fidelity, kendall_tau, structure
from pagestream.streams.settings import Settings
from tests.unit.agents.ingest.test_textlayer import _pdf_with_text

REFERENCE = """## Heading one

First paragraph with enough words to be found again.

- an item
- another item
  1. nested numbered

| a | b |
| - | - |
| 1 | 2 |
| 3 | 4 |

<!-- image -->

Second paragraph that also has enough words in it.
"""


def test_structure_counts_headings_list_items_and_table_shapes() -> None:
    found = structure(REFERENCE)
    assert (found.headings, found.list_items, found.tables) == (1, 3, ["3x2"])
    assert len(found.paragraphs) == 2


def test_key_value_pairs_are_not_list_items() -> None:
    assert structure("- **Invoice No.:** 123\n- **Date:** 1 May\n- a real item\n1. another").list_items == 2


def test_reading_order_and_control_characters_are_measured() -> None:
    assert kendall_tau([1, 2, 3]) == 1.0 and kendall_tau([3, 2, 1]) == -1.0
    swapped = "Second paragraph that also has enough words in it.\n\nFirst paragraph with enough words to be found."
    result = compare(swapped + "\x02", REFERENCE)
    assert result["tau"] == -1.0 and result["control_chars"] == 1
    assert result["headings"] == [0, 1] and result["tables"] == [[], ["3x2"]]


def test_a_pdf_is_converted_and_compared_with_its_reference(tmp_path: Path) -> None:
    _pdf_with_text(tmp_path / "doc.pdf", ["Invoice number 4711", "Total due 1234.50 EUR"])
    (tmp_path / "doc.md").write_text("Invoice number 4711\n\nTotal due 1234.50 EUR\n")
    (result,) = evaluate_fidelity(tmp_path, Settings(), tmp_path / "out")
    assert result["status"] == "OK" and result["word_recall"] == 1.0
    assert result["pages"][0]["source"] == "TEXT_LAYER" and (tmp_path / "out" / "doc.md").is_file()
