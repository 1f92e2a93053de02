"""Document fidelity against reference Markdown (``pagestream eval fidelity DIR``).

Each ``NAME.pdf`` in DIR with a ``NAME.md`` beside it (or, given the evaldata root, each PDF of
its synthetic and invoice2data sets with its ground-truth lines as the reference) is converted
the way the pipeline does it, page by page and without Kafka (ingest's rendering and text
layer, OCR where the layer is not usable, layout, the Markdown writer), and every page's
PageOcr and PageLayout records are Avro encoded, so a page the pipeline would lose (a schema
error) is a failed document here too. The result is compared with the reference on what a
reader notices: words (recall and precision of the word multisets), headings, list items,
tables and their shapes, and reading order (Kendall's tau over the reference's paragraphs found
in the output). Docling's regression Markdown is the reference for its own test documents; it
is another tool's output, not human truth, so the figures say how close pagestream comes to
Docling, not how right either is.
"""

from __future__ import annotations

import io
import json
import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastavro import parse_schema, schemaless_writer

from pagestream.agents.common.records import lines_of, page_ocr_record
from pagestream.agents.ingest.core.document import inspect_file, limits_of, render_page
from pagestream.agents.layout.core.page import layout_png, layout_record
from pagestream.agents.ocr.core.reader import engine_spec, init_process, ocr_png
from pagestream.connectors.markdown import page_markdown
from pagestream.streams.cli.eval.measures import word_precision, word_recall, words_of
from pagestream.streams.codec import schema_json
from pagestream.streams.settings import Settings

_HEADING = re.compile(r"^#{1,6}\s+\S")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+\S")  # Markdown's list markers
_PAIR = re.compile(r"^\s*- \*\*[^*]+:\*\*")  # pagestream's key-value pairs: a bold-key list, not list items
_TABLE_RULE = re.compile(r"^\|?(?:\s*:?-+:?\s*\|)+(?:\s*:?-+:?\s*)?$")
_IMAGE = re.compile(r"<!--\s*image\s*-->")


@dataclass
class Structure:
    """What the comparison counts in one Markdown text."""

    headings: int = 0
    list_items: int = 0
    tables: list[str] = field(default_factory=list)  # shapes, rows x columns
    paragraphs: list[str] = field(default_factory=list)


def structure(markdown: str) -> Structure:
    """Headings, list items, tables (with their shapes) and plain paragraphs of a Markdown text."""
    found = Structure()
    blocks = re.split(r"\n\s*\n", _IMAGE.sub("", markdown))
    for block in blocks:
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        if len(lines) >= 2 and lines[0].lstrip().startswith("|") and _TABLE_RULE.match(lines[1].strip()):
            rows = [ln for ln in lines if ln.lstrip().startswith("|") and not _TABLE_RULE.match(ln.strip())]
            columns = max(len(ln.strip().strip("|").split("|")) for ln in rows)
            found.tables.append(f"{len(rows)}x{columns}")
            continue
        for line in lines:
            if _HEADING.match(line):
                found.headings += 1
            elif _LIST_ITEM.match(line) and not _PAIR.match(line):
                found.list_items += 1
        if not any(_HEADING.match(ln) or _LIST_ITEM.match(ln) for ln in lines):
            found.paragraphs.append(" ".join(lines))
    return found


def kendall_tau(positions: list[int]) -> float:
    """Kendall's tau between the reference's order (the list's order) and the positions found."""
    n = len(positions)
    if n < 2:
        return 1.0
    concordant = discordant = 0
    for i in range(n):
        for j in range(i + 1, n):
            if positions[i] < positions[j]:
                concordant += 1
            elif positions[i] > positions[j]:
                discordant += 1
    return (concordant - discordant) / (n * (n - 1) / 2)


def reading_order_tau(reference: list[str], output: str) -> float | None:
    """Tau over the reference paragraphs whose opening words occur once in the output."""
    flat = " ".join(w.lower() for w in re.findall(r"[^\W_]+", output))
    positions = []
    for paragraph in reference:
        opening = " ".join(w.lower() for w in re.findall(r"[^\W_]+", paragraph)[:6])
        if len(opening.split()) >= 4 and flat.count(opening) == 1:
            positions.append(flat.index(opening))
    return round(kendall_tau(positions), 3) if len(positions) >= 2 else None


