"""Layout analysis of one page: OCR words and the page image in, regions in reading order out.

Geometry and the layout model each do what they measure better at (docs/layout.md):
- geometry: tables with rows and cells (ruling lines, text alignment), key-value pairs, text
  blocks from OCR lines, list items with their level (in the model's paragraphs too), MRZ lines,
  titles and headings by type size, numbering and position, figures, photos, logos and
  signatures as ink outside the text;
- the model (``layout_cdla.onnx``): paragraphs (it merges the lines of one paragraph across
  wide spacing), equations, references, captions and figures; a table box of the model where
  geometry found none (or only pieces) becomes a table whose cells come from alignment.
Which model labels are used is plain data (``MODEL_KINDS``), chosen by measurement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from statistics import median

import cv2
import numpy as np

from pagestream.agents.common.geometry import (
    Box,
    Row,
    Word,
    area,
    covered,
    reading_text,
    rows_of,
    union,
    words_of,
    x_overlap,
)
from pagestream.agents.layout.core.model import Detection
from pagestream.agents.layout.core.order import reading_order
from pagestream.agents.layout.core.tables import (
    PairsFound,
    TableFound,
    aligned_tables,
    column_ranges,
    grid_tables,
    key_values,
    row_cells,
    ruling_lines,
    stacked_pairs,
)

GEOMETRY_VERSION = "geometry/2"

# Model label -> region kind, for the labels whose regions are used (see docs/layout.md).
MODEL_KINDS: dict[str, str] = {
    "text": "text",
    "figure": "figure",
    "figure_caption": "caption",
    "table_caption": "caption",
    "equation": "equation",
    "reference": "reference",
    "table": "table",
}

_GAP_FACTOR = 0.9  # a vertical gap above this many line heights starts a new block
_TITLE_FACTOR = 1.4  # a block whose lines are this much taller than usual is a title
_HEADING_FACTOR = 1.15
_MARGIN = 0.06  # share of the page height where running headers and footers live
_MRZ = re.compile(r"^[A-Z0-9<]{28,46}$")
_BULLET = re.compile(r"^(?:[-•·*▪◦‣]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s")
# List markers at the start of a line: a bullet glyph (a dash or star only before a space), or an
# enumerator (1. 1) (1) a. a) (a) iv.) before a space and a word, not a number (``10. 000``).
_GLYPH_MARK = re.compile(r"^[•·▪◦‣●○■□➢►▸✓]\s*(?=\S)")
_DASH_MARK = re.compile(r"^[-\u2013*]\s+(?=\S)")  # a dash may also be a wrapped line's first word: two needed
_ENUM_MARK = re.compile(r"^\(?(?:\d{1,2}|[a-z]|[ivx]{1,4})[.)]\s+(?=[^\d\s])")
_INDENT = "  "  # a list item's level is carried in its text: this much leading space per level below the first
_SECTION = re.compile(r"^(?:(?:\d+(?:\.\d+)*|[IVX]+|[A-H])\.?\s+[A-Z]|[A-Z][A-Z \-:&]{4,}$)")
_LETTERS = re.compile(r"[^\W\d_]")
_PAGE_NO = re.compile(r"^(?:page|seite|p\.?)?\s*\d+(?:\s*(?:/|of|von|sur)\s*\d+)?$", re.I)


@dataclass(frozen=True)
class Region:
    kind: str
    bbox: Box
    text: str
    order: int
    confidence: float | None = None
    source: str | None = None
    cells: list[list[dict]] | None = None
    header_rows: int | None = None
    pairs: list[dict] | None = None


@dataclass
class _Block:
    words: list[Word]
    kind: str = "text"
    confidence: float = 0.6
    source: str = "geometry"
    lines: list[list[Word]] = field(default_factory=list)
    box: Box | None = None  # the model's box, when it outlines the block better than its words

    @property
    def bbox(self) -> Box:
        return self.box or union(w.bbox for w in self.words)

    @property
    def text(self) -> str:
        return "\n".join(reading_text(line) for line in self.lines)


def analyse_page(
    lines: list[dict],
    width: int,
    height: int,
    image: np.ndarray | None = None,
    detections: list[Detection] | None = None,
    model_kinds: dict[str, str] | None = None,
) -> list[Region]:
    """Regions of a page in reading order, from its OCR lines, image and the model's detections
    (both optional: without them, what needs pixels is left out)."""
    kinds = MODEL_KINDS if model_kinds is None else model_kinds
    detections = [d for d in detections or [] if d.label in kinds]
    words = words_of(lines)
    rules = ruling_lines(image) if image is not None else []
    tables = grid_tables(rules, words)
    free = [w for w in words if not any(covered(w.bbox, t.bbox) > 0.5 for t in tables)]
    found, rest = aligned_tables(rows_of(free), width)
    tables = _model_tables(detections, tables + found, words)
    pairs = key_values(rest)
    claimed = [t.bbox for t in tables] + [p.bbox for p in pairs]
    free = [w for w in free if not any(covered(w.bbox, b) > 0.5 for b in claimed)]
    stacked = stacked_pairs(rows_of(free))
    pairs += stacked
    claimed = {(w.text, w.bbox) for p in stacked for k, v in p.pairs for w in (*k.words, *v.words)}
    free = [w for w in free if (w.text, w.bbox) not in claimed]
    owned, free = _model_owned(detections, kinds, free)
    # Body type size: the median height of the page's lines (engines box words tightly and
    # differently, lines alike), each line measured as the median of its words.
    heights = [median(w["bbox"][3] - w["bbox"][1] for w in ln["words"]) for ln in lines if ln.get("words")]
    body = median(heights) if heights else 1
    blocks = _text_blocks(lines, free, width, height, body)
    regions = [_table_region(t) for t in tables] + [_pairs_region(p) for p in pairs] + owned
    for b in blocks:
        items = _list_items(b.lines, b.source, body) if b.kind in ("text", "list") else None
        regions += items or [Region(b.kind, b.bbox, b.text, 0, b.confidence, b.source)]
    regions = _headings_by_position(regions, body)
    if image is not None:
        regions += _ink_regions(image, words, rules, detections)
    ordered = [regions[i] for i in reading_order([r.bbox for r in regions], width)]
    # Running headers come first and footers last, wherever their column is.
    ordered.sort(key=lambda r: {"header": 0, "footer": 2}.get(r.kind, 1))
    return [replace(r, order=n) for n, r in enumerate(ordered)]


def _table_region(t: TableFound) -> Region:
    cells = [[{"text": text, "bbox": list(box)} for text, box in row] for row in t.cells]
    text = "\n".join("\t".join(c["text"] for c in row) for row in cells)
    confidence = {"ruling": 0.9, "alignment": 0.75, "model": 0.7}[t.source]
    return Region(
        "table", t.bbox, text, 0, confidence, t.source if t.source == "model" else "geometry", cells, t.header_rows
    )


def _pairs_region(p: PairsFound) -> Region:
    pairs = [{"key": k.text, "value": v.text, "key_bbox": list(k.bbox), "value_bbox": list(v.bbox)} for k, v in p.pairs]
    text = "\n".join(f"{k.text}: {v.text}" for k, v in p.pairs)
    return Region("key_value", p.bbox, text, 0, 0.7, "geometry", pairs=pairs)


def _model_tables(detections: list[Detection], tables: list[TableFound], words: list[Word]) -> list[TableFound]:
    """Geometric tables, plus model table boxes that geometry missed or found only in pieces
    (those pieces give way); the cells of a model table come from the alignment of its words."""
    found = list(tables)
    body = median(w.bbox[3] - w.bbox[1] for w in words) if words else 0
    for det in detections:
        if det.label != "table":
            continue
        pieces = [t for t in found if covered(t.bbox, det.bbox) > 0.5 or covered(det.bbox, t.bbox) > 0.5]
        share = sum(area(t.bbox) for t in pieces) / max(1, area(det.bbox))
        if any(t.source == "ruling" for t in pieces) or (len(pieces) == 1 and share > 0.4):
            continue
        # The model's box may clip a header row that geometry saw: take both.
        frame = union([det.bbox, *(t.bbox for t in pieces)])
        # Title-sized type is not table content (the model's boxes often take in a heading).
        inside = [w for w in words if covered(w.bbox, frame) > 0.5 and w.bbox[3] - w.bbox[1] < _TITLE_FACTOR * body]
        rows = rows_of(inside)
        # Lines above the first and below the last multi-cell row (a heading, an address) stay out.
        multi = [i for i, r in enumerate(rows) if len(r.segments) >= 2]
        rows = rows[multi[0] : multi[-1] + 1] if multi else []
        inside = [w for r in rows for w in r.words]
        if len(rows) < 2:
            continue
        columns = column_ranges(rows)
        if len(columns) < 2:
            continue
        cells = row_cells(rows, columns)
        dense = sum(sum(bool(text) for text, _ in row) >= 3 for row in cells) / len(cells)
        if pieces and dense < 0.5:
            continue  # the box takes in much more than the table geometry found: keep geometry's
        found = [t for t in found if t not in pieces]
        found.append(TableFound(union(w.bbox for w in inside), cells, 1, "model"))
    return found


def _text_blocks(lines: list[dict], free: list[Word], width: int, height: int, body: float) -> list[_Block]:
    """Free words back in their OCR lines, lines grouped into blocks, blocks given kinds."""
    free_ids = {(w.text, w.bbox) for w in free}
    line_words: list[list[Word]] = []
    for line in lines:
        kept = [
            Word(w["text"], tuple(w["bbox"]), float(w.get("confidence", 1.0)))
            for w in line.get("words", [])
            if (w["text"], tuple(w["bbox"])) in free_ids
        ]
        if kept:
            line_words.append(kept)
    # Lines an engine reports as one may hold two columns: split them at wide gaps.
    split: list[list[Word]] = []
    for kept in line_words:
        for row in rows_of(kept):
            split += [list(s.words) for s in row.segments] if _is_gappy(row) else [row.words]
    split.sort(key=lambda ws: (union(w.bbox for w in ws)[1], union(w.bbox for w in ws)[0]))
    if not split:
        return []
    line_height = body or 1  # the page's body type, measured over all its words
    blocks: list[_Block] = []
    for ws in split:
        box = union(w.bbox for w in ws)
        target = None
        for block in reversed(blocks[-6:]):
            last = union(w.bbox for w in block.lines[-1])
            bb = block.bbox
            gap = box[1] - last[3]
            same_size = 0.7 < _type_size(ws) / max(1, _type_size(block.lines[-1])) < 1.45
            # The lines of a machine-readable zone are spaced wider than text.
            mrz = all(_MRZ.match("".join(w.text for w in ln)) for ln in (ws, block.lines[-1]))
            if (
                -line_height <= gap <= (3 if mrz else _GAP_FACTOR) * line_height
                and min(bb[2], box[2]) > max(bb[0], box[0])
                and same_size
            ):
                target = block
                break
        if target is None:
            blocks.append(_Block(list(ws), lines=[list(ws)]))
        else:
            target.words += ws
            target.lines.append(list(ws))
    for block in blocks:
        _classify_block(block, line_height, width, height)
    # One title: the block in the largest type near the top (a document's name, e.g. INVOICE,
    # rather than the letterhead above it).
    titles = [b for b in blocks if b.kind in ("title", "heading") and b.bbox[1] < 0.35 * height]
    if titles:
        best = max(titles, key=lambda b: (_line_height(b), -b.bbox[1]))
        for b in titles:
            if b.kind == "title" and b is not best:
                b.kind = "heading"
        if _line_height(best) >= _TITLE_FACTOR * line_height:
            best.kind = "title"
    return blocks


def _type_size(line: list[Word]) -> float:
    """A line's type size: the median height of its words (a logo glyph read as a word, or an
    engine's uneven word boxes, do not move it)."""
    return median(w.bbox[3] - w.bbox[1] for w in line)


