"""Small text helpers shared by the reader, the validator and the writers.

Thai digits are data here, not decoration: divisions type ``๒.๑`` for 2.1 and ``๒๕๖๓`` for 2563.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
_TO_ARABIC = str.maketrans(THAI_DIGITS, "0123456789")
_TO_THAI = str.maketrans("0123456789", THAI_DIGITS)
THAI_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
BUDDHIST_ERA_OFFSET = 543
_SPACES = re.compile(r"[\s\u200b\u00a0_\-]+")


def to_arabic_digits(text: str) -> str:
    """Replace Thai digits with Arabic ones, leaving everything else alone."""
    return text.translate(_TO_ARABIC)


def to_thai_digits(text: str) -> str:
    """Replace Arabic digits with Thai ones (for display only)."""
    return text.translate(_TO_THAI)


def normalize_label(text: object) -> str:
    """Fold a sheet name, header or key for matching: case, spaces, underscores and digit script."""
    if text is None:
        return ""
    folded = unicodedata.normalize("NFC", str(text)).casefold()
    return _SPACES.sub("", to_arabic_digits(folded))


_SPLIT_SARA_AM = re.compile("\u0e4d([\u0e48-\u0e4b]?)\u0e32")
"""NIKHAHIT + SARA AA, with a tone mark between or not: how old keyboards and PDF text type SARA AM."""


def division_key(name: object) -> str:
    """The identity of a division name: two names with one key are one division.

    Thai-aware on top of ``normalize_label``: SARA AM typed as NIKHAHIT + SARA AA (``ํา``) is SARA AM
    (``ำ``), format characters (Unicode category Cf: zero-width space and joiners, soft hyphen,
    direction marks, BOM) are dropped, white space does not count and Thai digits are Arabic ones.
    Names that look the same on screen get the same key. The name as typed is what reports show.
    """
    if name is None:
        return ""
    text = unicodedata.normalize("NFC", str(name))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = _SPLIT_SARA_AM.sub("\\1\u0e33", text)
    return normalize_label(text)


_OOXML_CONTROL = re.compile(r"_x(00[01][0-9A-Fa-f])_")


def restore_control_chars(value: object) -> object:
    """Undo the ``_x001F_`` escape of control characters in text read by openpyxl.

    Excel (and xlsxwriter) store a control character, which XML cannot hold, as ``_xHHHH_``;
    openpyxl hands the escape back as literal text. Only control characters are restored: that is
    all Excel escapes this way, and calamine already returns them restored.
    """
    if isinstance(value, str) and "_x" in value:
        return _OOXML_CONTROL.sub(lambda m: chr(int(m.group(1), 16)), value)
    return value


def clean_text(value: object) -> str | None:
    """A cell's text with surrounding white space removed; None when blank."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value)).strip()
    return text or None


_CODE = re.compile(r"\d+(?:\.\d+)*")


def normalize_code(value: object) -> str | None:
    """A KPI code as a string of Arabic digits and dots (``๒.๑`` -> ``2.1``), or None if not a code.

    Numeric cells are accepted (a float 2.1 becomes ``2.1``), though text is the only way to write
    ``2.10``; the template formats the column as text for that reason.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
        if text.endswith(".0"):
            text = text[:-2]
    else:
        text = to_arabic_digits(unicodedata.normalize("NFC", str(value))).strip()
        text = re.sub(r"^(ข้อ|ตัวชี้วัดที่|ตัวชี้วัด|kpi)\s*", "", text, flags=re.IGNORECASE)
        text = text.rstrip(".").strip()
    return text if _CODE.fullmatch(text) else None


def code_key(code: str) -> tuple[int, ...]:
    """Natural sort key for KPI codes: 2.9 before 2.10."""
    return tuple(int(part) for part in code.split("."))


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files``: what the command line prints for a count of something."""
    return f"{count} {noun if count == 1 else (plural or noun + 's')}"


def thai_datetime(at: dt.datetime) -> str:
    """``15 ตุลาคม 2563 เวลา 09:30 น.``: a time as Thai documents write it (Buddhist-era year)."""
    month = THAI_MONTHS[at.month - 1]
    return f"{at.day} {month} {at.year + BUDDHIST_ERA_OFFSET} เวลา {at.hour:02d}:{at.minute:02d} น."
