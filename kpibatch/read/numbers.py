"""Numbers as divisions type them: Thai digits, a trailing percent sign, thousands separators.

``pandas.to_numeric`` turns Thai digits into NaN, so every number goes through ``parse_number``.
Scores are money-grade, so the result is a ``Decimal`` built from the shortest repr of a float.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation

from kpibatch.text import to_arabic_digits

_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_BLANK_MARKERS = {"", "-", "–", "—", "−"}
_HUNDRED = Decimal(100)


class NotANumber(ValueError):
    """The cell holds something that is not a number in any accepted spelling."""

    def __init__(self, raw: object) -> None:
        super().__init__(f"not a number: {raw!r}")
        self.raw = raw


def parse_number(value: object, *, percent_format: bool = False) -> Decimal | None:
    """Parse a cell value into a Decimal; None for blank or a dash.

    ``percent_format`` says the cell is a number formatted as a percentage: Excel stores 87.5 % as
    0.875, and levels and results are written in percent units, so the value is multiplied by 100.
    Text such as ``"87.5%"`` already is in percent units and is taken as written.
    """
    if value is None:
        return None
    if isinstance(value, bool | dt.date | dt.time | dt.timedelta):
        raise NotANumber(value)
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise NotANumber(value)
        number = Decimal(repr(value))
    else:
        return _parse_text(str(value))
    return number * _HUNDRED if percent_format else number


def _parse_text(raw: str) -> Decimal | None:
    text = to_arabic_digits(raw).strip().replace("\u00a0", "").replace(" ", "").replace("−", "-")
    if text in _BLANK_MARKERS:
        return None
    if text.endswith("%"):
        text = text[:-1]
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    elif not _PLAIN.fullmatch(text):
        raise NotANumber(raw)
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the patterns above admit only valid text
        raise NotANumber(raw) from exc
