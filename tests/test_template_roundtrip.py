"""Template -> filled the way a person or a script fills it -> ``run`` accepts and scores it.

The openpyxl fill keeps the template's formulas but drops their cached values (as any script does);
the LibreOffice round trip (``soffice --headless --convert-to xlsx``) recalculates them, which also
checks that the weight-sum formulas compute what the scorer computes.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kpibatch import contract
from kpibatch.cli import main
from kpibatch.pipeline import check_file
from kpibatch.read.formulas import uncached_formulas
from kpibatch.score import ScoreOptions
from kpibatch.template.layout import DIVISION_SHEET, KPI_COLUMN_INDEX, KPI_SHEET, REALLOCATION_SHEET

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "input_templates" / "kpi_template.xlsx"
LEVELS = (80, 85, 90, 95, 100)

# 1 = (4·3.5 + 4·4 + 2·5)/10 = 4.0; 2.1 scores 4.5 with weight 30 + 20 moved from 3.1; 4.1 is scored on
# the verified result 2 (self-assessed 3): total = (40·4 + 50·4.5 + 10·2)/100 = 4.05.
KPIS: list[dict[str, Any]] = [
    {"code": "1", "name": "ด้านประสิทธิภาพ", "weight": 40},
    {
        "code": "1.1",
        "name": "ร้อยละความพึงพอใจของผู้รับบริการ",
        "unit": "ร้อยละ",
        "weight": 4,
        "method": "เทียบเกณฑ์ / threshold",
        "direction": "มาก / higher",
        "levels": LEVELS,
        "result": 92.5,
    },
    {
        "code": "1.2",
        "name": "ร้อยละของข้อมูลที่ส่งไม่ทันเวลา",
        "unit": "ร้อยละ",
        "weight": 4,
        "method": "เทียบเกณฑ์ / threshold",
        "direction": "น้อย / lower",
        "levels": (5, 4, 3, 2, 1),
        "result": ("percent", 0.02),  # typed as 2% in Excel: 0.02 formatted as a percentage
    },
    {"code": "1.3", "name": "ระดับความสำเร็จของแผน", "weight": 2, "method": "ระดับขั้น / milestone", "result": 5},
    {"code": "2.1", "name": "คะแนนความโปร่งใส", "weight": 30, "method": "คะแนน / score", "result": 4.5},
    {"code": "3.1", "name": "ร้อยละบุคลากรที่รับรู้ทิศทางองค์กร", "weight": 20, "status": "รายงานรอบ ๑๒ เดือน"},
    {
        "code": "4.1",
        "name": "จำนวนเรื่องที่ดำเนินการแล้วเสร็จ",
        "unit": "เรื่อง",
        "weight": 10,
        "method": "เทียบเกณฑ์ / threshold",
        "levels": (1, 2, 3, 4, 5),
        "result": 3,
        "verified_result": 2,
    },
]
EXPECTED_TOTAL = Decimal("4.0500")


def fill(template: Path, target: Path, kpis: list[dict[str, Any]], *, top_up: float = 0) -> Path:
    """Fill the template's yellow cells with openpyxl, row by row, as a script would."""
    wb = openpyxl.load_workbook(template)
    division = wb[DIVISION_SHEET]
    for row, value in zip(range(3, 7), ("กองทดสอบแม่แบบ", "กทบ.", 2563, 12), strict=True):
        division.cell(row, 2).value = value
    ws = wb[KPI_SHEET]
    for row, item in enumerate(kpis, start=5):
        for key in ("code", "name", "unit", "method", "direction", "status"):
            if key in item:
                ws.cell(row, KPI_COLUMN_INDEX[key] + 1).value = item[key]
        if "weight" in item:
            ws.cell(row, KPI_COLUMN_INDEX["weight"] + 1).value = item["weight"] + (top_up if row == 5 else 0)
        for k, value in enumerate(item.get("levels", ()), start=1):
            ws.cell(row, KPI_COLUMN_INDEX[f"level{k}"] + 1).value = value
        for key in ("result", "verified_result"):
            value = item.get(key)
            cell = ws.cell(row, KPI_COLUMN_INDEX[key] + 1)
            if isinstance(value, tuple):
                cell.value, cell.number_format = value[1], "0%"
            elif value is not None:
                cell.value = value
    moves = wb[REALLOCATION_SHEET]
    for col, value in enumerate(("3.1", "2.1", 20, "ไม่ได้ประเมินในรอบ ๑๒ เดือน"), start=1):
        moves.cell(3, col).value = value
    wb.save(target)
    return target


