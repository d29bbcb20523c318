"""The path a real division takes: the generated template, filled as a clerk fills it, through the run.

The template always has a ``verified_result`` column (the committee fills it, if at all); a file that
leaves it blank must print the seed document's four-column summary, and ``results.json`` keeps both
figures when the committee did fill it.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import openpyxl
from batchkit import copy_in, division_totals, results, settings_for
from write_helpers import load, run_report

from kpibatch.batch.runner import run_inbox
from kpibatch.cli import main
from kpibatch.pipeline import check_file
from kpibatch.read.submission import column_letter
from kpibatch.score import ScoreOptions
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
    officer = {ws.cell(HEADING_ROW + 1, c).value: c for c in range(6, ws.max_column + 1)}
    verified_col, own_col = officer[HEADINGS["verified_result"]], officer[HEADINGS["self_result"]]
    first = FIRST_KPI_ROW + 1
    # 1.1 has both figures; 1.2 only the division's, which is not shown as the committee's
    assert [(ws.cell(r, verified_col).value, ws.cell(r, own_col).value) for r in (first, first + 1)] == [
        (3, 4),
        (None, 5),
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


# --- item 2: an unfilled template never replaces a real submission ---------------------------------


def test_a_filled_template_with_no_result_is_rejected_naming_the_result_cells(tmp_path: Path) -> None:
    template = make_template(tmp_path / "template.xlsx")
    blank = [{k: v for k, v in item.items() if k != "result"} for item in KPIS]
    filled = fill_template(template, tmp_path / "blank.xlsx", blank)
    outcome = check_file(filled, ScoreOptions())
    assert not outcome.accepted
    [error] = outcome.errors
    result_col = column_letter(KPI_COLUMN_INDEX["result"])
    cells = f"{result_col}{KPI_FIRST_ROW + 1}:{result_col}{KPI_FIRST_ROW + 2}"
    assert (error.code, error.sheet, error.cell) == ("results-empty", KPI_SHEET, cells)
    assert cells in error.message_th and cells in error.message_en
    assert "ผลการดำเนินงาน" in error.message_th and "result" in error.message_en

    # KPIs marked not assessed need no result, but one assessed KPI with a result is enough
    partly = fill_template(template, tmp_path / "partly.xlsx", [KPIS[0], blank[1]])
    assert check_file(partly, ScoreOptions()).accepted


def test_an_unfilled_next_round_template_supersedes_nothing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    template = make_template(tmp_path / "template.xlsx")
    real = fill_template(template, tmp_path / "drafts" / "real.xlsx", KPIS)
    copy_in(real, settings.inbox)
    assert run_inbox(settings).exit_code == 0
    assert division_totals(settings.out) == {"กองทดสอบแม่แบบ": 4.4}

    # the planning unit's next template for the same round, dropped back unfilled
    unfilled = make_template(tmp_path / "drafts" / "unfilled.xlsx", "--from", str(real), "--round", "12")
    copy_in(unfilled, settings.inbox)
    report = run_inbox(settings)
    assert report.exit_code == 3 and report.superseded == 0
    assert [f.name for f in report.rejected] == ["unfilled.xlsx"]
    data = results(settings.out)
    assert [(d["source_file"], d["total"]) for d in data["divisions"]] == [("real.xlsx", 4.4)]
    assert data["superseded"] == []
    assert [e["code"] for r in data["rejected"] for e in r["errors"]] == ["results-empty"]


def test_a_resubmission_that_blanks_a_result_is_accepted_with_a_warning(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    template = make_template(tmp_path / "template.xlsx")
    first = fill_template(template, tmp_path / "drafts" / "first.xlsx", KPIS)
    copy_in(first, settings.inbox)
    assert run_inbox(settings).exit_code == 0

    blanked = [KPIS[0] | {"result": 5}, {k: v for k, v in KPIS[1].items() if k != "result"}]
    second = fill_template(template, tmp_path / "drafts" / "second.xlsx", blanked)
    copy_in(second, settings.inbox)
    report = run_inbox(settings)
    assert report.exit_code == 0 and report.superseded == 1
    assert "second.xlsx" in report.summary() and "1.2" in report.summary()
    assert "first.xlsx" in report.summary()

    [division] = results(settings.out)["divisions"]
    assert (division["source_file"], division["total"]) == ("second.xlsx", 3.0)  # 60·5 / 100
    [warning] = [w for w in division["warnings"] if "first.xlsx" in w]
    assert "1.2" in warning and "1.1" not in warning

    issues = load(report.outputs[0].workbook)["ปัญหา"]
    found = [
        [c.value for c in row] for row in issues.iter_rows(min_row=4) if row[-1].value == "results-blanked"
    ]
    assert len(found) == 1 and found[0][1] == "second.xlsx" and "1.2" in found[0][4]


def test_resubmissions_in_one_library_run_compare_with_the_file_replaced(tmp_path: Path) -> None:
    template = make_template(tmp_path / "template.xlsx")
    old = fill_template(template, tmp_path / "in" / "a_old.xlsx", KPIS)
    blanked = [KPIS[0], {k: v for k, v in KPIS[1].items() if k != "result"}]
    new = fill_template(template, tmp_path / "in" / "b_new.xlsx", blanked)
    os.utime(old, (1_600_000_000, 1_600_000_000))
    os.utime(new, (1_600_000_100, 1_600_000_100))
    report, _ = run_report(tmp_path / "in", tmp_path / "out")
    [group] = [o.group for o in report.outputs]
    [score] = group.divisions
    assert [(w.code, w.params["kpis"]) for w in score.warnings if w.code == "results-blanked"] == [
        ("results-blanked", "1.2")
    ]
