"""Excel sheet names: at most 31 characters, none of ``[]:*?/\\`` (nor ``!``), unique case-insensitively.

Checked here, before ``add_worksheet``: xlsxwriter refuses a name that breaks Excel's rules by raising,
and a division's name must never be the reason the report is not written. Length counts UTF-16 units,
as Excel and xlsxwriter count it (an emoji is two).

A division's sheet is named by its ``short_name`` when it gives one; otherwise its full name is
shortened. Thai vowel and tone marks belong to the consonant before them, so a name is only ever cut
between whole characters as a reader sees them, and a cut name ends with ``…`` to show it was cut.
"""

from __future__ import annotations

import re
import unicodedata

from kpibatch.safety import utf16_len

MAX_LEN = 31
ELLIPSIS = "…"
_FORBIDDEN = re.compile(r"[\[\]:*?/\\!\x00-\x1f\x7f]")
"""Excel forbids ``[]:*?/\\``; ``!`` is allowed but separates sheet and cell in every reference."""
RESERVED = {"history"}  # Excel reserves this name
_LEADING_VOWELS = "\u0e40\u0e41\u0e42\u0e43\u0e44"  # เ แ โ ใ ไ are written before their consonant


def clean_sheet_name(name: str) -> str:
    text = unicodedata.normalize("NFC", _FORBIDDEN.sub(" ", name))
    text = re.sub(r"\s+", " ", text).strip().strip("'").strip()
    return text or "Sheet"


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 units without splitting a Thai syllable's marks off."""
    if utf16_len(text) <= limit:
        return text
    end, used = 0, 0
    while used + utf16_len(text[end]) <= limit:
        used += utf16_len(text[end])
        end += 1
    while end > 0 and unicodedata.category(text[end]) in ("Mn", "Mc", "Me"):
        end -= 1  # the character after the cut is a mark: keep its consonant with it
    while end > 0 and text[end - 1] in _LEADING_VOWELS:
        end -= 1  # a leading vowel without the consonant it precedes means nothing
    return text[:end].rstrip()


def shorten(name: str, limit: int = MAX_LEN) -> str:
    """A valid sheet name for ``name``: cleaned, and cut with ``…`` when longer than ``limit``."""
    text = clean_sheet_name(name)
    if utf16_len(text) <= limit:
        return text
    return _cut(text, limit - len(ELLIPSIS)) + ELLIPSIS


class SheetNamer:
    """Hands out unique, valid sheet names; a clash gets a numbered suffix within 31 characters."""

    def __init__(self, taken: list[str] | tuple[str, ...] | None = None) -> None:
        self._taken: set[str] = {n.casefold() for n in taken or ()}

    def claim(self, wanted: str) -> str:
        candidate = shorten(wanted)
        counter = 2
        while candidate.casefold() in self._taken or candidate.casefold() in RESERVED:
            suffix = f" ({counter})"
            candidate = shorten(wanted, MAX_LEN - len(suffix)) + suffix
            counter += 1
        self._taken.add(candidate.casefold())
        return candidate
