"""Tables and key-value pairs from geometry: ruling lines found with OpenCV, and text alignment.

Two ways to find a table, both from evidence on the page:
- ruled grids: long horizontal and vertical strokes (morphological opening with long kernels);
  where at least two of each meet, their positions are the row and column boundaries;
- aligned text: consecutive rows of short segments whose x-positions share empty vertical
  gutters (columns), with at least one numeric column (amounts, quantities, dates) below the
  header — the numeric column tells a table from an address block beside a label column.
Key-value regions are stacks of rows holding a short label and a value to its right, labels
left-aligned and values left- or right-aligned.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from statistics import median

import cv2
import numpy as np

from pagestream.agents.common.geometry import Box, Row, Segment, Word, reading_text, union

_NUMERIC = re.compile(r"^[-+(]?(?:[£$€]|CHF|EUR)?\s?\d[\d.,' ]*(?:[.,]\d{1,2})?\s?(?:[€%]|CHF|EUR)?\)?$")
_LETTERS = re.compile(r"[^\W\d_]")
_MIN_RULE_FRACTION = 0.04  # a ruling line is at least this share of the page width (or height)


@dataclass(frozen=True)
class Rule:
    """A ruling line: horizontal (y0 == y1 band) or vertical."""

    bbox: Box

    @property
    def horizontal(self) -> bool:
        return self.bbox[2] - self.bbox[0] >= self.bbox[3] - self.bbox[1]


@dataclass(frozen=True)
class TableFound:
    bbox: Box
    cells: list[list[tuple[str, Box]]]
    header_rows: int
    source: str  # "ruling" or "alignment"


@dataclass(frozen=True)
class PairsFound:
    bbox: Box
    pairs: list[tuple[Segment, Segment]]


def ruling_lines(grey: np.ndarray) -> list[Rule]:
    """Long thin horizontal and vertical strokes of a page image (uint8, dark ink on light)."""
    height, width = grey.shape[:2]
    ink = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15)
    rules: list[Rule] = []
    for length, kernel_shape in (
        (max(20, int(width * _MIN_RULE_FRACTION)), "h"),
        (max(20, int(height * _MIN_RULE_FRACTION / 2)), "v"),
    ):
        size = (length, 1) if kernel_shape == "h" else (1, length)
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, size)
        mask = cv2.morphologyEx(ink, cv2.MORPH_OPEN, kernel)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            thin = h <= max(6, height // 300) if kernel_shape == "h" else w <= max(6, width // 300)
            if thin:
                rules.append(Rule((x, y, x + w, y + h)))
    return rules


def _cluster(values: list[int], tolerance: int) -> list[int]:
    out: list[int] = []
    for v in sorted(values):
        if out and v - out[-1] <= tolerance:
            continue
        out.append(v)
    return out


def _cell_text(words: list[Word], box: Box) -> tuple[str, list[Word]]:
    inside = [
        w
        for w in words
        if box[0] <= (w.bbox[0] + w.bbox[2]) / 2 < box[2] and box[1] <= (w.bbox[1] + w.bbox[3]) / 2 < box[3]
    ]
    inside.sort(key=lambda w: (w.bbox[1] // 8, w.bbox[0]))
    return reading_text(inside), inside


def grid_tables(rules: list[Rule], words: list[Word]) -> list[TableFound]:
    """Tables whose rows and columns are drawn: groups of crossing horizontal and vertical rules."""
    horizontal = [r for r in rules if r.horizontal]
    vertical = [r for r in rules if not r.horizontal]
    tables: list[TableFound] = []
    used: set[int] = set()
    for i, v in enumerate(vertical):
        if i in used:
            continue
        # Vertical rules that share a horizontal rule with this one belong to the same grid.
        crossing = [h for h in horizontal if _touches(h.bbox, v.bbox)]
        if len(crossing) < 2:
            continue
        frame = union([h.bbox for h in crossing] + [v.bbox])
        members = [j for j, o in enumerate(vertical) if _touches(_grow(frame, 4), o.bbox)]
        used.update(members)
        hs = [h for h in horizontal if _touches(_grow(frame, 4), h.bbox)]
        ys = _cluster([(h.bbox[1] + h.bbox[3]) // 2 for h in hs], 6)
        xs = _cluster([(vertical[j].bbox[0] + vertical[j].bbox[2]) // 2 for j in members], 6)
        if len(ys) < 2 or len(xs) < 2:
            continue
        if len(xs) == 2 and len(ys) == 2:
            continue  # a single box (a form field) is not a table
        cells = [
            [(_cell_text(words, (x0, y0, x1, y1))[0], (x0, y0, x1, y1)) for x0, x1 in itertools.pairwise(xs)]
            for y0, y1 in itertools.pairwise(ys)
        ]
        if len(cells) < 2 or not any(text for row in cells for text, _ in row):
            continue
        tables.append(TableFound((xs[0], ys[0], xs[-1], ys[-1]), cells, _header_rows(cells), "ruling"))
    return tables


def _grow(b: Box, by: int) -> Box:
    return (b[0] - by, b[1] - by, b[2] + by, b[3] + by)


def _touches(a: Box, b: Box, slack: int = 4) -> bool:
    return a[0] - slack <= b[2] and b[0] - slack <= a[2] and a[1] - slack <= b[3] and b[1] - slack <= a[3]


def _header_rows(cells: list[list[tuple[str, Box]]]) -> int:
    first = [text for text, _ in cells[0] if text]
    return 1 if first and not any(_NUMERIC.match(t) for t in first) and len(cells) > 1 else 0


def _candidate(row: Row, page_width: int) -> bool:
    return len(row.segments) >= 2 and all(
        len(s.words) <= 7 and s.bbox[2] - s.bbox[0] <= 0.35 * page_width for s in row.segments
    )


def _runs(rows: list[Row], page_width: int) -> list[list[Row]]:
    """Consecutive candidate rows, close together vertically."""
    runs: list[list[Row]] = []
    for row in rows:
        if not _candidate(row, page_width):
            runs.append([])
            continue
        if runs and runs[-1]:
            prev = runs[-1][-1]
            gap = row.bbox[1] - prev.bbox[3]
            if gap <= 2.0 * max(row.height, prev.height):
                runs[-1].append(row)
                continue
        runs.append([row])
    return [r for r in runs if r]


def column_ranges(run: list[Row]) -> list[tuple[int, int]]:
    """Column x-ranges of a run: stretches that (almost) every row leaves empty separate them."""
    x0 = min(r.bbox[0] for r in run)
    x1 = max(r.bbox[2] for r in run)
    counts = np.zeros(x1 - x0 + 1, dtype=np.int32)
    for row in run:
        for seg in row.segments:
            counts[seg.bbox[0] - x0 : seg.bbox[2] - x0 + 1] += 1
    tolerance = len(run) // 10
    filled = counts > tolerance
    columns: list[tuple[int, int]] = []
    start = None
    for i, f in enumerate(filled):
        if f and start is None:
            start = i
        elif not f and start is not None:
            columns.append((x0 + start, x0 + i - 1))
            start = None
    if start is not None:
        columns.append((x0 + start, x1))
    return columns


def row_cells(rows: list[Row], columns: list[tuple[int, int]]) -> list[list[tuple[str, Box]]]:
    """Cells of rows given column ranges; a word in a gutter joins the nearest column."""
    cells: list[list[tuple[str, Box]]] = []
    for row in rows:
        by_column: list[list[Word]] = [[] for _ in columns]
        for w in row.words:
            centre = (w.bbox[0] + w.bbox[2]) / 2
            distance = [0 if c0 <= centre <= c1 else min(abs(centre - c0), abs(centre - c1)) for c0, c1 in columns]
            by_column[distance.index(min(distance))].append(w)
        cells.append(
            [
                (reading_text(ws), union(w.bbox for w in ws) if ws else (c0, row.bbox[1], c1, row.bbox[3]))
                for ws, (c0, c1) in zip(by_column, columns, strict=True)
            ]
        )
    return cells


def _numeric_share(texts: list[str]) -> float:
    texts = [t for t in texts if t]
    return sum(bool(_NUMERIC.match(t)) for t in texts) / len(texts) if texts else 0.0


def aligned_tables(rows: list[Row], page_width: int) -> tuple[list[TableFound], list[list[Row]]]:
    """Tables from text alignment; also returns the runs that were not tables (for key-values)."""
    tables: list[TableFound] = []
    rest: list[list[Row]] = []
    for run in _runs(rows, page_width):
        columns = column_ranges(run) if len(run) >= 3 else []
        if len(columns) < 3:
            rest.append(run)
            continue
        cells = row_cells(run, columns)
        header = _header_rows(cells)
        body = cells[header:]
        numeric = max(_numeric_share([row[c][0] for row in body]) for c in range(1, len(columns)))
        filled_rows = sum(sum(bool(t) for t, _ in row) >= 3 for row in cells)
        if numeric < 0.6 or filled_rows < 3:
            rest.append(run)
            continue
        tables.append(TableFound(union(r.bbox for r in run), cells, header, "alignment"))
    return tables, rest


def key_values(runs: list[list[Row]]) -> list[PairsFound]:
    """Stacks of (label, value) segment pairs with aligned labels and aligned values."""
    found: list[PairsFound] = []
    for run in runs:
        chains: list[list[tuple[Segment, Segment]]] = []
        for row in run:
            for key, value in _pairs_from_right(row):
                if not _is_label(key) or value.text.rstrip().endswith(("*", ":")):
                    continue  # a value ending like a label is the next label of a side-by-side form
                for chain in chains:
                    last_key, last_value = chain[-1]
                    if (
                        chain[-1] is not None
                        and abs(last_key.bbox[0] - key.bbox[0]) <= 12
                        and (
                            abs(last_value.bbox[0] - value.bbox[0]) <= 15
                            or abs(last_value.bbox[2] - value.bbox[2]) <= 15
                        )
                        and key.bbox[1] > last_key.bbox[1]
                    ):
                        chain.append((key, value))
                        break
                else:
                    chains.append([(key, value)])
        for chain in chains:
            if len(chain) >= 2:
                found.append(PairsFound(union([k.bbox for k, _ in chain] + [v.bbox for _, v in chain]), chain))
    return found


def _seg_height(seg: Segment) -> float:
    return median(w.bbox[3] - w.bbox[1] for w in seg.words)


def _marked_label(seg: Segment, value: Segment) -> bool:
    """A label printed above its value: smaller type, or a label's marks (``*``, ``:``, ``A / B``)."""
    text = seg.text.rstrip()
    return _is_label(seg) and (
        _seg_height(seg) <= 0.85 * _seg_height(value) or text.endswith(("*", ":")) or " / " in text
    )


