"""Excel sheet names: at most 31 characters, none of ``[]:*?/\\``, unique case-insensitively."""

from __future__ import annotations

import re

MAX_LEN = 31
_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
RESERVED = {"history"}  # Excel reserves this name


def clean_sheet_name(name: str) -> str:
    text = _FORBIDDEN.sub(" ", name)
    text = re.sub(r"\s+", " ", text).strip().strip("'")
    return text or "Sheet"


class SheetNamer:
    """Hands out unique, valid sheet names; a clash gets a numbered suffix within 31 characters."""

    def __init__(self, taken: list[str] | None = None) -> None:
        self._taken: set[str] = {n.casefold() for n in taken or []}

    def claim(self, wanted: str) -> str:
        base = clean_sheet_name(wanted)[:MAX_LEN].rstrip()
        candidate = base
        counter = 2
        while candidate.casefold() in self._taken or candidate.casefold() in RESERVED:
            suffix = f" ({counter})"
            candidate = base[: MAX_LEN - len(suffix)].rstrip() + suffix
            counter += 1
        self._taken.add(candidate.casefold())
        return candidate
