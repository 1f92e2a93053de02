"""Field extraction: the pages of a document (words, lines, layout regions) and its type in,
fields with value, normal form, confidence, page and box out.

The per-type extractors (``extract_finance``, ``extract_identity``) read pages through
``DocPages``: rows of words for "a label and the value to its right (or below)", layout tables
for line items and transactions, and the raw lines for patterns (IBAN, MRZ, dates). The type
comes from the classifier; there is no guessing here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pagestream.agents.common.geometry import Box, Row, Segment, rows_of, union, words_of, x_overlap
from pagestream.agents.validate.core.normalize import currency_of, find_amounts, format_amount, parse_date

_DEFAULT_CONFIDENCE = 0.9


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    normalized: str | None
    confidence: float
    page: int | None = None
    bbox: Box | None = None

    def as_record(self) -> dict:
        """The ExtractedField shape of DocumentCompleted."""
        return {
            "name": self.name,
            "value": self.value,
            "normalized": self.normalized,
            "confidence": round(self.confidence, 4),
            "page_no": self.page,
            "bbox": list(self.bbox) if self.bbox else None,
        }


@dataclass
class Extraction:
    """Fields by name, plus list fields (line items, transactions) as rows of fields."""

    doc_type: str
    fields: dict[str, Field] = field(default_factory=dict)
    lists: dict[str, list[dict[str, Field]]] = field(default_factory=dict)
    facts: dict[str, object] = field(default_factory=dict)  # evidence for rules (MRZ checks, signature)

    def add(self, f: Field | None) -> None:
        if f is not None and f.name not in self.fields:
            self.fields[f.name] = f

    def value(self, name: str) -> str | None:
        f = self.fields.get(name)
        return f.normalized if f else None

    def flat(self) -> list[Field]:
        """Every field, list fields named ``name[i].column``, in a stable order."""
        out = list(self.fields.values())
        for name, rows in self.lists.items():
            for i, row in enumerate(rows):
                out += [
                    Field(f"{name}[{i}].{col}", f.value, f.normalized, f.confidence, f.page, f.bbox)
                    for col, f in row.items()
                ]
        return out

    def as_plain(self) -> dict:
        """Normal forms as a plain dict (the shape JSON Schema validation sees)."""
        plain: dict = {name: f.normalized if f.normalized is not None else f.value for name, f in self.fields.items()}
        for name, rows in self.lists.items():
            plain[name] = [
                {c: f.normalized if f.normalized is not None else f.value for c, f in r.items()} for r in rows
            ]
        return plain


@dataclass
class Page:
    page_no: int
    lines: list[dict]
    regions: list[dict]
    rows: list[Row]
    width: int = 0
    height: int = 0


class DocPages:
    """A document's pages prepared for extraction (rows computed once)."""

    def __init__(self, pages: Iterable[dict]) -> None:
        self.pages = [
            Page(
                p.get("page_no", p.get("page", i + 1)),
                p.get("lines") or [],
                p.get("regions") or [],
                rows_of(words_of(p.get("lines") or [])),
                p.get("width", 0),
                p.get("height", 0),
            )
            for i, p in enumerate(pages)
        ]
        text = "\n".join(ln["text"] for p in self.pages for ln in p.lines)
        self.currency = _dominant_currency(text)
        self.month_first = self.currency == "USD"

    def rows(self) -> Iterable[tuple[Page, Row]]:
        for page in self.pages:
            for row in page.rows:
                yield page, row

    def tables(self) -> Iterable[tuple[Page, dict]]:
        for page in self.pages:
            for region in page.regions:
                if region.get("kind") == "table" and region.get("cells"):
                    yield page, region

    def regions(self, kind: str) -> Iterable[tuple[Page, dict]]:
        for page in self.pages:
            for region in page.regions:
                if region.get("kind") == kind:
                    yield page, region


def _dominant_currency(text: str) -> str | None:
    counts: dict[str, int] = {}
    for token in re.findall(r"€|£|\$|₹|\bRs\.?(?=\s?\d)|\bINR\b|\bCHF\b|\bEUR\b|\bGBP\b|\bUSD\b", text):
        code = currency_of(token)
        if code:
            counts[code] = counts.get(code, 0) + 1
    return max(counts, key=counts.get) if counts else None


