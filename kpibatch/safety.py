"""Output safety: text typed by divisions stays text wherever kpibatch writes it.

The consolidated workbook is opened by executives in Excel, so no text from a submission may become a
formula, a link, a number or markup there (``safe_workbook``, ``write_text``), and text longer than
a cell holds is cut visibly with a warning rather than silently by xlsxwriter (``fit_cell_text``,
``clip_submission``). Division names used in file names cannot leave their folder (``safe_filename``,
``safe_child``). And the XML parser openpyxl uses must be defusedxml's (``require_defused_xml``).

Mail headers are the mail module's concern: a division name must go through ``email.headerregistry``
/ ``email.policy.SMTP`` (which rejects CR and LF in header values), never into a header by string
concatenation.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

import xlsxwriter

from kpibatch.model import Submission
from kpibatch.problems import Problem, TextTooLong

log = logging.getLogger("kpibatch.safety")

EXCEL_MAX_TEXT = 32_767
"""Characters a cell holds, counted in UTF-16 units as Excel counts them."""
CUT_MARK = " …[ตัดข้อความ / text cut]"
RICH_TEXT_START = "<r>"
SAFE_WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


class UnsafeEnvironment(RuntimeError):
    """The installed libraries would parse untrusted workbooks unsafely."""


def require_defused_xml() -> None:
    """Fail clearly unless XML from submissions is parsed through defusedxml.

    kpibatch's own scans (``kpibatch.read.formulas``) parse with defusedxml, and openpyxl switches to
    it only when it can import it at start-up and the environment does not set
    ``OPENPYXL_DEFUSEDXML=False``. openpyxl itself is checked when it is loaded; otherwise its own
    rule is applied without importing it (an import ``run`` does not need: the reader is
    python-calamine).
    """
    import importlib.util
    import os
    import sys

    openpyxl = sys.modules.get("openpyxl")
    if openpyxl is not None:
        safe = getattr(openpyxl, "DEFUSEDXML", False) is True
    else:
        safe = (
            os.environ.get("OPENPYXL_DEFUSEDXML", "True") == "True"
            and importlib.util.find_spec("defusedxml") is not None
        )
    if not safe:
        raise UnsafeEnvironment(
            "openpyxl ไม่ได้ใช้ defusedxml ในการอ่าน XML จึงไม่ปลอดภัยที่จะอ่านไฟล์ที่ส่งเข้ามา / "
            "openpyxl is not using defusedxml to parse XML, so reading submitted files is unsafe: "
            "install defusedxml (pip install defusedxml) and unset OPENPYXL_DEFUSEDXML"
        )


# --- text that fits a cell -----------------------------------------------------------------------


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit_cell_text(text: str, limit: int = EXCEL_MAX_TEXT) -> tuple[str, bool]:
    """``text`` cut to ``limit`` UTF-16 units with a visible mark, and whether it was cut.

    Never splits a surrogate pair (an emoji) or leaves a Thai combining mark without its base.
    """
    if len(text) <= limit // 2 or utf16_len(text) <= limit:
        return text, False
    budget = limit - utf16_len(CUT_MARK)
    kept: list[str] = []
    used = 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > budget:
            break
        kept.append(char)
        used += width
    while kept and _is_mark(kept[-1]):
        kept.pop()
    return "".join(kept) + CUT_MARK, True


def _is_mark(char: str) -> bool:
    """A combining mark (Thai vowels above and below, tone marks): never left without its base."""
    return unicodedata.category(char).startswith("M")


def safe_workbook(filename: Any = None, options: dict[str, Any] | None = None) -> xlsxwriter.Workbook:
    """An xlsxwriter workbook whose strings never become formulas, links or numbers.

    The three conversions are xlsxwriter's documented constructor options, forced off whatever
    ``options`` say. Writers still use ``write_text`` for text (markup, and the intent stays visible).
    """
    return xlsxwriter.Workbook(filename, {**(options or {}), **SAFE_WORKBOOK_OPTIONS})


def write_text(ws: Any, row: int, col: int, text: str, cell_format: Any) -> None:
    """``text`` into one cell as plain text, cut with a mark and a logged warning when too long.

    xlsxwriter takes a string that starts with ``<r>`` (and ends with ``</r>``) for the rich-text
    XML its ``write_rich_string`` makes and copies it into the workbook as markup, so a division
    that typed such a text could put any XML there. Such a text is written with
    ``write_rich_string`` in two runs of the cell's own format: xlsxwriter escapes each run, and
    the cell shows exactly what was typed, in the cell's font.
    """
    fitted, cut = fit_cell_text(text)
    if cut:
        where, length = f"{ws.get_name()}!R{row + 1}C{col + 1}", f"{len(text):,}"
        log.warning(
            "ข้อความที่ %s ยาว %s ตัวอักษร ถูกตัดให้พอดีเซลล์ / text at %s is %s characters long and was cut",
            where,
            length,
            where,
            length,
        )
    if fitted.startswith(RICH_TEXT_START):
        if cell_format is None:  # runs in xlsxwriter's default font, as the cell's own
            ws.write_rich_string(row, col, fitted[:1], fitted[1:2], fitted[2:])
        else:
            ws.write_rich_string(row, col, cell_format, fitted[:1], cell_format, fitted[1:], cell_format)
    else:
        ws.write_string(row, col, fitted, cell_format)


def header_footer_text(text: str) -> str:
    """Text for a print header or footer: ``&`` starts a control code there (``&F`` = file path)."""
    return text.replace("&", "&&")


# --- submission texts that would not fit a cell --------------------------------------------------

_TEXT_FIELDS = {
    "name": ("รายละเอียดตัวชี้วัด", "The KPI description"),
    "unit": ("หน่วยวัด", "The unit"),
    "status": ("สถานะ", "The status"),
    "note": ("หมายเหตุ", "The note"),
}


def clip_submission(sub: Submission) -> tuple[Submission, list[Problem]]:
    """The submission with every text cut to what a cell holds, and a warning per text cut.

    They are cut here, where the warning can name the cell; a writer that adds a prefix (an
    indentation, a code) relies on ``write_text`` for the last few characters.
    """
    problems: list[Problem] = []
    limit = EXCEL_MAX_TEXT

    def clip(
        text: str | None, field_th: str, field_en: str, sheet: str, cell: str, kpi: str | None = None
    ) -> str | None:
        if text is None:
            return None
        fitted, cut = fit_cell_text(text, limit)
        if cut:
            params = {
                "field_th": field_th,
                "field_en": field_en,
                "length": f"{len(text):,}",
                "limit": f"{limit:,}",
                **({"kpi": kpi} if kpi is not None else {}),  # the division sheet shows it on the row
            }
            problems.append(TextTooLong(file=sub.source.name, sheet=sheet, cell=cell, params=params))
        return fitted

    sheets = sub.sheets
    division = clip(sub.division, "ชื่อหน่วยงาน", "The division name", sheets.division, "")
    short_name = clip(sub.short_name, "ชื่อย่อ", "The short name", sheets.division, "")
    kpis = []
    for row in sub.kpis:
        changes = {
            key: clip(getattr(row, key), th, en, sheets.kpis, row.cells.get(key, ""), row.code)
            for key, (th, en) in _TEXT_FIELDS.items()
        }
        kpis.append(dataclasses.replace(row, **changes))
    moves = [
        dataclasses.replace(
            move,
            reason=clip(
                move.reason, "เหตุผล", "The reason", sheets.reallocations, move.cells.get("reason", "")
            ),
        )
        for move in sub.reallocations
    ]
    if not problems:
        return sub, []
    clipped = dataclasses.replace(
        sub, division=division or "", short_name=short_name, kpis=tuple(kpis), reallocations=tuple(moves)
    )
    return clipped, problems


# --- file names made from division names ---------------------------------------------------------

_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$", re.IGNORECASE)
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
MAX_NAME_BYTES = 180
"""Most file systems allow 255 bytes; Thai takes 3 bytes a character in UTF-8; leave room for suffixes."""


def safe_filename(name: str, *, default: str = "unnamed", max_bytes: int = MAX_NAME_BYTES) -> str:
    """A single file-name component made from arbitrary text, valid on Windows, macOS and Linux.

    No separators or ``..`` (the name cannot leave its folder), no characters Windows forbids, no
    reserved device names (``CON``, ``NUL``, ``COM1``... also with an extension), no leading dot or
    dash (hidden files, command options), no trailing dot or space (Windows drops them), NFC, and at
    most ``max_bytes`` UTF-8 bytes. An empty result becomes ``default``.
    """
    text = unicodedata.normalize("NFC", name)
    text = _UNSAFE_CHARS.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = text.lstrip(".-").rstrip(". ")
    text = re.sub(r"\.{2,}", ".", text)
    encoded = text.encode("utf-8")
    if len(encoded) > max_bytes:
        text = encoded[:max_bytes].decode("utf-8", errors="ignore")
        while text and _is_mark(text[-1]):
            text = text[:-1]
        text = text.rstrip(". ")
    if not text:
        text = default
    stem = text.split(".", 1)[0].rstrip(" ")
    if _WINDOWS_RESERVED.match(stem):
        text = "_" + text
    return text


def safe_child(folder: Path, name: str, suffix: str = "") -> Path:
    """``folder / (safe_filename(name) + suffix)``, checked to stay directly inside ``folder``.

    ``suffix`` comes from the program (``.xlsx``), never from a submission. The check after resolving
    also refuses a name that an existing symbolic link would carry out of the folder.
    """
    if suffix and not re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix):
        raise ValueError(f"unsafe suffix: {suffix!r}")
    child = folder / (safe_filename(name) + suffix)
    if child.parent != folder or child.resolve().parent != folder.resolve():
        raise ValueError(f"unsafe file name: {name!r}")
    return child
