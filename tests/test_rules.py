"""Rejection rules of issue 2: every error in a file is collected, each naming its sheet and cell."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from helpers import kpi, write_submission

from kpibatch.pipeline import check_file
from kpibatch.score import ScoreOptions

BASE = [
    kpi("1", 50, method="score", result=5),
    kpi("2", 30, method="score", result=4),
    kpi("3", 20, status="รายงานรอบ ๑๒ เดือน"),
]


def problems(path: Path) -> list[tuple[str, str, str]]:
    outcome = check_file(path, ScoreOptions())
    return [(p.code, p.sheet, p.cell) for p in outcome.problems if p.severity == "error"]


def with_moves(tmp_path: Path, moves: list[dict], rows: list[dict] | None = None) -> Path:
    return write_submission(tmp_path / "x.xlsx", rows or BASE, reallocations=moves)


def test_weights_not_summing_to_100(tmp_path: Path) -> None:
    rows = [kpi("1", 50, method="score", result=5), kpi("2", 47, method="score", result=4)]
    path = write_submission(tmp_path / "w.xlsx", rows)
    outcome = check_file(path, ScoreOptions())
    [problem] = outcome.errors
    assert (problem.code, problem.cell) == ("weight-sum", "D2:D3")
    assert "97" in problem.message_en and "3 short" in problem.message_en
    assert "ขาด 3" in problem.message_th
    assert not outcome.accepted


def test_weights_within_tolerance_pass(tmp_path: Path) -> None:
    rows = [
        kpi("1", 33.333, method="score", result=5),
        kpi("2", 33.333, method="score", result=5),
        kpi("3", 33.334, method="score", result=5),
    ]
    assert problems(write_submission(tmp_path / "ok.xlsx", rows)) == []


def test_children_weights_are_relative(tmp_path: Path) -> None:
    rows = [
        kpi("1", 100),
        kpi("1.1", 0.5, method="score", result=4),
        kpi("1.2", 0.5, method="score", result=5),
    ]
    outcome = check_file(write_submission(tmp_path / "c.xlsx", rows), ScoreOptions())
    assert outcome.score is not None and str(outcome.score.total) == "4.5000"


@pytest.mark.parametrize(
    ("move", "expected"),
    [
        ({"from": "3", "to": "9.9", "weight": 20}, [("reallocation-unknown-code", "Reallocations", "B2")]),
        ({"from": "1", "to": "2", "weight": 20}, [("reallocation-from-assessed", "Reallocations", "A2")]),
        ({"from": "3", "to": "3", "weight": 20}, [("reallocation-to-not-assessed", "Reallocations", "B2")]),
        ({"from": "3", "to": "2", "weight": 25}, [("reallocation-too-much", "Reallocations", "C2")]),
        ({"from": "3", "to": "2", "weight": -1}, [("reallocation-weight-invalid", "Reallocations", "C2")]),
        ({"from": "x", "to": "2", "weight": 5}, [("code-invalid", "Reallocations", "A2")]),
    ],
)
def test_reallocation_errors(tmp_path: Path, move: dict, expected: list) -> None:
    assert problems(with_moves(tmp_path, [move])) == expected


def test_split_moves_together_may_not_exceed_the_source(tmp_path: Path) -> None:
    moves = [{"from": "3", "to": "1", "weight": 15}, {"from": "3", "to": "2", "weight": 10}]
    assert problems(with_moves(tmp_path, moves)) == [("reallocation-too-much", "Reallocations", "C3")]


def test_moves_between_levels_are_refused(tmp_path: Path) -> None:
    rows = [
        kpi("1", 80),
        kpi("1.1", 1, method="score", result=5),
        kpi("1.2", 1, status="ไม่ประเมิน"),
        kpi("2", 20, method="score", result=5),
    ]
    assert problems(with_moves(tmp_path, [{"from": "1.2", "to": "2", "weight": 1}], rows)) == [
        ("reallocation-across-levels", "Reallocations", "B2")
    ]


def test_every_problem_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    rows = [
        kpi("1", 40, level1=80, level2=85, level3=70, level4=95, level5=100, result="๘๗,๕"),
        kpi("1", 20, method="score", result=3),
        kpi("2", 30, method="magic", result=3),
        kpi("3", 10, method="milestone", result=7),
        kpi("4", None, method="score", result=2),
        kpi("5", 5),
    ]
    found = problems(write_submission(tmp_path / "many.xlsx", rows))
    assert ("number-invalid", "KPIs", "L2") in found
    assert ("levels-not-monotone", "KPIs", "I2") in found
    assert ("code-duplicate", "KPIs", "A3") in found
    assert ("method-unknown", "KPIs", "E4") in found
    assert ("result-out-of-range", "KPIs", "L5") in found
    assert ("weight-missing", "KPIs", "D6") in found
    assert ("method-missing", "KPIs", "E7") in found


def test_missing_sheet_suggests_the_close_name(tmp_path: Path) -> None:
    path = write_submission(tmp_path / "s.xlsx", BASE, sheet_names=("Division", "KPI", "Reallocations"))
    outcome = check_file(path, ScoreOptions())
    [problem] = outcome.errors
    assert problem.code == "sheet-missing"
    assert problem.sheet == "KPI"
    assert problem.message_en == "Sheet KPI not found in the template (did you mean KPIs?)"
    assert problem.message_th == "ชีต KPI ไม่ใช่ชื่อชีตตามแม่แบบ (หมายถึง KPIs หรือไม่?)"
    assert problem.to_dict()["fix_en"] == "Rename the sheet KPI to KPIs."


def test_division_keys_are_checked(tmp_path: Path) -> None:
    rows = [("division", None), ("fiscal_year", 1700), ("round", "รอบ ๗ เดือน")]
    found = problems(write_submission(tmp_path / "d.xlsx", BASE, division_rows=rows))
    assert found == [
        ("key-missing", "Division", "B1"),
        ("fiscal-year-invalid", "Division", "B2"),
        ("round-invalid", "Division", "B3"),
    ]


@pytest.mark.parametrize(
    ("year", "round_", "group"),
    [(2020, "รอบ ๑๒ เดือน", (2563, 12)), ("๒๕๖๔", 6, (2564, 6)), ("พ.ศ. 2565", "9 months", (2565, 9))],
)
def test_year_and_round_spellings(tmp_path: Path, year: object, round_: object, group: tuple) -> None:
    outcome = check_file(
        write_submission(
            tmp_path / "y.xlsx",
            [*BASE[:2], kpi("3", 20, method="score", result=1)],
            fiscal_year=year,
            round_=round_,
        ),
        ScoreOptions(),
    )
    assert outcome.accepted and outcome.group == group


def test_header_found_below_title_rows_and_in_thai(tmp_path: Path) -> None:
    columns = ("รหัส", "รายละเอียดตัวชี้วัด", "น้ำหนัก", "วิธีให้คะแนน", "ผลการดำเนินงาน", "สถานะ")
    rows = [
        {"รหัส": "๑.๑", "รายละเอียดตัวชี้วัด": "ก", "น้ำหนัก": "๖๐", "วิธีให้คะแนน": "คะแนน", "ผลการดำเนินงาน": 5},
        {"รหัส": "๑.๒", "รายละเอียดตัวชี้วัด": "ข", "น้ำหนัก": 40, "วิธีให้คะแนน": "score", "ผลการดำเนินงาน": "๔"},
    ]
    path = write_submission(
        tmp_path / "th.xlsx",
        rows,
        columns=columns,
        title_rows=3,
        sheet_names=("หน่วยงาน", "ตัวชี้วัด", "การโอนน้ำหนัก"),
    )
    outcome = check_file(path, ScoreOptions())
    assert outcome.accepted, [p.render() for p in outcome.problems]
    assert outcome.score is not None and str(outcome.score.total) == "4.6000"
    assert [k.code for k in outcome.score.kpis] == ["1.1", "1.2"]


def test_not_a_workbook_is_rejected_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("code,weight\n1,100\n", encoding="utf-8")
    outcome = check_file(path, ScoreOptions())
    [problem] = outcome.errors
    assert problem.code == "not-a-workbook" and problem.file == "fake.xlsx"


def test_template_version_newer_than_program(tmp_path: Path) -> None:
    path = write_submission(tmp_path / "v.xlsx", [*BASE[:2], kpi("3", 20, method="score", result=1)])
    wb = openpyxl.load_workbook(path)
    from openpyxl.workbook.defined_name import DefinedName

    wb.defined_names["KPIBATCH_TEMPLATE_VERSION"] = DefinedName("KPIBATCH_TEMPLATE_VERSION", attr_text="9")
    wb.save(path)
    assert problems(path) == [("template-too-new", "", "KPIBATCH_TEMPLATE_VERSION")]


def test_missing_required_columns_name_the_header_row(tmp_path: Path) -> None:
    columns = ("code", "name", "result", "status")
    path = write_submission(tmp_path / "c.xlsx", [kpi("1", 100, result=5)], columns=columns, title_rows=2)
    outcome = check_file(path, ScoreOptions())
    assert [(p.code, p.sheet, p.cell, p.params["column_en"]) for p in outcome.errors] == [
        ("column-missing", "KPIs", "3:3", "Weight")
    ]


def test_reallocation_sheet_without_the_to_column(tmp_path: Path) -> None:
    path = write_submission(tmp_path / "r.xlsx", BASE)
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Reallocations")
    ws.append(["from", "weight", "to ?"])
    ws.append(["3", 20, "2"])
    wb.save(path)
    assert problems(path) == [("column-missing", "Reallocations", "1:1")]


def test_a_kpi_sheet_without_kpis_is_an_error(tmp_path: Path) -> None:
    """A template sent back unfilled must not become a division with no total."""
    assert problems(write_submission(tmp_path / "blank.xlsx", [])) == [("no-kpis", "KPIs", "")]


def test_blank_rows_and_section_headings_between_kpis_are_skipped(tmp_path: Path) -> None:
    path = write_submission(tmp_path / "gaps.xlsx", BASE)
    book = openpyxl.load_workbook(path)
    ws = book["KPIs"]
    ws.insert_rows(3, 2)  # two blank rows between KPI 1 (row 2) and KPI 2
    ws.insert_rows(6)
    ws.cell(6, 2, "มิติที่ 2 ด้านคุณภาพ")  # a heading with no code and no numbers, before KPI 3
    book.save(path)
    outcome = check_file(path, ScoreOptions())
    assert outcome.accepted, [p.render() for p in outcome.problems]
    assert outcome.score is not None
    assert [k.code for k in outcome.score.kpis] == ["1", "2", "3"]
    assert str(outcome.score.total) == "4.6250"  # (50 x 5 + 30 x 4) / 80
    kpi_rows = {row.code: row.row for row in outcome.score.submission.kpis}
    assert kpi_rows == {"1": 2, "2": 5, "3": 7}  # messages keep naming the rows as they are now
