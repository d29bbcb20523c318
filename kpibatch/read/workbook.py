"""Open a workbook once, hash its bytes, and hand out its sheets as plain rows of values.

The rest of the reader never touches openpyxl: it sees ``RawSheet`` objects that carry each cell's
value and whether a number was formatted as a percentage (the one number format that changes what a
value means here: 0.875 formatted as % is 87.5).
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl

from kpibatch.model import SourceFile
from kpibatch.read.formulas import uncached_formulas
from kpibatch.text import restore_control_chars

Cell = tuple[int, int]
"""(row, column), both 0-based."""


@dataclass
class RawSheet:
    name: str
    rows: list[list[Any]]
    percent: set[Cell] = field(default_factory=set)
    formulas: dict[Cell, str] = field(default_factory=dict)
    """Formula cells that have no cached value: reading them would silently give a blank."""

    def value(self, row: int, col: int) -> Any:
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return None

    def is_percent(self, row: int, col: int) -> bool:
        return (row, col) in self.percent


class WorkbookError(Exception):
    """The file is not a workbook that can be opened."""


@dataclass
class RawBook:
    source: SourceFile
    sheet_names: list[str]
    defined_names: dict[str, str]
    _book: Any
    data: bytes = b""
    """The file's bytes, for scans that look at the XML itself."""

    def sheet(self, name: str) -> RawSheet:
        sheet = _load_sheet(self._book[name])
        # Value readers show a formula without a cached value as a blank; the XML scan tells them apart.
        sheet.formulas = uncached_formulas(self.data, name)
        return sheet

    def close(self) -> None:
        self._book.close()


def source_of(path: Path, data: bytes) -> SourceFile:
    stat = path.stat()
    return SourceFile(
        name=path.name,
        path=str(path),
        sha256=hashlib.sha256(data).hexdigest(),
        mtime=stat.st_mtime,
        size=len(data),
    )


def open_book(path: Path) -> RawBook:
    """Read the file's bytes once (hashing them) and open them as a workbook."""
    data = path.read_bytes()
    source = source_of(path, data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError) as exc:
        raise WorkbookError(f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # openpyxl raises many types on damaged files; all mean "unreadable"
        raise WorkbookError(f"{type(exc).__name__}: {exc}") from exc
    names: dict[str, str] = {}
    try:
        for name, defined in book.defined_names.items():
            names[name] = str(defined.attr_text)
    except Exception:  # defined names are optional metadata; a damaged table must not reject the file
        names = {}
    return RawBook(
        source=source, sheet_names=list(book.sheetnames), defined_names=names, _book=book, data=data
    )


def _load_sheet(ws: Any) -> RawSheet:
    rows: list[list[Any]] = []
    percent: set[Cell] = set()
    for r, row in enumerate(ws.iter_rows()):
        values: list[Any] = []
        for c, cell in enumerate(row):
            value = restore_control_chars(getattr(cell, "value", None))
            values.append(value)
            if isinstance(value, int | float) and not isinstance(value, bool):
                fmt = getattr(cell, "number_format", None) or ""
                if "%" in fmt:
                    percent.add((r, c))
        rows.append(values)
    return RawSheet(name=ws.title, rows=rows, percent=percent)


def is_lock_or_hidden(path: Path) -> bool:
    """Excel lock files (``~$name.xlsx``), hidden files and temporary files are never inputs."""
    name = path.name
    return name.startswith(("~$", ".")) or name.endswith((".tmp", ".part", ".crdownload"))


SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".csv"}
"""Only .xlsx and .xlsm are read; the others are listed so that they are rejected with a reason
(save as .xlsx) rather than silently left in the inbox."""


def list_workbooks(folder: Path) -> list[Path]:
    """Every spreadsheet-like file directly in ``folder``, in a stable order."""
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            path = Path(entry.path)
            if not entry.is_file() or is_lock_or_hidden(path):
                continue
            if path.suffix.lower() in SPREADSHEET_SUFFIXES:
                found.append(path)
    return sorted(found, key=lambda p: p.name)
