"""ICAO 9303 machine-readable zones: find them in OCR lines, parse TD1 (3x30) and TD3 (2x44).

The check digits (weights 7, 3, 1; ``<`` counts 0, letters A=10..Z=35) are kept with the parse
so validation can name exactly which one fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

_LINE = re.compile(r"^[A-Z0-9<]+$")
# Characters OCR engines commonly return for the filler '<'.
_FILLER_LOOKALIKES = str.maketrans({"\u00ab": "<<", "\u2039": "<", "\u3008": "<", "\u2264": "<", " ": ""})


def check_digit(text: str) -> str:
    weights = (7, 3, 1)
    total = 0
    for i, c in enumerate(text):
        value = int(c) if c.isdigit() else ord(c) - 55 if "A" <= c <= "Z" else 0
        total += value * weights[i % 3]
    return str(total % 10)


@dataclass
class Mrz:
    format: str  # TD1 or TD3
    lines: list[str]
    document_type: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth: str  # YYMMDD as printed
    sex: str
    expiry: str
    personal_number: str
    checks: dict[str, bool] = field(default_factory=dict)

    def date_of_birth(self, today: date | None = None) -> date | None:
        """Birth dates are in the past: a two-digit year after this year is in the last century."""
        year_now = (today or date.today()).year % 100
        return _yymmdd(self.birth, century=1900 if int(self.birth[:2] or 0) > year_now else 2000)

    def date_of_expiry(self) -> date | None:
        return _yymmdd(self.expiry, century=2000 if int(self.expiry[:2] or 0) < 70 else 1900)


def _yymmdd(text: str, century: int) -> date | None:
    if not re.fullmatch(r"\d{6}", text):
        return None
    try:
        return date(century + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        return None


def _clean(text: str) -> str:
    return text.upper().translate(_FILLER_LOOKALIKES)


def find_mrz(lines: list[str]) -> list[str] | None:
    """The MRZ lines among a page's text lines (bottom-most block of 2x44 or 3x30), cleaned and
    repaired position by position (``repair_mrz``)."""
    cleaned = [_clean(t) for t in lines]
    candidates = [t for t in cleaned if _LINE.match(t) and "<" in t and len(t) >= 28]
    for size, count in ((44, 2), (30, 3)):
        block = [t for t in candidates if abs(len(t) - size) <= 2]
        if len(block) >= count:
            return repair_mrz([t[:size].ljust(size, "<") for t in block[-count:]])
    return None


# OCR-B characters OCR engines confuse, mapped to what an ICAO 9303 position may hold.
_TO_DIGIT = str.maketrans("OQDILZSGB", "000112568")
_TO_LETTER = str.maketrans("012568", "OIZSGB")
# Which positions hold digits only ("9") or letters only ("A"); "n" is a name field (letters and
# "<", and nothing but filler after its first "<<<"); "." is left as read (document and personal
# numbers mix both, sex is M, F or "<"). Per line of TD3 (2x44) and TD1 (3x30).
_LAYOUT = {
    44: ("AAAAA" + "n" * 39, "." * 9 + "9AAA9999999" + "." + "9999999" + "." * 14 + "99"),
    30: ("AAAAA" + "." * 9 + "9" + "." * 15, "9999999." + "9999999AAA" + "." * 11 + "9", "n" * 30),
}


def _repair_line(text: str, layout: str) -> str:
    chars = list(text)
    for i, kind in enumerate(layout):
        c = chars[i]
        if c == "<" or kind == ".":
            continue
        chars[i] = c.translate(_TO_DIGIT) if kind == "9" else c.translate(_TO_LETTER)
    name_start = layout.find("n")
    if name_start >= 0:
        filler = "".join(chars).find("<<<", name_start)
        if filler >= 0:  # names never hold "<<<": the rest is filler, whatever OCR made of it
            chars[filler:] = "<" * (len(chars) - filler)
    return "".join(chars)


def repair_mrz(lines: list[str]) -> list[str]:
    """Lines of a zone with each position's lookalikes put back in its character set (an ``O``
    where a check digit stands is a ``0``; a ``0`` in a nationality is an ``O``), as MRZ readers
    do: Tesseract reads OCR-B's 0/O and 1/I ambiguously, and every wrong character fails a
    check digit. The check digits still decide what is valid; this only undoes lookalikes."""
    layout = _LAYOUT.get(len(lines[0]) if lines else 0)
    if layout is None or len(layout) != len(lines) or any(len(t) != len(lines[0]) for t in lines):
        return lines
    return [_repair_line(text, kinds) for text, kinds in zip(lines, layout, strict=True)]


def _name(field_text: str) -> tuple[str, str]:
    surname, _, given = field_text.partition("<<")
    return surname.replace("<", " ").strip(), given.replace("<", " ").strip()


def parse_mrz(lines: list[str]) -> Mrz:
    """Parse TD3 (two lines of 44) or TD1 (three lines of 30); raises ValueError otherwise."""
    if len(lines) == 2 and all(len(t) == 44 for t in lines):
        l1, l2 = lines
        surname, given = _name(l1[5:44])
        personal, personal_cd = l2[28:42], l2[42]
        checks = {
            "document_number": check_digit(l2[0:9]) == l2[9],
            "date_of_birth": check_digit(l2[13:19]) == l2[19],
            "date_of_expiry": check_digit(l2[21:27]) == l2[27],
            "personal_number": (personal_cd in "<0")
            if set(personal) == {"<"}
            else check_digit(personal) == personal_cd,
            "composite": check_digit(l2[0:10] + l2[13:20] + l2[21:43]) == l2[43],
        }
        return Mrz(
            "TD3", lines, l1[0:2].strip("<"), l1[2:5].strip("<"), surname, given, l2[0:9].strip("<"),
            l2[10:13].strip("<"), l2[13:19], l2[20], l2[21:27], personal.strip("<"), checks,
        )  # fmt: skip
    if len(lines) == 3 and all(len(t) == 30 for t in lines):
        l1, l2, l3 = lines
        surname, given = _name(l3)
        checks = {
            "document_number": check_digit(l1[5:14]) == l1[14],
            "date_of_birth": check_digit(l2[0:6]) == l2[6],
            "date_of_expiry": check_digit(l2[8:14]) == l2[14],
            "composite": check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]) == l2[29],
        }
        return Mrz(
            "TD1", lines, l1[0:2].strip("<"), l1[2:5].strip("<"), surname, given, l1[5:14].strip("<"),
            l2[15:18].strip("<"), l2[0:6], l2[7], l2[8:14], l1[15:30].strip("<"), checks,
        )  # fmt: skip
    raise ValueError(f"not an ICAO 9303 TD1 (3x30) or TD3 (2x44) zone: {[len(t) for t in lines]} characters per line")