def _line_height(block: _Block) -> float:
    return median(_type_size(line) for line in block.lines)


def _is_gappy(row: Row) -> bool:
    return len(row.segments) > 1 and any(
        b.bbox[0] - a.bbox[2] > 2.5 * row.height for a, b in zip(row.segments, row.segments[1:], strict=False)
    )


def _classify_block(block: _Block, line_height: float, width: int, height: int) -> None:
    box = block.bbox
    texts = [reading_text(line) for line in block.lines]
    block_height = median(_type_size(line) for line in block.lines)
    if all(_MRZ.match(t.replace(" ", "")) for t in texts) and any("<" in t for t in texts):
        block.kind, block.confidence = "mrz", 0.9
    elif len(block.lines) <= 2 and (box[3] <= _MARGIN * height or box[1] >= (1 - _MARGIN) * height):
        block.kind, block.confidence = ("header" if box[3] <= _MARGIN * height else "footer"), 0.7
    elif len(block.lines) == 1 and _PAGE_NO.match(texts[0]) and box[1] >= 0.85 * height:
        block.kind, block.confidence = "footer", 0.7
    elif len(block.lines) >= 2 and sum(bool(_BULLET.match(t)) for t in texts) >= max(2, len(texts) // 2):
        block.kind, block.confidence = "list", 0.7
    elif block_height >= _TITLE_FACTOR * line_height and box[1] < 0.35 * height and len(block.lines) <= 3:
        block.kind, block.confidence = "title", 0.6
    elif (
        len(block.lines) == 1
        and len(block.words) <= 10
        and len(_LETTERS.findall(texts[0])) >= 3
        and (block_height >= _HEADING_FACTOR * line_height or _SECTION.match(texts[0]))
    ):
        block.kind, block.confidence = "heading", 0.5


def _model_owned(
    detections: list[Detection], kinds: dict[str, str], free: list[Word]
) -> tuple[list[Region], list[Word]]:
    """Regions the model outlines better than geometry (paragraphs, captions, equations,
    references): each takes the free words inside its box, best score first. Type in
    title size stays out, for the title and headings that geometry finds."""
    body = median(w.bbox[3] - w.bbox[1] for w in free) if free else 0
    regions: list[Region] = []
    for det in sorted(detections, key=lambda d: -d.score):
        kind = kinds[det.label]
        if kind in ("table", "figure"):
            continue
        rows = rows_of(w for w in free if covered(w.bbox, det.bbox) > 0.5)
        inside = [w for r in rows if r.height < _TITLE_FACTOR * body for w in r.words]
        if not inside:
            continue
        taken = set(map(id, inside))
        free = [w for w in free if id(w) not in taken]
        rows = rows_of(inside)
        # The model calls some bullet lists references; numbered references stay references.
        lines = [r.words for r in rows]
        bulleted = kind == "reference" and _marker(lines[0]) == "glyph"
        items = _list_items(lines, "model", body) if kind == "text" or bulleted else None
        if items:
            regions += items
            continue
        text = "\n".join(r.text for r in rows)
        regions.append(Region(kind, union([det.bbox, union(w.bbox for w in inside)]), text, 0, det.score, "model"))
    return regions, free


def _looks_like_heading(text: str) -> bool:
    words = text.split()
    return (
        2 <= len(words) <= 12
        and text[0].isupper()
        and text[-1] not in ".,;:!?"
        and len(_LETTERS.findall(text)) >= max(3, 0.6 * len(text.replace(" ", "")))
        and not _PAGE_NO.match(text)
    )


def _headings_by_position(regions: list[Region], body: float) -> list[Region]:
    """Headings in body type (the same size as the text, often only bold): a short line set apart
    as a block of its own, in title case or capitals without closing punctuation, directly above
    the paragraph or list it heads (no farther from it than from what is above), aligned with its
    left edge and clearly narrower, and not one of a run of single lines at the same left edge
    (form options, a column of names). A line that ends a paragraph stays in the paragraph's
    block; table cells, key-value pairs and ink regions are other kinds and are not considered."""
    body = body or 1
    out = []
    for r in regions:
        if r.kind == "text" and r.source == "geometry" and "\n" not in r.text and _looks_like_heading(r.text):
            below = [s for s in regions if s is not r and s.bbox[1] >= r.bbox[3] and x_overlap(s.bbox, r.bbox) > 0]
            above = [s for s in regions if s is not r and s.bbox[3] <= r.bbox[1] and x_overlap(s.bbox, r.bbox) > 0]
            nxt = min(below, key=lambda s: s.bbox[1], default=None)
            prev = max(above, key=lambda s: s.bbox[3], default=None)
            # One of a run of short lines (the options of a form, a column of names) heads nothing.
            in_run = (
                prev is not None
                and prev.kind in ("text", "heading")
                and "\n" not in prev.text
                and abs(prev.bbox[0] - r.bbox[0]) <= body
            )
            if (
                not in_run
                and nxt is not None
                and nxt.kind in ("text", "list_item")
                and 0.9 * body <= nxt.bbox[1] - r.bbox[3] <= 3 * body
                and (prev is None or r.bbox[1] - prev.bbox[3] >= nxt.bbox[1] - r.bbox[3])  # closer to what it heads
                and abs(nxt.bbox[0] - r.bbox[0]) <= body
                and r.bbox[2] - r.bbox[0] < 0.8 * (nxt.bbox[2] - nxt.bbox[0])
            ):
                r = replace(r, kind="heading", confidence=0.5)
        out.append(r)
    return out


def _marker(line: list[Word]) -> str | None:
    """``glyph`` (a bullet), ``enum`` (an enumerator or a dash) or None: how a line starts."""
    text = reading_text(line)
    return "glyph" if _GLYPH_MARK.match(text) else "enum" if _ENUM_MARK.match(text) or _DASH_MARK.match(text) else None


def _list_items(lines: list[list[Word]], source: str, body: float) -> list[Region] | None:
    """The list items of a block of lines (with the lines before the first item as a text
    region), or None when the block is no list: it needs a line starting with a bullet glyph, or
    two starting with enumerators or dashes. An item runs from its marker line to the next marker
    line or to a line that starts left of the markers; its level is the rank of its marker's
    indent among the block's markers (indents within 0.8 of the body type size are one level)."""
    marks = [_marker(line) for line in lines]
    if "glyph" not in marks and marks.count("enum") < 2:
        return None
    tolerance = 0.8 * (body or 1)
    indents: list[float] = []
    for x in sorted(min(w.bbox[0] for w in line) for line, m in zip(lines, marks, strict=True) if m):
        if not indents or x - indents[-1] > tolerance:
            indents.append(x)
    groups: list[tuple[int, list[list[Word]]]] = []  # (level, lines); level 0: text before or after the list
    for line, mark in zip(lines, marks, strict=True):
        x = min(w.bbox[0] for w in line)
        if mark:
            level = 1 + sum(x - i > tolerance for i in indents)
            groups.append((level, [line]))
        elif groups and groups[-1][0] and x >= indents[0] - tolerance:
            groups[-1][1].append(line)  # the item's next line
        elif groups and not groups[-1][0]:
            groups[-1][1].append(line)
        else:
            groups.append((0, [line]))
    regions = []
    for level, group in groups:
        box = union(w.bbox for line in group for w in line)
        text = "\n".join(reading_text(line) for line in group)
        if level:
            regions.append(Region("list_item", box, _INDENT * (level - 1) + text, 0, 0.7, source))
        else:
            regions.append(Region("text", box, text, 0, 0.6, source))
    return regions


def _ink_regions(image: np.ndarray, words: list[Word], rules: list, detections: list[Detection]) -> list[Region]:
    """Figures, photos, logos and signatures: ink that is not text or ruling lines."""
    height, width = image.shape[:2]
    ink = (image < 160).astype(np.uint8)
    for w in words:
        if w.confidence < 0.6:
            continue  # what an OCR engine makes of a signature or a logo is ink, not text
        x0, y0, x1, y1 = w.bbox
        pad = max(2, (y1 - y0) // 4)
        ink[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad] = 0
    for r in rules:
        x0, y0, x1, y1 = r.bbox
        ink[max(0, y0 - 2) : y1 + 3, max(0, x0 - 2) : x1 + 3] = 0
    grown = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15)))
    count, _, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    regions: list[Region] = []
    page_area = width * height
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        if w * h < 0.002 * page_area or w < 30 or h < 20:
            continue
        box = (int(x), int(y), int(x + w), int(y + h))
        density = float(ink[y : y + h, x : x + w].mean())
        if density > 0.35:
            kind = (
                "logo" if w * h < 0.02 * page_area and y < 0.25 * height else "photo" if 0.6 < w / h < 1.0 else "figure"
            )
        elif w / h > 2.0 and density < 0.2 and h < 0.15 * height:
            kind = "signature"
        else:
            kind = "figure"
        regions.append(Region(kind, box, "", 0, 0.5, "geometry"))
    # A model figure replaces the ink pieces inside it (plots with axis labels break into many).
    # Photos, logos and signatures stay geometric: the model calls them all figures.
    for det in detections:
        text_share = sum(area(w.bbox) for w in words if covered(w.bbox, det.bbox) > 0.5) / max(1, area(det.bbox))
        if det.label == "figure" and text_share < 0.06:  # a card or a form is no figure
            regions = [r for r in regions if covered(r.bbox, det.bbox) <= 0.5]
            regions.append(Region("figure", det.bbox, "", 0, det.score, "model"))
    return regions


def page_text(regions: list[Region]) -> str:
    """Page text in reading order, regions separated by a blank line."""
    return "\n\n".join(r.text for r in regions if r.text)
