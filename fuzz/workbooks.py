"""Division workbooks written cell by cell with xlsxwriter, exactly as typed.

Unlike ``tests/helpers.py`` (openpyxl, which refuses control characters and turns ``=...`` into a
formula), every value here lands as its own type: text stays text even when it reads ``=cmd|...``,
and control characters are stored the way Excel stores them (``_x001F_``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter

KPI_HEADER = ("code", "name", "unit", "weight", "method", "level1", "level2", "level3", "level4", "level5")
KPI_HEADER += ("result", "status", "note")


@dataclass(frozen=True)
class Formula:
    """A formula cell, with or without a cached value."""

    text: str
    value: Any = None


@dataclass(frozen=True)
class Percent:
    """A number cell formatted as a percentage."""

    value: float


def write_cell(ws: Any, row: int, col: int, value: Any, formats: dict[str, Any]) -> None:
    if value is None:
        return
    if isinstance(value, Formula):
        ws.write_formula(row, col, value.text, None, value.value if value.value is not None else "")
    elif isinstance(value, Percent):
        ws.write_number(row, col, value.value, formats["percent"])
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value)
    elif isinstance(value, dt.datetime | dt.date):
        ws.write_datetime(row, col, value, formats["date"])
    else:
        ws.write_string(row, col, str(value))


def write_workbook(
    path: Path,
    division: Sequence[Sequence[Any]],
    kpis: Sequence[Sequence[Any]],
    reallocations: Sequence[Sequence[Any]] | None = None,
    sheet_names: tuple[str, str, str] = ("Division", "KPIs", "Reallocations"),
) -> Path:
    """A workbook with the three contract sheets; ``kpis`` and ``reallocations`` include their
    header rows, so that callers can shuffle, drop or misspell columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    book = xlsxwriter.Workbook(str(path), options)
    formats = {
        "percent": book.add_format({"num_format": "0.0%"}),
        "date": book.add_format({"num_format": "d/m/yyyy"}),
    }
    for name, rows in zip(sheet_names, (division, kpis, reallocations), strict=True):
        if rows is None:
            continue
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                write_cell(ws, r, c, value, formats)
    book.close()
    return path


def division_rows(
    division: str, short_name: str | None = None, year: Any = 2563, round_: Any = 12
) -> list[list[Any]]:
    return [["division", division], ["short_name", short_name], ["fiscal_year", year], ["round", round_]]


def score_rows(names: Sequence[str], **columns: Sequence[Any]) -> list[list[Any]]:
    """A KPI sheet of ``score``-method KPIs with equal weights summing to 100 (len(names) divides
    100), each scoring 4; ``columns`` overrides a column per row (``unit=[...]``)."""
    weight = 100 / len(names)
    rows: list[list[Any]] = [list(KPI_HEADER)]
    for i, name in enumerate(names):
        row: dict[str, Any] = {
            "code": str(i + 1),
            "name": name,
            "weight": weight,
            "method": "score",
            "result": 4,
        }
        for key, values in columns.items():
            row[key] = values[i] if i < len(values) else None
        rows.append([row.get(key) for key in KPI_HEADER])
    return rows
