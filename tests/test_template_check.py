"""The template's own weight check agrees with the reader on every spelling the contract accepts.

Generated templates are filled with openpyxl the way a clerk types (Thai digits, a percent sign, a
percent-formatted cell, ``ข้อ 2.1``, thousands separators), recalculated by LibreOffice headless, and the
check cells' calculated values are read back and compared with what kpibatch reads from the same file.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kpibatch.cli import main
from kpibatch.read import read_submission
from kpibatch.score import hierarchy
from kpibatch.template.layout import (
    DIVISION_SHEET,
    KPI_CHECK_ROW,
    KPI_COLUMN_INDEX,
    KPI_FIRST_ROW,
    KPI_SHEET,
    TOP_LEVEL_COLUMN,
)
from kpibatch.template.writer import weight_check_text
from kpibatch.validate import validate

NBSP = "\u00a0"
Row = tuple[Any, Any] | tuple[Any, Any, str]
"""(code, weight) or (code, weight, number format of the weight cell)."""

CASES: dict[str, list[Row]] = {
    "thai-digit-weight": [("1", "๒"), ("2", 98)],
    "thai-digit-child-codes": [("13", 50), ("๑๓.๑", 30), ("๑๓.๒", 20), ("14", 50)],
    "all-thai": [("๑", "๖๐"), ("๑.๑", "๑๐"), ("๑.๒", "๕๐"), ("๒", "๔๐")],
    "code-prefixes": [("ข้อ 1", 60), ("ข้อ 1.1", 30), ("1.2.", 30), ("ตัวชี้วัดที่ 2", 30), ("KPI 3", 10)],
    "percent-text-and-cell": [("1", "40%"), ("2", 0.6, "0%"), ("2.1", "๕๐%")],
    "separators-and-spaces": [("1", f" 50{NBSP}"), ("2", "50.00"), ("2.1", "1,000"), ("2.2", "2,000.5")],
    "decimal-thai": [("1", "๑๒.๕"), ("2", 87.5)],
    "numeric-codes": [(1, 30), (1.1, 10), (2, 70), (2.1, 5)],
    "short-in-thai": [("1", "๕๐"), ("2", "๔๗"), ("2.1", "๑๐")],
    "over-with-percent": [("1", "55%"), ("2", 50), ("ข้อ 2.1", "๕")],
}


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _fill(template: Path, target: Path, rows: list[Row]) -> Path:
    wb = openpyxl.load_workbook(template)
    details = wb[DIVISION_SHEET]
    for row, value in zip(range(3, 7), ("กองทดสอบช่องตรวจ", None, 2563, 12), strict=True):
        details.cell(row, 2).value = value
    ws = wb[KPI_SHEET]
    for r, (code, weight, *number_format) in enumerate(rows, start=KPI_FIRST_ROW + 1):
        ws.cell(r, KPI_COLUMN_INDEX["code"] + 1).value = code
        ws.cell(r, KPI_COLUMN_INDEX["name"] + 1).value = f"ตัวชี้วัด {code}"
        cell = ws.cell(r, KPI_COLUMN_INDEX["weight"] + 1)
        cell.value = weight
        if number_format:
            cell.number_format = number_format[0]
    wb.save(target)
    return target


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Each case filled into a freshly generated template, and its LibreOffice-recalculated copy."""
    soffice = _soffice()
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed here: the check cannot be recalculated")
    root = tmp_path_factory.mktemp("check")
    template = root / "template.xlsx"
    assert main(["template", "--out", str(template)], out=io.StringIO()) == 0
    filled = {name: _fill(template, root / f"{name}.xlsx", rows) for name, rows in CASES.items()}
    out = root / "lo"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(root / 'profile').as_uri()}",  # private: no clash with another soffice
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            *map(str, filled.values()),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "HOME": str(root)},
    )
    return {name: (path, out / path.name) for name, path in filled.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_the_check_cell_shows_what_the_reader_adds(
    recalculated: dict[str, tuple[Path, Path]], case: str
) -> None:
    filled, calculated = recalculated[case]
    read = read_submission(filled)
    assert read.submission is not None, [p.render() for p in read.problems]
    assert [p.render() for p in read.problems] == []  # the reader accepts every spelling here
    rows = {row.code: row for row in read.submission.kpis}
    parent_of = hierarchy.parents(rows)
    top = [code for code in rows if parent_of[code] is None]
    total = sum((rows[c].weight for c in top), Decimal(0))  # type: ignore[misc]

    ws = openpyxl.load_workbook(calculated, data_only=True)[KPI_SHEET]
    check_row = KPI_CHECK_ROW + 1
    weight_col = KPI_COLUMN_INDEX["weight"] + 1
    shown_total, shown_text = ws.cell(check_row, weight_col).value, ws.cell(check_row, weight_col + 1).value
    assert Decimal(str(shown_total)).quantize(Decimal("0.001")) == total.quantize(Decimal("0.001"))
    assert shown_text == weight_check_text(total)
    flags = [ws.cell(KPI_FIRST_ROW + 1 + i, TOP_LEVEL_COLUMN + 1).value for i in range(len(rows))]
    assert flags == [1 if parent_of[row.code] is None else 0 for row in read.submission.kpis]
    # and the verdict is the validator's: red exactly when the file would be rejected for its weights
    weight_sum = [p for p in validate(read.submission) if p.code == "weight-sum"]
    assert bool(weight_sum) == (shown_text != "ครบ 100 / OK")