def _total(path: Path) -> Decimal | None:
    outcome = check_file(path, ScoreOptions())
    assert outcome.accepted, [p.render() for p in outcome.errors]
    assert outcome.score is not None
    return outcome.score.total


def test_filled_by_openpyxl_is_accepted_and_scored(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    filled = fill(TEMPLATE, inbox / "filled.xlsx", KPIS)
    # The check formulas lost their cached values in the script's save; the reader must not mind.
    assert {(1, 3), (1, 4), (4, 15)} <= set(uncached_formulas(filled.read_bytes(), KPI_SHEET))
    assert _total(filled) == EXPECTED_TOTAL

    out = io.StringIO()
    assert main(["validate", str(filled)], out=out) == 0, out.getvalue()
    assert main(["run", "--inbox", str(inbox), "--out", str(tmp_path / "out")], out=io.StringIO()) == 0
    [results] = (tmp_path / "out").glob("*/results.json")
    [division] = json.loads(results.read_text(encoding="utf-8"))["divisions"]
    assert (division["division"], division["short_name"], division["total"]) == (
        "กองทดสอบแม่แบบ",
        "กทบ.",
        4.05,
    )
    scored = {k["code"]: (k["score"], k["effective_weight"]) for k in division["kpis"]}
    assert scored["1.2"] == (4.0, 4.0)  # the 2% cell was read as 2
    assert scored["2.1"] == (4.5, 50.0) and scored["3.1"] == (None, None)
    assert scored["4.1"] == (2.0, 10.0)  # the verified result is what is scored


def test_next_round_template_filled_again_is_accepted(tmp_path: Path) -> None:
    filled = fill(TEMPLATE, tmp_path / "round12.xlsx", KPIS)
    nxt = tmp_path / "round6.xlsx"
    argv = ["template", "--from", str(filled), "--round", "6", "--fiscal-year", "2564", "--out", str(nxt)]
    assert main(argv, out=io.StringIO()) == 0
    refilled = fill(nxt, tmp_path / "refilled.xlsx", KPIS)
    wb = openpyxl.load_workbook(refilled)
    wb[DIVISION_SHEET]["B5"], wb[DIVISION_SHEET]["B6"] = 2564, 6
    wb.save(refilled)
    assert _total(refilled) == EXPECTED_TOTAL


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice (soffice) is not installed here")
def test_libreoffice_round_trip_recalculates_the_check_and_is_accepted(tmp_path: Path) -> None:
    filled = fill(TEMPLATE, tmp_path / "filled.xlsx", KPIS)
    short = fill(TEMPLATE, tmp_path / "short.xlsx", KPIS, top_up=-3)  # top level 97
    converted = tmp_path / "lo"
    profile = (tmp_path / "profile").as_uri()  # a private profile: no clash with another soffice
    subprocess.run(
        [
            str(_soffice()),
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(converted),
            str(filled),
            str(short),
        ],
        check=True,
        capture_output=True,
        timeout=180,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    ok, bad = converted / "filled.xlsx", converted / "short.xlsx"
    assert uncached_formulas(ok.read_bytes(), KPI_SHEET) == {}, "LibreOffice stores calculated values"

    # What helps the next person filling it survives a LibreOffice save, and so does the version name.
    saved = openpyxl.load_workbook(ok)
    assert saved.defined_names[contract.TEMPLATE_VERSION_NAME].attr_text == str(contract.CONTRACT_VERSION)
    assert len(saved[KPI_SHEET].data_validations.dataValidation) == 8
    assert all(ws.protection.sheet for ws in saved.worksheets)

    values = openpyxl.load_workbook(ok, data_only=True)[KPI_SHEET]
    # Only 1, 2.1, 3.1 and 4.1 are top level: the children of 1 (weights 4, 4, 2) are not counted.
    assert [values.cell(r, 16).value for r in range(5, 12)] == [1, 0, 0, 0, 1, 1, 1]
    assert (values["D2"].value, values["E2"].value) == (100, "ครบ 100 / OK")
    values = openpyxl.load_workbook(bad, data_only=True)[KPI_SHEET]
    assert (values["D2"].value, values["E2"].value) == (97, "ขาด 3 / 3 short")

    assert _total(ok) == EXPECTED_TOTAL
    outcome = check_file(bad, ScoreOptions())
    assert [(p.code, p.cell) for p in outcome.errors] == [("weight-sum", "D5:D11")]
