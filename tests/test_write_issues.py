"""The issues sheet read back: every error, warning and superseded file with file, sheet, cell and
messages in Thai and English, errors first."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import EXAMPLES
from helpers import kpi, write_submission
from write_helpers import load, run_report

from kpibatch.write.issues import COLUMNS, FIRST_ROW, HEADING_ROW, NAME, NONE_FOUND

FIRST = FIRST_ROW + 1


def issue_rows(path: Path) -> list[dict[str, str]]:
    ws = load(path)[NAME]
    keys = [key for key, _, _ in COLUMNS]
    assert [ws.cell(HEADING_ROW + 1, c + 1).value for c in range(len(COLUMNS))] == [h for _, h, _ in COLUMNS]
    found = []
    for row in ws.iter_rows(min_row=FIRST, max_col=len(keys), values_only=True):
        found.append(dict(zip(keys, row, strict=True)))
    return found


def test_every_error_warning_and_superseded_file_is_listed(tmp_path: Path):
    inbox = tmp_path / "in"
    write_submission(
        inbox / "bad.xlsx",
        [kpi("1", 60, "หนึ่ง", method="score", result="๘๗,๕"), kpi("2", 30, "สอง", method="score", result=3)],
        division="กองผิด",
    )
    write_submission(
        inbox / "warn.xlsx",
        [kpi("1", 50, "หนึ่ง", method="score"), kpi("2", 50, "สอง", method="score", result=4)],
        division="กองเตือน",
    )
    old = write_submission(inbox / "old.xlsx", [kpi("1", 100, method="score", result=2)], division="กองซ้ำ")
    new = write_submission(inbox / "zz_new.xlsx", [kpi("1", 100, method="score", result=3)], division="กองซ้ำ")
    os.utime(old, (1_600_000_000, 1_600_000_000))
    os.utime(new, (1_600_000_100, 1_600_000_100))
    _, path = run_report(inbox, tmp_path / "out")
    issues = issue_rows(path)

    severities = [row["severity"] for row in issues]
    assert severities == sorted(severities, key=lambda s: "error" not in s)  # errors first
    by_code = {row["code"]: row for row in issues}
    bad_number = by_code["number-invalid"]
    assert (bad_number["file"], bad_number["sheet"], bad_number["cell"]) == ("bad.xlsx", "KPIs", "L2")
    assert "๘๗,๕" in bad_number["message_th"] and "is not a number" in bad_number["message_en"]
    assert bad_number["severity"] == "ข้อผิดพลาด / error"
    assert by_code["weight-sum"]["file"] == "bad.xlsx"
    missing = by_code["result-missing"]
    assert (missing["file"], missing["sheet"], missing["cell"]) == ("warn.xlsx", "KPIs", "L2")
    assert missing["severity"] == "คำเตือน / warning" and "Type the result" in missing["fix"]
    superseded = by_code["superseded"]
    assert superseded["file"] == "old.xlsx" and "zz_new.xlsx" in superseded["message_en"]
    assert "zz_new.xlsx" in superseded["message_th"]


def test_no_problem_says_so(tmp_path: Path):
    shutil.copytree(EXAMPLES, tmp_path / "in")
    _, path = run_report(tmp_path / "in", tmp_path / "out")
    ws = load(path)[NAME]
    assert ws.cell(FIRST, 1).value == NONE_FOUND
    assert ws.cell(FIRST + 1, 1).value is None
