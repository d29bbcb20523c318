"""The template's number validation lets through every spelling of a number the reader accepts and
refuses words.

The validation formulas are read back from a generated template with openpyxl, written as cell
formulas next to typed values (moved as Excel moves a validation formula from its range's top-left
cell to another cell), recalculated by LibreOffice headless, and the results read back.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.formula.translate import Translator

from kpibatch.cli import main
from kpibatch.read.numbers import NotANumber, parse_number
from kpibatch.template.layout import KPI_SHEET, REALLOCATION_SHEET

NBSP = "\u00a0"
ACCEPTED: list[Any] = ["๒", "๑,๒๕๐", "1,250", "5%", "๕๐%", " 50 ", f"50{NBSP}", "๑๒.๕", "-", "—", "−5", "+3"]
"""Text a clerk may type that the reader reads (the validations' bounds apply to numbers only)."""
REFUSED: list[Any] = ["ห้าสิบ", "abc", "5 คะแนน", "ร้อยละ 80", "N/A", "๒ ข้อ"]
"""Words, and numbers with words: the reader refuses them too."""
RULES = {
    # name: (sheet, top-left cell of the validated range, numbers accepted, numbers refused)
    "weight": (KPI_SHEET, "D5", [0, 2, 1250 / 100, 100], [-1, 100.5]),
    "levels": (KPI_SHEET, "G5", [-5, 0, 87.5, 1250], [2e9]),
    "result": (KPI_SHEET, "L5", [0, 87.5, 1250], [-2e9]),
    "verified_result": (KPI_SHEET, "M5", [0, 4.5], [2e9]),
    "reallocation weight": (REALLOCATION_SHEET, "C3", [0.5, 5], [0, -1]),
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.xlsx"
    assert main(["template", "--out", str(path)], out=io.StringIO()) == 0
    return path


def _rules(template: Path) -> dict[str, str]:
    """Each rule's formula, as the file holds it for its range's top-left cell."""
    wb = openpyxl.load_workbook(template)
    found: dict[str, str] = {}
    for name, (sheet, cell, *_) in RULES.items():
        [dv] = [
            dv
            for dv in wb[sheet].data_validations.dataValidation
            if any(r.coord.split(":")[0] == cell for r in dv.sqref.ranges)
        ]
        assert dv.type == "custom", (name, dv.type)  # a decimal type refuses every text, ๒ too
        assert len(dv.formula1) <= 255  # Excel's limit for a validation formula
        found[name] = dv.formula1
    return found


def test_the_reader_accepts_what_the_validation_must_let_through():
    for value in ACCEPTED:
        parse_number(value)
    for value in REFUSED:
        with pytest.raises(NotANumber):
            parse_number(value)


@pytest.fixture(scope="module")
def verdicts(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[Any, Any]]]:
    """For each rule: (typed value, the rule's result as LibreOffice calculates it)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed here: the formulas cannot be calculated")
    root = tmp_path_factory.mktemp("validation")
    rules = _rules(template)
    wb = openpyxl.Workbook()
    ws = wb.active
    placed: dict[str, list[tuple[Any, int]]] = {}
    row = 1
    for name, (_, cell, good_numbers, bad_numbers) in RULES.items():
        for value in [*ACCEPTED, *REFUSED, *good_numbers, *bad_numbers]:
            ws.cell(row, 1).value = value
            # the formula as Excel applies it to the typed cell, A<row>, written beside it
            ws.cell(row, 2).value = Translator("=" + rules[name], origin=cell).translate_formula(f"A{row}")
            placed.setdefault(name, []).append((value, row))
            row += 1
    sheet = root / "rules.xlsx"
    wb.save(sheet)
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
            str(sheet),
        ],
        check=True,
        capture_output=True,
        timeout=240,
        env={**os.environ, "HOME": str(root)},
    )
    calculated = openpyxl.load_workbook(out / sheet.name, data_only=True).active
    return {
        name: [(value, calculated.cell(r, 2).value) for value, r in cells] for name, cells in placed.items()
    }


@pytest.mark.parametrize("rule", list(RULES))
def test_the_validation_accepts_thai_digits_and_refuses_words(
    verdicts: dict[str, list[tuple[Any, Any]]], rule: str
) -> None:
    _, _, good_numbers, bad_numbers = RULES[rule]
    shown = dict(verdicts[rule])
    assert all(isinstance(v, bool) for v in shown.values()), shown  # calculated, not an error
    assert [v for v in ACCEPTED if not shown[v]] == []
    assert [v for v in REFUSED if shown[v]] == []
    assert [v for v in good_numbers if not shown[v]] == []
    assert [v for v in bad_numbers if shown[v]] == []