def fold(text: str) -> str:
    """Lower case without accents or punctuation at the ends, for label matching."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text).strip(" :*#.\t")


@dataclass(frozen=True)
class Hit:
    """A value found beside a label: its text, box, page and the OCR confidence of its words."""

    text: str
    bbox: Box
    page: int
    confidence: float
    label: str


def label_match(text: str, labels: Iterable[str]) -> tuple[str, str] | None:
    """(label, remainder) when ``text`` starts with one of ``labels`` (longest first)."""
    folded = fold(text)
    for label in sorted(labels, key=len, reverse=True):
        fl = fold(label)
        if folded == fl or (folded.startswith(fl) and not folded[len(fl)].isalnum()):
            # Find where the label ends in the original text (same number of words).
            n = len(label.split())
            rest = " ".join(text.split()[n:]).strip(" :\t")
            return label, rest
    return None


def find_labelled(
    doc: DocPages,
    labels: Iterable[str],
    accept: Callable[[str], bool] = lambda t: bool(t.strip()),
    below: bool = True,
    right: bool = True,
) -> list[Hit]:
    """Values printed right of a label on the same row (same segment after a colon, or the next
    segment), or else on the row below, left-aligned with the label (or only below: ``right``
    False, for layouts with labels over values such as ID cards)."""
    labels = list(labels)
    hits: list[Hit] = []
    for page in doc.pages:
        for r, row in enumerate(page.rows):
            for s, seg in enumerate(row.segments):
                matched = label_match(seg.text, labels)
                if not matched:
                    continue
                label, rest = matched
                n = len(label.split())
                if right and rest and accept(rest):
                    words = seg.words[n:]
                    hits.append(Hit(rest, union(w.bbox for w in words), page.page_no, _conf(words), label))
                elif right and s + 1 < len(row.segments) and accept(row.segments[s + 1].text):
                    nxt = row.segments[s + 1]
                    hits.append(Hit(nxt.text, nxt.bbox, page.page_no, _conf(nxt.words), label))
                elif below and r + 1 < len(page.rows):
                    under = _segment_below(seg, page.rows[r + 1])
                    if under is not None and accept(under.text):
                        hits.append(Hit(under.text, under.bbox, page.page_no, _conf(under.words) * 0.9, label))
    return hits


def _segment_below(seg: Segment, row: Row) -> Segment | None:
    """The segment of the next row under a label: left-aligned with it, or (column headers over
    values) the one overlapping it most."""
    height = seg.bbox[3] - seg.bbox[1]
    if row.bbox[1] - seg.bbox[3] > 2.5 * height:
        return None
    aligned = [c for c in row.segments if abs(c.bbox[0] - seg.bbox[0]) <= 3 * height]
    if aligned:
        return aligned[0]
    overlapping = [(x_overlap(c.bbox, seg.bbox), c) for c in row.segments if x_overlap(c.bbox, seg.bbox) > 0]
    return max(overlapping, key=lambda oc: oc[0])[1] if overlapping else None


_JUNK = re.compile(r"[\[\]|(){}©®@]")


def without_logo(seg: Segment) -> Segment:
    """A name with the glyphs an OCR engine reads into a logo beside it (``[|``, ``®``, ``A``)
    taken off its start."""
    words = list(seg.words)
    while len(words) > 1:
        w = words[0]
        junk = not any(c.isalnum() for c in w.text) or _JUNK.search(w.text) or len(w.text) == 1 or w.confidence < 0.5
        if not junk:
            break
        words.pop(0)
    return Segment(tuple(words))


def _conf(words: Iterable) -> float:
    values = [w.confidence for w in words]
    return min(values) if values else 0.0


_AMOUNT_TEXT = re.compile(
    r"^[-+(\u2212]?\s?(?:[£$€]|CHF|EUR|GBP|USD)?\s?[-\u2212]?\d[\d.,' \u202f]*\)?\s?(?:€|CHF|EUR|GBP|USD)?-?$"
)


def is_amount(text: str) -> bool:
    """Only an amount (with a currency at most): not a percentage, an ID or a date."""
    return bool(_AMOUNT_TEXT.match(text.strip()))


def is_date_for(doc: DocPages) -> Callable[[str], bool]:
    return lambda t: parse_date(t, doc.month_first) is not None


def amount_field(name: str, hit: Hit | None, method: float = _DEFAULT_CONFIDENCE) -> Field | None:
    if hit is None:
        return None
    amounts = find_amounts(hit.text)
    if not amounts:
        return None
    value = amounts[-1][1]
    return Field(name, hit.text, format_amount(value), hit.confidence * method, hit.page, hit.bbox)


def date_field(name: str, hit: Hit | None, doc: DocPages, method: float = _DEFAULT_CONFIDENCE) -> Field | None:
    if hit is None:
        return None
    value = parse_date(hit.text, doc.month_first)
    if value is None:
        return None
    return Field(name, hit.text, value.isoformat(), hit.confidence * method, hit.page, hit.bbox)


def text_field(name: str, hit: Hit | None, method: float = _DEFAULT_CONFIDENCE) -> Field | None:
    if hit is None:
        return None
    return Field(name, hit.text, hit.text.strip(), hit.confidence * method, hit.page, hit.bbox)


def first(hits: list[Hit]) -> Hit | None:
    return hits[0] if hits else None


def cell_amount(text: str) -> Decimal | None:
    amounts = find_amounts(text)
    return amounts[-1][1] if amounts and any(c.isdigit() for c in text) else None


def cell_date(text: str, doc: DocPages) -> date | None:
    return parse_date(text, doc.month_first)


# --- dispatch ------------------------------------------------------------------------------------

Extractor = Callable[[DocPages], Extraction]
EXTRACTORS: dict[str, Extractor] = {}


def extractor(doc_type: str) -> Callable[[Extractor], Extractor]:
    def register(fn: Extractor) -> Extractor:
        EXTRACTORS[doc_type] = fn
        return fn

    return register


def known_types() -> list[str]:
    """The document types that have an extractor (the per-type modules register on import)."""
    from pagestream.agents.validate.core import extract_finance, extract_identity  # noqa: F401

    return sorted(EXTRACTORS)


def extract(doc_type: str, pages: Iterable[dict]) -> Extraction:
    """Fields of a document of ``doc_type`` (one of known_types(); others get no fields)."""
    if doc_type not in known_types():
        return Extraction(doc_type)
    return EXTRACTORS[doc_type](DocPages(pages))