def control_characters(text: str) -> int:
    """Characters no reader wants in a result: controls other than newline and tab, lone surrogates."""
    return sum(1 for c in text if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cs"))


def _encode(schema: Any, record: dict) -> None:
    schemaless_writer(io.BytesIO(), schema, record)


def convert(pdf: Path, settings: Settings) -> tuple[str, list[dict]]:
    """A PDF's Markdown as the pipeline writes it, and per page how it was read (or why it failed)."""
    limits = limits_of(settings)
    facts = inspect_file(pdf, limits)
    ocr_schema, layout_schema = parse_schema(schema_json("PageOcr")), parse_schema(schema_json("PageLayout"))
    pages, markdown = [], []
    for index in range(facts.page_count):
        rendered = render_page(pdf, facts.kind, index, limits)
        if rendered.text_layer is not None and rendered.text_layer.usable:
            result, source = rendered.text_layer.as_page(rendered.width, rendered.height), "TEXT_LAYER"
        else:
            result, source = ocr_png(rendered.png), "OCR"
        lines = lines_of(result)
        page = {
            "doc_id": pdf.stem,
            "tenant": "eval",
            "page_no": index + 1,
            "page_count": facts.page_count,
            "image_uri": "",
            "width": rendered.width,
            "height": rendered.height,
        }
        ocr = page_ocr_record(page, result, source, lines, None)
        info = {"page": index + 1, "source": source, "orientation": result.orientation, "error": None}
        try:
            _encode(ocr_schema, ocr)
            size = (result.width or rendered.width, result.height or rendered.height)
            regions = layout_png(rendered.png, lines, *size, result.orientation)
            _encode(layout_schema, layout_record(ocr | {"status": "OK"}, regions, None))
        except (ValueError, TypeError) as exc:  # what the Avro codec reports as a schema error
            info["error"] = f"{type(exc).__name__}: {exc}"
            regions = []
        pages.append(info)
        markdown.append(page_markdown(regions))
    return "\n---\n\n".join(markdown), pages


def compare(output: str, reference: str) -> dict[str, Any]:
    """The measures of one document's Markdown against its reference."""
    ours, theirs = structure(output), structure(reference)
    return {
        "word_recall": round(word_recall(output, reference), 3),
        "word_precision": round(word_precision(output, reference), 3),
        "words": sum(words_of(reference).values()),
        "headings": [ours.headings, theirs.headings],
        "list_items": [ours.list_items, theirs.list_items],
        "tables": [ours.tables, theirs.tables],
        "tau": reading_order_tau(theirs.paragraphs, output),
        "control_chars": control_characters(output),
    }


def references(data: Path) -> Iterator[tuple[Path, str]]:
    """(PDF, reference Markdown) pairs: ``NAME.md`` beside ``NAME.pdf``, or in the evaldata root
    the ground truth's lines (words and their order; evaldata labels no Markdown structure)."""
    for base, pattern in ((data / "synthetic", "*/gt.json"), (data / "real" / "invoice2data", "gt/*.json")):
        for gt_path in sorted(base.glob(pattern)):
            gt = json.loads(gt_path.read_text())  # its paths are relative to its dataset's folder
            if (base / gt["pdf"]).is_file():
                yield base / gt["pdf"], "\n\n".join("\n".join(ln["text"] for ln in p["lines"]) for p in gt["pages"])
    for pdf in sorted(data.glob("*.pdf")):
        if pdf.with_suffix(".md").is_file():
            yield pdf, pdf.with_suffix(".md").read_text()


def evaluate_fidelity(data: Path, settings: Settings, out: Path | None = None) -> list[dict[str, Any]]:
    """Every PDF of ``data`` with a reference, converted and compared."""
    init_process(engine_spec(settings))  # OCR runs in this process: one page at a time
    results = []
    for pdf, reference in references(data):
        started = time.perf_counter()
        markdown, pages = convert(pdf, settings)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{pdf.stem}.md").write_text(markdown)
        failed = [p for p in pages if p["error"]]
        if failed:
            markdown = ""  # the pipeline loses a document with a page it cannot encode
        results.append(
            {"document": pdf.stem, "status": "FAILED" if failed else "OK", "pages": pages}
            | compare(markdown, reference)
            | {"seconds": round(time.perf_counter() - started, 1)}
        )
    return results


def table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (ours / reference where both are counted)."""
    lines = [
        "| document | status | recall | precision | headings | list items | tables (shapes) | τ | orientation |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ours, theirs = r["tables"]
        shapes = f"{len(ours)} / {len(theirs)}"
        if ours or theirs:
            shapes += f" ({', '.join(ours)} / {', '.join(theirs)})"
        turns = ",".join(str(p["orientation"]) for p in r["pages"] if p["source"] == "OCR") or "-"
        lines.append(
            f"| {r['document']} | {r['status']} | {r['word_recall']} | {r['word_precision']} | "
            f"{r['headings'][0]} / {r['headings'][1]} | {r['list_items'][0]} / {r['list_items'][1]} | {shapes} | "
            f"{'-' if r['tau'] is None else r['tau']} | {turns} |"
        )
    return "\n".join(lines)
