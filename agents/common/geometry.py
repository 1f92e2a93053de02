"""Boxes and the words of a page arranged as rows and segments: the shared vocabulary of layout
and field extraction.

A *row* is the words whose vertical extents overlap, left to right; a *segment* is a run of words
in a row with no wide gap inside, i.e. one cell or one label or one value. Both layout (tables,
key-value pairs) and extraction (a label and the value to its right) read pages this way, so a
value split by the OCR engine into a separate line is still found beside its label.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

Box = tuple[int, int, int, int]

_SEGMENT_GAP = 1.1  # a horizontal gap wider than this many row heights splits a row into segments


def union(boxes: Iterable[Sequence[int]]) -> Box:
    boxes = list(boxes)
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def area(b: Sequence[int]) -> int:
    return max(0, b[2] - b[0]) * max(0, b[3] - b[1])


def intersection(a: Sequence[int], b: Sequence[int]) -> int:
    return area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def iou(a: Sequence[int], b: Sequence[int]) -> float:
    inter = intersection(a, b)
    total = area(a) + area(b) - inter
    return inter / total if total else 0.0


def covered(inner: Sequence[int], outer: Sequence[int]) -> float:
    """Share of ``inner``'s area that lies inside ``outer``."""
    return intersection(inner, outer) / area(inner) if area(inner) else 0.0


def x_overlap(a: Sequence[int], b: Sequence[int]) -> int:
    return min(a[2], b[2]) - max(a[0], b[0])


def y_overlap(a: Sequence[int], b: Sequence[int]) -> int:
    return min(a[3], b[3]) - max(a[1], b[1])


@dataclass(frozen=True)
class Word:
    text: str
    bbox: Box
    confidence: float = 1.0


def _direction(text: str) -> int:
    """+1 for a word in a left-to-right script or with digits, -1 right-to-left, 0 neutral."""
    kinds = {unicodedata.bidirectional(c) for c in text}
    return -1 if kinds & {"R", "AL"} else 1 if kinds & {"L", "EN", "AN"} else 0


def reading_text(words: Sequence[Word]) -> str:
    """The words of one line, given left to right, in the order they are read: a line mostly in a
    right-to-left script (Arabic, Hebrew) from the right, with each run of left-to-right words
    (Latin names, numbers) kept in its own order, as the Unicode bidirectional algorithm places
    them in a right-to-left paragraph."""
    kinds = [unicodedata.bidirectional(c) for w in words for c in w.text]
    if sum(k in ("R", "AL") for k in kinds) <= sum(k == "L" for k in kinds):  # the line's own direction
        return " ".join(w.text for w in words)
    directions = [_direction(w.text) for w in words]
    ordered: list[str] = []
    run: list[str] = []
    for word, direction in zip(reversed(words), reversed(directions), strict=True):
        if direction > 0:
            run.insert(0, word.text)
            continue
        ordered += run
        run = []
        ordered.append(word.text)
    return " ".join(ordered + run)


@dataclass(frozen=True)
class Segment:
    words: tuple[Word, ...]  # left to right

    @property
    def text(self) -> str:
        return reading_text(self.words)

    @property
    def bbox(self) -> Box:
        return union(w.bbox for w in self.words)

    @property
    def confidence(self) -> float:
        return min(w.confidence for w in self.words)


@dataclass(frozen=True)
class Row:
    segments: tuple[Segment, ...]

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def bbox(self) -> Box:
        return union(s.bbox for s in self.segments)

    @property
    def text(self) -> str:
        return reading_text(self.words)

    @property
    def height(self) -> int:
        return int(median(w.bbox[3] - w.bbox[1] for w in self.words))


def words_of(lines: Iterable[dict]) -> list[Word]:
    """The words of OCR lines (PageOcr / evaldata shape: lines with words, text and bbox)."""
    return [
        Word(w["text"], tuple(w["bbox"]), float(w.get("confidence", 1.0)))
        for line in lines
        for w in line.get("words", [])
        if w["text"].strip()
    ]


def skew(words: list[Word]) -> float:
    """The page's slope (dy/dx): scans are rarely straight. Fitted over chains of neighbouring
    words of similar height spanning a good width, so ascenders and descenders average out."""
    by_x = sorted(words, key=lambda w: w.bbox[0])
    following: dict[int, int] = {}
    for i, word in enumerate(by_x):
        height = word.bbox[3] - word.bbox[1]
        for j in range(i + 1, min(i + 10, len(by_x))):
            other = by_x[j]
            similar = 0.75 <= (other.bbox[3] - other.bbox[1]) / max(1, height) <= 1.33
            if (
                similar
                and 0 <= other.bbox[0] - word.bbox[2] <= 2 * height
                and y_overlap(word.bbox, other.bbox) > 0.5 * height
            ):
                following[i] = j
                break
    starts = set(range(len(by_x))) - set(following.values())
    slopes = []
    for start in starts:
        chain = [start]
        while chain[-1] in following:
            chain.append(following[chain[-1]])
        xs = [(by_x[k].bbox[0] + by_x[k].bbox[2]) / 2 for k in chain]
        ys = [(by_x[k].bbox[1] + by_x[k].bbox[3]) / 2 for k in chain]
        if len(chain) >= 3 and xs[-1] - xs[0] >= 8 * (by_x[start].bbox[3] - by_x[start].bbox[1]):
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            slopes.append(
                sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
            )
    slope = median(slopes) if len(slopes) >= 3 else 0.0
    return slope if abs(slope) >= 0.002 else 0.0


def rows_of(words: Iterable[Word]) -> list[Row]:
    """Words grouped into visual rows, top to bottom, each split into segments at wide gaps.
    Vertical positions are corrected for the page's skew first, so a tilted scan's rows hold."""
    words = list(words)
    slope = skew(words)

    def level(w: Word) -> tuple[float, float, float]:
        shift = slope * (w.bbox[0] + w.bbox[2]) / 2
        return w.bbox[1] - shift, (w.bbox[1] + w.bbox[3]) / 2 - shift, w.bbox[3] - shift

    ordered = sorted(words, key=lambda w: (level(w)[1], w.bbox[0]))
    groups: list[list[Word]] = []
    for word in ordered:
        centre = level(word)[1]
        for group in reversed(groups[-3:]):
            top = median(level(w)[0] for w in group)
            bottom = median(level(w)[2] for w in group)
            if top <= centre <= bottom and not any(x_overlap(w.bbox, word.bbox) > 0 for w in group):
                group.append(word)
                break
        else:
            groups.append([word])
    rows = [_split(sorted(g, key=lambda w: w.bbox[0])) for g in groups]
    return sorted(rows, key=lambda r: (median(level(w)[0] for w in r.words), r.bbox[0]))


def _split(words: list[Word]) -> Row:
    height = median(w.bbox[3] - w.bbox[1] for w in words) or 1
    segments: list[list[Word]] = [[words[0]]]
    for word in words[1:]:
        if word.bbox[0] - segments[-1][-1].bbox[2] > _SEGMENT_GAP * height:
            segments.append([word])
        else:
            segments[-1].append(word)
    return Row(tuple(Segment(tuple(s)) for s in segments))
