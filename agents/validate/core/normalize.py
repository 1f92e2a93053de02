"""Normal forms of printed values: decimal amounts, ISO dates, ISO 4217 currencies, IBANs.

Printed formats vary by country (``1.234,56``, ``1,234.56``, ``1'234.56``, ``1 234,56``; dates
day-first in Europe and month-first in the US; month names in English, German and French), so
each parser takes what is printed and returns one canonical value, or None when it cannot tell.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

CURRENCY_SYMBOLS = {
    "€": "EUR", "£": "GBP", "$": "USD", "₹": "INR", "Rs": "INR", "INR": "INR", "CHF": "CHF", "EUR": "EUR",
    "GBP": "GBP", "USD": "USD",
}  # fmt: skip
_MINUS = "\u2212\u2013"  # minus sign and en dash, printed for negative amounts
_AMOUNT_ANY = re.compile(
    rf"(?<![\w/.])[-{_MINUS}]?(?:[£$€]\s?|CHF\s|EUR\s)?[-{_MINUS}]?\d[\d.,'\u202f ]*\d(?:\s?(?:€|CHF|EUR))?|\d"
)
_MONTHS = {
    **{
        m: i + 1
        for i, m in enumerate(
            [
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ]
        )
    },
    **{
        m: i + 1
        for i, m in enumerate(
            [
                "januar",
                "februar",
                "märz",
                "april",
                "mai",
                "juni",
                "juli",
                "august",
                "september",
                "oktober",
                "november",
                "dezember",
            ]
        )
    },
    **{
        m: i + 1
        for i, m in enumerate(
            [
                "janvier",
                "février",
                "mars",
                "avril",
                "mai",
                "juin",
                "juillet",
                "août",
                "septembre",
                "octobre",
                "novembre",
                "décembre",
            ]
        )
    },
    **{
        m: i + 1
        for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
    },
}
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,4})[./-](\d{1,2})[./-](\d{2,4})(?!\d)")
_TEXT_DATE_DMY = re.compile(r"(?<!\d)(\d{1,2})\.?\s+([^\W\d_]{3,10})\.?\s+(\d{4})", re.UNICODE)
_TEXT_DATE_MDY = re.compile(r"([^\W\d_]{3,10})\.?\s+(\d{1,2})\s*,?\s+(\d{4})", re.UNICODE)


def parse_amount(text: str) -> Decimal | None:
    """The amount in ``text`` as a Decimal (sign kept), whatever the grouping and decimal marks."""
    raw = re.sub(f"[{_MINUS}]", "-", text.strip())
    first_digit = next((i for i, c in enumerate(raw) if c.isdigit()), len(raw))
    negative = "-" in raw[:first_digit] or raw.endswith("-") or (raw.startswith("(") and raw.endswith(")"))
    digits = re.sub(r"[^\d.,']", "", raw.replace("\u202f", "").replace(" ", ""))
    if not digits or not any(c.isdigit() for c in digits):
        return None
    digits = digits.replace("'", "")
    last_dot, last_comma = digits.rfind("."), digits.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        decimal_mark = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        mark = "." if last_dot >= 0 else ","
        tail = len(digits) - max(last_dot, last_comma) - 1
        decimal_mark = mark if digits.count(mark) == 1 and tail != 3 else None
    else:
        decimal_mark = None
    if decimal_mark:
        whole, _, frac = digits.rpartition(decimal_mark)
        whole = re.sub(r"[.,]", "", whole)
        number = f"{whole or '0'}.{frac}"
    else:
        number = re.sub(r"[.,]", "", digits)
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    return -value if negative else value


def find_amounts(text: str) -> list[tuple[str, Decimal]]:
    """Every amount-like token of a text with its parsed value (left to right)."""
    found = []
    for match in _AMOUNT_ANY.finditer(text):
        token = match.group(0).strip()
        value = parse_amount(token)
        if value is not None:
            found.append((token, value))
    return found


def format_amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def currency_of(text: str) -> str | None:
    """The ISO 4217 code named or symbolised in ``text``."""
    for token, code in CURRENCY_SYMBOLS.items():
        if token in text:
            return code
    return None


def _year(y: int) -> int:
    return y + 2000 if y < 70 else y + 1900 if y < 100 else y


def parse_date(text: str, month_first: bool = False) -> date | None:
    """The first date in ``text`` (numeric, ISO, or with a month name in en/de/fr)."""
    folded = unicodedata.normalize("NFC", text.lower())
    match = _NUMERIC_DATE.search(folded)
    if match:
        a, b, c = (int(g) for g in match.groups())
        if len(match.group(1)) == 4:
            y, m, d = a, b, c
        else:
            y = _year(c)
            d, m = (b, a) if (month_first and b <= 31 and a <= 12) or b > 12 else (a, b)
        try:
            return date(y, m, d)
        except ValueError:
            return None
    for pattern, order in ((_TEXT_DATE_DMY, "dmy"), (_TEXT_DATE_MDY, "mdy")):
        for match in pattern.finditer(folded):
            g = match.groups()
            day, name, year = (g[0], g[1], g[2]) if order == "dmy" else (g[1], g[0], g[2])
            month = _MONTHS.get(name)
            if month:
                try:
                    return date(int(year), month, int(day))
                except ValueError:
                    return None
    return None


def find_dates(text: str, month_first: bool = False) -> list[date]:
    """Every date in a text, left to right (numeric ranges like ``01/10 - 31/10/2021`` included)."""
    found = []
    rest = text
    while True:
        value = parse_date(rest, month_first)
        if value is None:
            return found
        found.append(value)
        match = (
            _NUMERIC_DATE.search(rest.lower())
            or _TEXT_DATE_DMY.search(rest.lower())
            or _TEXT_DATE_MDY.search(rest.lower())
        )
        if match is None:
            return found
        rest = rest[match.end() :]


IBAN_PATTERN = re.compile(r"\b([A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?)\b")


def compact_iban(text: str) -> str:
    return re.sub(r"\s", "", text).upper()


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN (spaces ignored)."""
    iban = compact_iban(iban)
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
