"""The path a real division takes: the generated template, filled as a clerk fills it, through the run.

The template always has a ``verified_result`` column (the committee fills it, if at all); a file that
leaves it blank must print the seed document's four-column summary, and ``results.json`` keeps both
figures when the committee did fill it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import openpyxl
from write_helpers import load, run_report

from kpibatch.cli import main
from kpibatch.template.layout import DIVISION_SHEET, KPI_COLUMN_INDEX, KPI_FIRST_ROW, KPI_SHEET
from kpibatch.write.division import FIRST_KPI_ROW, HEADING_ROW, HEADINGS

SEED_HEADINGS = ["ตัวชี้วัด", "รายละเอียดตัวชี้วัด", "คะแนนที่ทำได้", "น้ำหนัก"]

KPIS: list[dict[str, Any]] = [
    {
        "code": "1.1",
        "name": "ร้อยละความพึงพอใจของผู้รับบริการ",
        "weight": 60,
        "method": "คะแนน / score",
        "result": 4,
    },
    {"code": "1.2", "name": "ระดับความสำเร็จของแผน", "weight": 40, "method": "ระดับขั้น / milestone", "result": 5},
]


def make_template(path: Path, *extra: str) -> Path:
    assert main(["template", "--out", str(path), *extra], out=io.StringIO()) == 0
    return path


def fill_template(template: Path, target: Path, kpis: list[dict[str, Any]], **division: Any) -> Path:
    """Type into the template's yellow cells with openpyxl, as a clerk types them."""
    wb = openpyxl.load_workbook(template)
    details = wb[DIVISION_SHEET]
    values = {"division": "กองทดสอบแม่แบบ", "short_name": "กทบ.", "fiscal_year": 2563, "round": 12} | division
    for row, key in enumerate(("division", "short_name", "fiscal_year", "round"), start=3):
        details.cell(row, 2).value = values[key]
    ws = wb[KPI_SHEET]
    for row, item in enumerate(kpis, start=KPI_FIRST_ROW + 1):
        for key, value in item.items():
            ws.cell(row, KPI_COLUMN_INDEX[key] + 1).value = value
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return target


def _headings(ws: Any) -> list[Any]:
    return [ws.cell(HEADING_ROW + 1, c).value or ws.cell(HEADING_ROW, c).value for c in range(1, 6)]


def test_template_without_verified_results_prints_the_seed_four_columns(tmp_path: Path) -> None:
    template = make_template(tmp_path / "template.xlsx")
    fill_template(template, tmp_path / "in" / "filled.xlsx", KPIS)
    _, path = run_report(tmp_path / "in", tmp_path / "out")
    ws = load(path)["กทบ."]
    assert [ws.cell(HEADING_ROW, 1).value, *(ws.cell(HEADING_ROW + 1, c).value for c in range(2, 5))] == (
        SEED_HEADINGS
    )
    # the officer columns start right after the weight, with the division's own result under its name
    assert ws.cell(HEADING_ROW + 1, 5).value == HEADINGS["result"]
    assert HEADINGS["self_score"] not in _headings(ws)
    assert HEADINGS["verified_result"] not in [ws.cell(HEADING_ROW + 1, c).value for c in range(1, 30)]
    assert ws.print_area.split("!")[1].startswith("$A$1:$D$")
    assert ws.cell(FIRST_KPI_ROW + 1, 5).value == 4  # 1.1's result


def test_template_with_a_verified_result_keeps_both_figures(tmp_path: Path) -> None:
    template = make_template(tmp_path / "template.xlsx")
    kpis = [KPIS[0] | {"verified_result": 3}, KPIS[1]]
    fill_template(template, tmp_path / "in" / "filled.xlsx", kpis)
    report, path = run_report(tmp_path / "in", tmp_path / "out")
    ws = load(path)["กทบ."]
    assert [ws.cell(HEADING_ROW + 1, c).value for c in range(2, 7)] == [
        "รายละเอียดตัวชี้วัด",
        "คะแนนที่ทำได้",
        HEADINGS["self_score"],
        "น้ำหนัก",
        HEADINGS["verified_result"],
    ]
    data = json.loads(report.outputs[0].results.read_text(encoding="utf-8"))
    kpis_out = {k["code"]: k for k in data["divisions"][0]["kpis"]}
    assert (kpis_out["1.1"]["result"], kpis_out["1.1"]["verified_result"], kpis_out["1.1"]["scored"]) == (
        4.0,
        3.0,
        "verified_result",
    )
    assert kpis_out["1.1"]["score"] == 3.0
    assert (kpis_out["1.2"]["result"], kpis_out["1.2"]["verified_result"], kpis_out["1.2"]["scored"]) == (
        5.0,
        None,
        "result",
    )
    assert data["divisions"][0]["total"] == 3.8  # (60·3 + 40·5) / 100
