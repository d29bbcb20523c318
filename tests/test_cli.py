"""The installed ``kpibatch`` command on temporary folders: exact output, exit codes, no tracebacks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from conftest import ROOT
from helpers import kpi, write_submission

from kpibatch.cli import build_parser
from kpibatch.commands import COMMANDS


def command() -> list[str]:
    """The console script installed next to this Python (CI's venv), else ``python -m kpibatch``."""
    script = Path(sys.executable).parent / "kpibatch"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "kpibatch"]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KPIBATCH_")}
    environ["KPIBATCH_STABILITY_DELAY"] = "0"  # files written a moment ago are settled in tests
    environ["PYTHONPATH"] = str(ROOT) if command()[0] == sys.executable else environ.get("PYTHONPATH", "")
    environ.update(env or {})
    return subprocess.run(
        [*command(), *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120
    )


def test_run_on_the_examples_prints_totals_and_paths(examples_inbox: Path, tmp_path: Path) -> None:
    result = run("run", "--inbox", str(examples_inbox), "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out" / "2563-r12"
    report = out / "สรุปผลคะแนน-2563-รอบ12.xlsx"
    lines = result.stdout.splitlines()
    assert re.fullmatch(rf"log: {re.escape(str(tmp_path))}/out/logs/\d{{8}}T\d{{6}}Z-run1\.log", lines[9])
    del lines[9]
    assert lines == [
        "  2563-r12  5.0000  สำนักงานเลขาธิการกรม",
        "  2563-r12  5.0000  กองพัฒนาระบบการบังคับคดีและประเมินราคาทรัพย์สิน",
        "  2563-r12  4.5500  กองบริหารทรัพยากรบุคคล",
        "  2563-r12  5.0000  กองติดตามและเฉลี่ยทรัพย์สินในคดีล้มละลาย",
        "  2563-r12  4.8000  กองบริหารการคลัง",
        "  2563-r12  4.9000  ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร",
        f"workbook: {report}",
        f"results: {out / 'results.json'}",
        f"html: {out / 'report.html'}",
        f"6 files: 6 accepted, 0 rejected, 0 duplicates, 0 superseded; output: {report}",
        "run 1: `kpibatch send --run 1` mails its workbooks again",
    ]
    assert report.is_file()
    # the examples folder holds .kpibatch-keep: its files are copied, never moved
    assert sorted(p.name for p in examples_inbox.iterdir()) == sorted(
        p.name for p in (ROOT / "input_templates" / "examples").iterdir()
    )


def test_rejected_file_exit_3_and_the_rest_still_scored(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_submission(inbox / "good.xlsx", [kpi("1", 100, method="score", result=4)], division="กองดี")
    write_submission(inbox / "bad.xlsx", [kpi("1", 90, method="score", result=4)], division="กองเสีย")
    (inbox / "~$good.xlsx").write_bytes(b"lock")
    (inbox / ".hidden.xlsx").write_bytes(b"hidden")
    (inbox / "notes.txt").write_text("not a workbook")
    result = run("run", "--inbox", "inbox", "--out", "out", "-q", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"rejected: bad\.xlsx -> .*/out/rejected/\d{4}-\d\d-\d\d/\w+-\w+-bad\.xlsx", lines[0])
    out = tmp_path / "out" / "2563-r12"
    assert lines[1:] == [
        "  [weight-sum] bad.xlsx › KPIs › D2:D2: น้ำหนักตัวชี้วัดระดับบนรวมได้ 90 (ขาด 10) ต้องรวมเป็น 100 / "
        "The top-level weights sum to 90 (10 short); they must sum to 100",
        f"workbook: {out / 'สรุปผลคะแนน-2563-รอบ12.xlsx'}",
        f"results: {out / 'results.json'}",
        f"html: {out / 'report.html'}",
        "2 files: 1 accepted, 1 rejected, 0 duplicates, 0 superseded; "
        f"output: {out / 'สรุปผลคะแนน-2563-รอบ12.xlsx'}",
    ]
    assert result.stderr == ""
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == [
        ".hidden.xlsx",
        "notes.txt",
        "~$good.xlsx",
    ]


def test_superseded_file_is_listed(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    old = write_submission(inbox / "a_old.xlsx", [kpi("1", 100, method="score", result=2)])
    new = write_submission(inbox / "b_new.xlsx", [kpi("1", 100, method="score", result=4)])
    os.utime(old, (1_600_000_000, 1_600_000_000))
    os.utime(new, (1_700_000_000, 1_700_000_000))
    result = run("run", "--inbox", "inbox", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0
    assert "  2563-r12  4.0000  กองทดสอบระบบ" in result.stdout.splitlines()
    assert "2 files: 2 accepted, 0 rejected, 0 duplicates, 1 superseded" in result.stdout
    import json

    data = json.loads((tmp_path / "out" / "2563-r12" / "results.json").read_text(encoding="utf-8"))
    assert [d["source_file"] for d in data["divisions"]] == ["b_new.xlsx"]
    assert data["superseded"][0]["file"] == "a_old.xlsx"


def test_groups_by_year_and_round(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_submission(inbox / "r6.xlsx", [kpi("1", 100, method="score", result=3)], round_=6)
    write_submission(inbox / "r9.xlsx", [kpi("1", 100, method="score", result=4)], round_="รอบ ๙ เดือน")
    result = run("run", "--inbox", "inbox", "--out", "out", "-q", cwd=tmp_path)
    assert result.returncode == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("2563-*")) == ["2563-r6", "2563-r9"]


def test_usage_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    result = run("run", "--inbox", "missing", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "kpibatch: error: inbox folder not found: missing\n"
    bad = run("run", "--floor", "7", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_config_file_and_environment(tmp_path: Path) -> None:
    (tmp_path / "kpibatch.toml").write_text('inbox = "in"\nout = "res"\nfloor = 1\n', encoding="utf-8")

    def total(*args: str, env: dict[str, str] | None = None) -> str:
        # a fresh inbox and output each time: the batch files its inputs away and skips repeats
        shutil.rmtree(tmp_path / "in", ignore_errors=True)
        shutil.rmtree(tmp_path / "res", ignore_errors=True)
        levels = {"level1": 80, "level2": 85, "level3": 90, "level4": 95, "level5": 100}
        write_submission(tmp_path / "in" / "f.xlsx", [kpi("1", 100, result=10, **levels)])
        result = run("run", *args, cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()[0]

    assert total() == "  2563-r12  1.0000  กองทดสอบระบบ"
    assert total(env={"KPIBATCH_FLOOR": "0"}) == "  2563-r12  0.0000  กองทดสอบระบบ"
    assert total("--floor", "1", env={"KPIBATCH_FLOOR": "0"}) == "  2563-r12  1.0000  กองทดสอบระบบ"
    broken = run("run", cwd=tmp_path, env={"KPIBATCH_FLOOR": "one"})
    assert broken.returncode == 2 and broken.stderr.startswith("kpibatch: error: setting floor")


def test_unexpected_failure_exit_1_and_debug_shows_traceback(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    write_submission(inbox / "f.xlsx", [kpi("1", 100, method="score", result=4)])
    (tmp_path / "out").write_text("a file where the output folder should be")
    result = run("run", "--inbox", "in", "--out", "out", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "run with --debug" in result.stderr
    debug = run("run", "--inbox", "in", "--out", "out", "--debug", cwd=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_no_command_prints_help_and_exits_2(tmp_path: Path) -> None:
    result = run(cwd=tmp_path)
    assert result.returncode == 2 and "usage: kpibatch" in result.stdout


@pytest.mark.parametrize("name", [m.__name__.rsplit(".", 1)[-1] for m in COMMANDS])
def test_every_command_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args([name.replace("_", "-"), "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: kpibatch ")
    for action in parser._subparsers._group_actions[0].choices[name.replace("_", "-")]._actions:  # type: ignore[union-attr]
        assert action.help, f"option {action.option_strings} of {name} has no help"


def test_console_script_is_declared() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'kpibatch = "kpibatch.cli:main"' in text


def test_config_option_names_the_file_and_thai_digits_from_the_command_line(tmp_path: Path) -> None:
    """``--config FILE`` is read instead of ./kpibatch.toml; ``--thai-digits`` reaches the workbook."""
    (tmp_path / "kpibatch.toml").write_text("floor = 0\n", encoding="utf-8")
    (tmp_path / "nightly.toml").write_text('inbox = "in"\nout = "res"\nfloor = 1\n', encoding="utf-8")
    levels = {"level1": 80, "level2": 85, "level3": 90, "level4": 95, "level5": 100}
    write_submission(tmp_path / "in" / "f.xlsx", [kpi("1", 100, result=10, **levels)])
    result = run("run", "--config", "nightly.toml", "--thai-digits", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "  2563-r12  1.0000  กองทดสอบระบบ"  # the floor of nightly.toml
    [workbook] = (tmp_path / "res" / "2563-r12").glob("*.xlsx")
    division = openpyxl.load_workbook(workbook).worksheets[1]
    total = next(c for row in division.iter_rows() for c in row if c.value == 1 and c.column == 3)
    assert total.number_format == "[$-D00041E]0.0000"
    missing = run("run", "--config", "absent.toml", cwd=tmp_path)
    assert missing.returncode == 2 and "absent.toml" in missing.stderr
