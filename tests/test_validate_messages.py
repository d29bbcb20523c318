"""One test per mistake the issue lists: each message names the exact sheet and cell, in Thai and
English, and says what to do. The checks are ``pipeline.check_file``, which ``run`` and ``validate``
both use.

``helpers.write_submission`` puts the header in row 1 and the KPIs from row 2, in the columns
code A, name B, unit C, weight D, method E, direction F, level1..5 G..K, result L, status M, note N.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers import kpi, write_submission
from openpyxl.workbook.defined_name import DefinedName

from kpibatch import contract
from kpibatch.pipeline import check_file
from kpibatch.problems import Problem
from kpibatch.score import ScoreOptions

NOT_ASSESSED = "รายงานรอบ ๑๒ เดือน"


def _problem(path: Path, code: str) -> Problem:
    outcome = check_file(path, ScoreOptions())
    assert not outcome.accepted
    found = [p for p in outcome.errors if p.code == code]
    assert len(found) == 1, [p.render() for p in outcome.problems]
    problem = found[0]
    assert problem.file == path.name
    fixes = problem.to_dict()
    assert fixes["fix_th"] and fixes["fix_en"], "every error says what to do"
    return problem


def _score(code: str, weight: Any, result: Any = 3, **fields: Any) -> dict[str, Any]:
    return kpi(code, weight, method="score", result=result, **fields)


def test_top_level_weights_sum_to_97(tmp_path: Path) -> None:
    path = write_submission(
        tmp_path / "w.xlsx",
        [_score("1", 50), kpi("1.1", 4, method="score", result=3), _score("2", 27), _score("3", 20)],
    )
    problem = _problem(path, "weight-sum")
    # The first to the last top-level weight (the child 1.1 in row 3 is not top level).
    assert (problem.sheet, problem.cell) == ("KPIs", "D2:D5")
    assert "sum to 97 (3 short)" in problem.message_en
    assert "97 (ขาด 3)" in problem.message_th


def test_level_3_not_between_levels_2_and_4(tmp_path: Path) -> None:
    levels = {"level1": 80, "level2": 85, "level3": 70, "level4": 95, "level5": 100}
    path = write_submission(
        tmp_path / "l.xlsx", [kpi("1", 60, method="threshold", result=90, **levels), _score("2", 40)]
    )
    problem = _problem(path, "levels-not-monotone")
    assert (problem.sheet, problem.cell) == ("KPIs", "I2")
    assert "level 3 (70) is not between levels 2 and 4" in problem.message_en
    assert "ระดับ 3 (70)" in problem.message_th


def test_thai_decimal_comma_is_not_a_number(tmp_path: Path) -> None:
    levels = {"level1": 80, "level2": 85, "level3": 90, "level4": 95, "level5": 100}
    path = write_submission(
        tmp_path / "n.xlsx",
        [_score("1", 60), kpi("2", 40, method="threshold", result="๘๗,๕", **levels)],
    )
    problem = _problem(path, "number-invalid")
    assert (problem.sheet, problem.cell) == ("KPIs", "L3")
    assert "'๘๗,๕' is not a number" in problem.message_en
    assert "ไม่ใช่ตัวเลข" in problem.message_th
    assert "dot is the decimal separator" in problem.to_dict()["fix_en"]


def test_reallocation_to_a_code_that_does_not_exist(tmp_path: Path) -> None:
    path = write_submission(
        tmp_path / "r.xlsx",
        [kpi("1", 50, status=NOT_ASSESSED), _score("2", 50)],
        reallocations=[{"from": "1", "to": "9.9", "weight": 50, "reason": "ไม่ได้ประเมิน"}],
    )
    problem = _problem(path, "reallocation-unknown-code")
    assert (problem.sheet, problem.cell) == ("Reallocations", "B2")
    assert "9.9, which does not exist" in problem.message_en
    assert "9.9" in problem.message_th


def test_sheet_kpi_not_found_did_you_mean_kpis(tmp_path: Path) -> None:
    path = write_submission(
        tmp_path / "s.xlsx", [_score("1", 100)], sheet_names=("Division", "KPI", "Reallocations")
    )
    problem = _problem(path, "sheet-missing")
    # No cell to point at: the message points at the misnamed sheet itself.
    assert problem.sheet == "KPI"
    assert "Sheet KPI not found in the template (did you mean KPIs?)" in problem.message_en
    assert "KPIs" in problem.message_th and "KPI" in problem.to_dict()["fix_en"]


def _set_version(path: Path, version: str) -> None:
    wb = openpyxl.load_workbook(path)
    name = contract.TEMPLATE_VERSION_NAME
    wb.defined_names[name] = DefinedName(name, attr_text=version, hidden=True)
    wb.save(path)


def test_template_version_newer_than_this_program(tmp_path: Path) -> None:
    path = write_submission(tmp_path / "v.xlsx", [_score("1", 100)])
    _set_version(path, str(contract.CONTRACT_VERSION + 1))
    problem = _problem(path, "template-too-new")
    # The version is a workbook-level name, not a cell; the message points at the name.
    assert problem.cell == contract.TEMPLATE_VERSION_NAME
    assert f"version {contract.CONTRACT_VERSION + 1} is newer" in problem.message_en
    assert f"(version {contract.CONTRACT_VERSION})" in problem.message_en


def test_the_current_template_version_is_accepted(tmp_path: Path) -> None:
    path = write_submission(tmp_path / "v.xlsx", [_score("1", 100)])
    _set_version(path, str(contract.CONTRACT_VERSION))
    outcome = check_file(path, ScoreOptions())
    assert outcome.accepted, [p.render() for p in outcome.errors]


def test_every_mistake_in_one_file_is_reported_at_once(tmp_path: Path) -> None:
    levels = {"level1": 80, "level2": 85, "level3": 70, "level4": 95, "level5": 100}
    path = write_submission(
        tmp_path / "all.xlsx",
        [
            kpi("1", 30, method="threshold", result=90, **levels),
            kpi("2", 30, method="threshold", result="๘๗,๕", level1=1, level5=5),
            kpi("3", 37, status=NOT_ASSESSED),
        ],
        reallocations=[{"from": "3", "to": "9.9", "weight": 10}],
    )
    _set_version(path, str(contract.CONTRACT_VERSION + 1))
    outcome = check_file(path, ScoreOptions())
    where = {p.code: (p.sheet, p.cell) for p in outcome.errors}
    assert where == {
        "template-too-new": ("", contract.TEMPLATE_VERSION_NAME),
        "levels-not-monotone": ("KPIs", "I2"),
        "number-invalid": ("KPIs", "L3"),
        "weight-sum": ("KPIs", "D2:D4"),
        "reallocation-unknown-code": ("Reallocations", "B2"),
    }


@pytest.mark.parametrize(
    ("direction", "code", "says"),
    [
        ("น้อย", "direction-mismatch", "disagrees with levels that increase"),
        ("ขึ้น", "direction-unknown", "unknown direction 'ขึ้น'"),
    ],
)
def test_a_direction_the_levels_contradict_or_unknown_names_its_cell(
    tmp_path: Path, direction: str, code: str, says: str
) -> None:
    higher = {"level1": 80, "level2": 85, "level3": 90, "level4": 95, "level5": 100}
    path = write_submission(
        tmp_path / "d.xlsx",
        [kpi("1", 60, method="threshold", direction=direction, result=90, **higher), _score("2", 40)],
    )
    problem = _problem(path, code)
    assert (problem.sheet, problem.cell) == ("KPIs", "F2")
    assert says in problem.message_en


def test_an_agreeing_direction_is_accepted(tmp_path: Path) -> None:
    lower = {"level1": 10, "level2": 8, "level3": 6, "level4": 4, "level5": 2}
    path = write_submission(
        tmp_path / "ok.xlsx",
        [kpi("1", 60, method="threshold", direction="น้อย", result=5, **lower), _score("2", 40)],
    )
    outcome = check_file(path, ScoreOptions())
    assert outcome.accepted, [p.render() for p in outcome.problems]
