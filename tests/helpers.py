"""Build real division workbooks for tests with openpyxl, the way a script or a person fills them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

KPI_COLUMNS = (
    "code",
    "name",
    "unit",
    "weight",
    "method",
    "direction",
    "level1",
    "level2",
    "level3",
    "level4",
    "level5",
    "result",
    "status",
    "note",
)


@dataclass(frozen=True)
class Percent:
    """A number cell formatted as a percentage (Excel stores 87.5 % as 0.875)."""

    value: float


def kpi(code: str, weight: Any, name: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"code": code, "name": name or f"ตัวชี้วัด {code}", "weight": weight, **fields}


def write_submission(
    path: Path,
    kpis: list[dict[str, Any]],
    *,
    division: str = "กองทดสอบระบบ",
    short_name: str | None = None,
    fiscal_year: Any = 2563,
    round_: Any = 12,
    reallocations: list[dict[str, Any]] | None = None,
    sheet_names: tuple[str, str, str] = ("Division", "KPIs", "Reallocations"),
    columns: tuple[str, ...] = KPI_COLUMNS,
    title_rows: int = 0,
    division_rows: list[tuple[Any, Any]] | None = None,
) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet_names[0]
    rows = (
        division_rows
        if division_rows is not None
        else [
            ("division", division),
            ("short_name", short_name),
            ("fiscal_year", fiscal_year),
            ("round", round_),
        ]
    )
    for key, value in rows:
        ws.append([key, value])

    ws = wb.create_sheet(sheet_names[1])
    for i in range(title_rows):
        ws.append([f"title row {i + 1}"])
    ws.append(list(columns))
    for item in kpis:
        ws.append([None] * len(columns))
        r = ws.max_row
        for c, column in enumerate(columns, start=1):
            value = item.get(column)
            cell = ws.cell(row=r, column=c)
            if isinstance(value, Percent):
                cell.value = value.value
                cell.number_format = "0.0%"
            else:
                cell.value = value
                if column == "code":
                    cell.number_format = "@"

    if reallocations is not None:
        ws = wb.create_sheet(sheet_names[2])
        ws.append(["from", "to", "weight", "reason"])
        for move in reallocations:
            ws.append([move.get("from"), move.get("to"), move.get("weight"), move.get("reason")])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def simple_kpis(scores: dict[str, float], weights: dict[str, float]) -> list[dict[str, Any]]:
    """KPIs scored by the ``score`` method: result = score."""
    return [kpi(code, weights[code], method="score", result=scores[code]) for code in weights]