def stacked_pairs(rows: list[Row]) -> list[PairsFound]:
    """Labels with their value on the row below, left-aligned (boxed form fields, ID cards);
    pairs close together form one region."""
    pairs: list[tuple[Segment, Segment]] = []
    for upper, lower in itertools.pairwise(rows):
        for seg in upper.segments:
            height = _seg_height(seg)
            if not 0 <= lower.bbox[1] - seg.bbox[3] <= 1.6 * height:
                continue
            below = [v for v in lower.segments if abs(v.bbox[0] - seg.bbox[0]) <= max(12, 0.9 * height)]
            if below and _marked_label(seg, below[0]) and not below[0].text.rstrip().endswith(("*", ":")):
                pairs.append((seg, below[0]))
    groups: list[list[tuple[Segment, Segment]]] = []
    for pair in sorted(pairs, key=lambda p: (p[0].bbox[1], p[0].bbox[0])):
        box = union([pair[0].bbox, pair[1].bbox])
        for group in groups:
            gbox = union([b for k, v in group for b in (k.bbox, v.bbox)])
            if box[1] - gbox[3] <= 3.5 * _seg_height(pair[0]) and box[1] >= gbox[1]:
                group.append(pair)
                break
        else:
            groups.append([pair])
    return [
        PairsFound(union([b for k, v in g for b in (k.bbox, v.bbox)]), g)
        for g in groups
        if len(g) >= 2 or g[0][0].text.rstrip().endswith(("*", ":"))
    ]


def _pairs_from_right(row: Row) -> list[tuple[Segment, Segment]]:
    """(label, value) candidates of a row, paired from the right: values end rows."""
    segs = list(row.segments)
    return [(segs[i - 1], segs[i]) for i in range(len(segs) - 1, 0, -2)][::-1]


def _is_label(seg: Segment) -> bool:
    text = seg.text
    return len(seg.words) <= 4 and len(text) <= 40 and len(_LETTERS.findall(text)) >= max(2, len(text) // 2)
