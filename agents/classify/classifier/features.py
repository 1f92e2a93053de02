"""What the classifier sees of a page besides its embedding: text and a few layout statistics.

Both come from the page text alone (lines separated by newlines), so training on ground-truth
text and serving on OCR output compute them the same way. ``reading_order_text`` turns
ground-truth lines with boxes into the text an OCR engine would give: lines on the same row
joined left to right, rows top to bottom.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

_AMOUNT = re.compile(r"\d[\d.,' ]*[.,]\d{2}\b")
_DATE = re.compile(r"\b(\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2})\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}")
_CURRENCY = re.compile(r"[€$£¥]|\b(?:EUR|USD|GBP|CHF)\b")
_MATH = re.compile(r"[=±∑Σ∫√∂∇≤≥≈≪→⟨⟩αβγδθλμσφωψ]")
_CITATION = re.compile(r"^\s*\[\d+\]")

FEATURE_NAMES = (
    "log_chars",
    "log_lines",
    "words_per_line",
    "digit_ratio",
    "upper_ratio",
    "amount_lines",
    "date_lines",
    "iban",
    "mrz",
    "currency",
    "sentence_lines",
    "short_lines",
    "math_ratio",
    "citation_lines",
)


def reading_order_text(lines: Sequence[dict]) -> str:
    """Text of ground-truth lines (``text``, ``bbox``) in rows, top to bottom, left to right."""
    items = sorted((ln for ln in lines if ln["text"].strip()), key=lambda ln: (ln["bbox"][1] + ln["bbox"][3]) / 2)
    rows: list[list[dict]] = []
    for line in items:
        y0, y1 = line["bbox"][1], line["bbox"][3]
        if rows:
            last = rows[-1]
            top = min(ln["bbox"][1] for ln in last)
            bottom = max(ln["bbox"][3] for ln in last)
            overlap = min(y1, bottom) - max(y0, top)
            if overlap > 0.5 * min(y1 - y0, bottom - top):
                last.append(line)
                continue
        rows.append([line])
    return "\n".join(" ".join(ln["text"] for ln in sorted(row, key=lambda ln: ln["bbox"][0])) for row in rows)


def layout_features(text: str) -> np.ndarray:
    """The statistics named in FEATURE_NAMES, each roughly in 0..1."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    n = max(len(lines), 1)
    chars = [c for c in text if not c.isspace()]
    letters = [c for c in chars if c.isalpha()]
    words = sum(len(ln.split()) for ln in lines)
    values = (
        math.log1p(len(chars)) / 10,
        math.log1p(len(lines)) / 5,
        min(words / n / 15, 1.5),
        sum(c.isdigit() for c in chars) / max(len(chars), 1),
        sum(c.isupper() for c in letters) / max(len(letters), 1),
        sum(bool(_AMOUNT.search(ln)) for ln in lines) / n,
        sum(bool(_DATE.search(ln)) for ln in lines) / n,
        float(bool(_IBAN.search(text))),
        float(text.count("<<") >= 2),
        math.log1p(len(_CURRENCY.findall(text))) / 4,
        sum(ln.rstrip().endswith((".", "!", "?", ":")) for ln in lines) / n,
        sum(len(ln.split()) <= 3 for ln in lines) / n,
        min(len(_MATH.findall(text)) / max(len(chars), 1) * 20, 1.0),
        sum(bool(_CITATION.match(ln)) for ln in lines) / n,
    )
    return np.asarray(values, dtype=np.float32)
