"""Reading order of regions: bands top to bottom, columns left to right within a band.

A recursive XY-cut that prefers columns: a group of regions is first split where a vertical
gutter runs through all of it (columns, read left to right); otherwise it is split at horizontal
gaps into bands, and neighbouring bands that together still have a gutter are kept together, so
paragraph gaps that happen to line up across two columns do not interleave the columns. A
full-width title, figure or table thus separates the bands of a two-column page.
"""

from __future__ import annotations

from collections.abc import Sequence

from pagestream.agents.common.geometry import Box

_MIN_GUTTER = 0.015  # share of the page width a column gap must have


def reading_order(boxes: Sequence[Box], page_width: int) -> list[int]:
    """Indices of ``boxes`` in reading order."""
    return _order(list(range(len(boxes))), list(boxes), max(8, int(_MIN_GUTTER * page_width)))


def _gaps(intervals: list[tuple[int, int]], min_gap: int) -> list[int]:
    """Cut positions: the middles of uncovered stretches at least ``min_gap`` wide."""
    cuts: list[int] = []
    end = None
    for a, b in sorted(intervals):
        if end is not None and a - end >= min_gap:
            cuts.append((a + end) // 2)
        end = b if end is None else max(end, b)
    return cuts


def _split(items: list[int], boxes: list[Box], cuts: list[int], axis: int) -> list[list[int]]:
    parts: list[list[int]] = [[] for _ in range(len(cuts) + 1)]
    for i in items:
        centre = (boxes[i][axis] + boxes[i][axis + 2]) / 2
        parts[sum(centre > c for c in cuts)].append(i)
    return [p for p in parts if p]


def _columns(items: list[int], boxes: list[Box], min_gutter: int) -> list[int]:
    return _gaps([(boxes[i][0], boxes[i][2]) for i in items], min_gutter)


def _order(items: list[int], boxes: list[Box], min_gutter: int) -> list[int]:
    if len(items) <= 1:
        return items
    cols = _columns(items, boxes, min_gutter)
    if cols:
        return [i for part in _split(items, boxes, cols, 0) for i in _order(part, boxes, min_gutter)]
    rows = _gaps([(boxes[i][1], boxes[i][3]) for i in items], 1)
    if not rows:
        return sorted(items, key=lambda i: (boxes[i][1], boxes[i][0]))
    bands = _split(items, boxes, rows, 1)
    merged: list[list[int]] = [bands[0]]
    for band in bands[1:]:
        if _columns(merged[-1], boxes, min_gutter) and _columns(merged[-1] + band, boxes, min_gutter):
            merged[-1] = merged[-1] + band
        else:
            merged.append(band)
    if len(merged) == 1:
        return sorted(items, key=lambda i: (boxes[i][1], boxes[i][0]))
    return [i for band in merged for i in _order(band, boxes, min_gutter)]
