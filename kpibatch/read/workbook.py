"""Open a workbook once, hash its bytes, and hand out its sheets as plain rows of values.

The rest of the reader never touches a workbook library: it sees ``RawSheet`` objects that carry each
cell's value and whether a number was formatted as a percentage (the one number format that changes
what a value means here: 0.875 formatted as % is 87.5).

Values come from python-calamine (Rust), about fifteen times faster than openpyxl's read-only mode;
what calamine does not give (number formats, defined names, error cells) comes from
``kpibatch.read.package``. calamine aborts the whole process on some hostile files (a sheet that
claims A1:XFD1048576 makes it allocate for every cell), so ``kpibatch.parallel`` keeps reading out of
the main process.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import python_calamine

from kpibatch.model import SourceFile
from kpibatch.read.archive import Archive
from kpibatch.read.package import Package, PackageError

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
        """The value at (row, col), both 0-based and never negative; None beyond the data."""
        try:  # the reader calls this for every cell it looks at; the hit path must be cheap
            return self.rows[row][col]
        except IndexError:
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
    _package: Package

    def sheet(self, name: str) -> RawSheet:
        try:
            rows = self._book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            marks = self._package.sheet_marks(name)
        except PackageError as exc:
            raise WorkbookError(str(exc)) from exc
        except MemoryError:
            raise  # the sheet is too big for this process, which is not the same as damaged
        except Exception as exc:  # calamine raises its own types for damaged sheets; all mean unreadable
            raise WorkbookError(f"{type(exc).__name__}: {exc}") from exc
        values = [[_value(v) for v in row] for row in rows]
        for (r, c), error in marks.errors.items():
            while len(values) <= r:
                values.append([])
            row = values[r]
            row.extend([None] * (c + 1 - len(row)))
            row[c] = error
        # calamine shows a formula without a cached value as a blank; the package's scan tells them apart
        return RawSheet(name=name, rows=values, percent=marks.percent, formulas=marks.formulas)

    def close(self) -> None:
        self._book.close()
        self._package.close()


_MAX_EXACT_INT = 2**53


def _value(value: Any) -> Any:
    """calamine's value as openpyxl gave it: blank is None, and a whole number is an int."""
    if value == "":
        return None
    if type(value) is float and value.is_integer() and -_MAX_EXACT_INT < value < _MAX_EXACT_INT:
        return int(value)
    return value


def source_of(path: Path, data: bytes) -> SourceFile:
    stat = path.stat()
    return SourceFile(
        name=path.name,
        path=str(path),
        sha256=hashlib.sha256(data).hexdigest(),
        mtime=stat.st_mtime,
        size=len(data),
    )


def open_book(path: Path, archive: Archive | None = None) -> RawBook:
    """Read the file's bytes once (hashing them) and open them as a workbook; with ``archive``, the
    file as the precheck already read it (the reader owns it from here and closes it)."""
    try:
        data = archive.data if archive is not None else path.read_bytes()
        source = source_of(path, data)
    except OSError as exc:  # vanished, locked by another program, or not a regular file
        if archive is not None:
            archive.close()
        raise WorkbookError(f"{type(exc).__name__}: {exc.strerror or exc}") from exc
    try:
        package = Package(archive if archive is not None else Archive(data))
    except (zipfile.BadZipFile, PackageError, ValueError, OSError, EOFError) as exc:
        if archive is not None:
            archive.close()
        raise WorkbookError(f"{type(exc).__name__}: {exc}") from exc
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = [m.name for m in book.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet]
    except Exception as exc:  # calamine raises many types on damaged files; all mean "unreadable"
        package.close()
        raise WorkbookError(f"{type(exc).__name__}: {exc}") from exc
    return RawBook(
        source=source,
        sheet_names=names,
        defined_names=package.defined_names,
        _book=book,
        _package=package,
    )


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
