"""``kpibatch validate``: every problem of every file at once, as text or JSON; exit 0 clean, 1 errors."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from helpers import kpi, write_submission

from kpibatch.cli import main

LEVELS = {"level1": 80, "level2": 85, "level3": 90, "level4": 95, "level5": 100}


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def _broken(path: Path) -> Path:
    """Three mistakes on two sheets of one file."""
    return write_submission(
        path,
        [
            kpi("1", 50, method="threshold", result="๘๗,๕", **LEVELS),
            kpi("2", 44, method="score", result=3),
            kpi("3", 3, status="รายงานรอบ ๑๒ เดือน"),
        ],
        reallocations=[{"from": "3", "to": "9.9", "weight": 3}],
    )


def _clean(path: Path) -> Path:
    return write_submission(
        path,
        [kpi("1", 60, method="threshold", result=92.5, **LEVELS), kpi("2", 40, method="score", result=4)],
    )


def test_json_lists_every_problem_of_every_file(tmp_path: Path) -> None:
    broken = _broken(tmp_path / "broken.xlsx")
    other = write_submission(tmp_path / "other.xlsx", [kpi("1", 90, method="score", result=9)])
    clean = _clean(tmp_path / "clean.xlsx")
    code, text = _run("validate", "--json", str(broken), str(other), str(clean))
    assert code == 1
    document = json.loads(text)
    assert document["ok"] is False
    files = {f["file"]: f for f in document["files"]}
    assert [f["file"] for f in document["files"]] == ["broken.xlsx", "other.xlsx", "clean.xlsx"]

    where = {(p["code"], p["sheet"], p["cell"]) for p in files["broken.xlsx"]["problems"]}
    assert where == {
        ("number-invalid", "KPIs", "L2"),
        ("weight-sum", "KPIs", "D2:D4"),
        ("reallocation-unknown-code", "Reallocations", "B2"),
    }
    for problem in files["broken.xlsx"]["problems"]:
        assert problem["file"] == "broken.xlsx" and problem["severity"] == "error"
        for key in ("message_th", "message_en", "fix_th", "fix_en"):
            assert problem[key], key
    assert {(p["code"], p["cell"]) for p in files["other.xlsx"]["problems"]} == {
        ("weight-sum", "D2:D2"),
        ("result-out-of-range", "L2"),
    }
    assert files["clean.xlsx"] | {"problems": None} == {
        "file": "clean.xlsx",
        "path": str(clean),
        "ok": True,
        "errors": 0,
        "warnings": 0,
        "problems": None,
    }


def test_text_output_names_file_sheet_cell_both_languages_and_the_fix(tmp_path: Path) -> None:
    broken = _broken(tmp_path / "broken.xlsx")
    code, text = _run("validate", str(broken))
    assert code == 1
    assert "broken.xlsx: ERRORS (3 errors, 0 warnings)" in text
    assert "error Reallocations › B2 [reallocation-unknown-code]" in text
    assert "การโอนน้ำหนักอ้างถึงข้อ 9.9 ซึ่งไม่มีในชีตตัวชี้วัด" in text
    assert "The reallocation names 9.9, which does not exist in the KPI sheet" in text
    assert "Fix: Use a code from the KPI sheet." in text
    assert "แก้ไข: ใช้รหัสตัวชี้วัดที่มีอยู่ในชีตตัวชี้วัด" in text
    assert text.rstrip().endswith("1 file: 0 without errors, 1 with errors")


def test_warnings_alone_exit_0_and_quiet_hides_them(tmp_path: Path) -> None:
    path = write_submission(
        tmp_path / "w.xlsx", [kpi("1", 60, method="score", result=4), kpi("2", 40, method="score")]
    )
    code, text = _run("validate", str(path))
    assert code == 0
    assert "w.xlsx: ok (0 errors, 1 warning)" in text
    assert "warning KPIs › L3 [result-missing]" in text
    code, text = _run("validate", "--quiet", str(path))
    assert code == 0 and "result-missing" not in text


def test_a_folder_means_its_workbooks_and_the_examples_are_clean(examples_inbox: Path) -> None:
    code, text = _run("validate", "--json", str(examples_inbox))
    document = json.loads(text)
    assert code == 0, text
    assert document["ok"] is True
    assert len(document["files"]) == 6


def test_validate_and_run_reject_the_same_files_with_the_same_problems(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _broken(inbox / "broken.xlsx")
    _clean(inbox / "clean.xlsx")
    shutil.copy(Path(__file__).parent.parent / "input_templates" / "examples" / "05_finance.xlsx", inbox)
    code, text = _run("validate", "--json", str(inbox))
    assert code == 1
    by_validate = {
        f["file"]: sorted((p["code"], p["cell"]) for p in f["problems"] if p["severity"] == "error")
        for f in json.loads(text)["files"]
    }
    out = tmp_path / "out"
    assert _run("run", "--inbox", str(inbox), "--out", str(out))[0] == 3
    by_run: dict[str, list[tuple[str, str]]] = {name: [] for name in by_validate}
    for results in out.glob("*/results.json"):
        for rejected in json.loads(results.read_text(encoding="utf-8"))["rejected"]:
            by_run[rejected["file"]] = sorted((e["code"], e["cell"]) for e in rejected["errors"])
    assert by_run == by_validate
    assert by_validate["broken.xlsx"] and not by_validate["clean.xlsx"]


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _ = _run("validate", str(tmp_path / "nope.xlsx"))
    assert code == 2


def test_an_unreadable_file_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "junk.xlsx"
    path.write_bytes(b"this is not a workbook")
    code, text = _run("validate", "--json", str(path))
    assert code == 1
    [problem] = json.loads(text)["files"][0]["problems"]
    assert problem["code"] == "not-a-workbook" and problem["file"] == "junk.xlsx"
