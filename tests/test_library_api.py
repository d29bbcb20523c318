"""The library API (``kpibatch.check``, ``run``, ``load``), the README's example, ``kpibatch export``.

Real runs over the shipped examples; the CSV is opened by LibreOffice headless and read back with
openpyxl.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import EXAMPLES, ROOT
from helpers import kpi, write_submission

import kpibatch
from kpibatch.cli import main
from kpibatch.model import DivisionScore, Submission

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
CONVERT_TIMEOUT_S = 180


def seed_totals(seed: list[dict]) -> dict[str, Decimal]:
    return {d["division"]: Decimal(str(d["printed_total"])) for d in seed}


@pytest.fixture(scope="module")
def examples_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    work = tmp_path_factory.mktemp("api")
    shutil.copytree(EXAMPLES, work / "inbox")
    report = kpibatch.run(work / "inbox", work / "output", stability_delay=0)
    return work, report


def test_run_reports_like_the_command_and_load_gives_the_six_seed_totals(examples_run, seed) -> None:
    work, report = examples_run
    assert report.exit_code == 0 and len(report.accepted) == 6
    out = work / "output"
    [results_json] = out.rglob("results.json")
    for source in (out, results_json, out / "ledger.sqlite3"):
        results = kpibatch.load(source)
        divisions = results.divisions
        assert dict(zip(divisions["division"], divisions["total"], strict=True)) == seed_totals(seed)
        assert all(isinstance(t, Decimal) for t in divisions["total"])
        assert divisions["total"].dtype == object  # never floats
        # competition ranks: three divisions at 5 share rank 1, then 4.9 is 4th
        ranks = dict(zip(divisions["division"], divisions["rank"], strict=True))
        assert ranks["ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร"] == 4
        assert ranks["กองบริหารทรัพยากรบุคคล"] == 6
        assert set(divisions["fiscal_year"]) == {2563} and set(divisions["round"]) == {12}
        kpis = results.kpis
        assert len(kpis) == sum(len(d["kpis"]) for d in seed)
        assert all(isinstance(s, Decimal) for s in kpis["score"] if s is not None)
        hr = kpis[(kpis["division"] == "กองบริหารทรัพยากรบุคคล") & (kpis["code"] == "2.5")]
        assert hr["score"].tolist() == [Decimal("2")]


def test_load_a_ledger_keeps_every_round_and_superseded_submissions(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    write_submission(inbox / "a.xlsx", [kpi("1", 100, method="score", result=3)], round_=6)
    first = kpibatch.run(inbox, tmp_path / "out", stability_delay=0)
    assert first.exit_code == 0
    write_submission(inbox / "b.xlsx", [kpi("1", 100, method="score", result=4)], round_=9)
    kpibatch.run(inbox, tmp_path / "out", stability_delay=0)
    write_submission(inbox / "c.xlsx", [kpi("1", 100, method="score", result=5)], round_=9)
    kpibatch.run(inbox, tmp_path / "out", stability_delay=0)
    ledger = kpibatch.load(tmp_path / "out" / "ledger.sqlite3").divisions
    rows = list(zip(ledger["round"], ledger["total"], ledger["current"], ledger["rank"], strict=True))
    assert rows == [(6, Decimal("3"), True, 1), (9, Decimal("4"), False, pd.NA), (9, Decimal("5"), True, 1)]
    # the folder holds each round's report as written: the superseded submission is not in it
    folder = kpibatch.load(tmp_path / "out").divisions
    assert sorted(zip(folder["round"], folder["total"], strict=True)) == [
        (6, Decimal("3")),
        (9, Decimal("5")),
    ]


def test_check_gives_the_submission_problems_and_score(tmp_path: Path) -> None:
    checked = kpibatch.check(EXAMPLES / "03_human_resources.xlsx")
    assert checked.accepted and not checked.errors
    assert isinstance(checked.submission, Submission) and isinstance(checked.score, DivisionScore)
    assert checked.submission.division == "กองบริหารทรัพยากรบุคคล"
    assert checked.score.total == Decimal("4.55")
    broken = write_submission(tmp_path / "bad.xlsx", [kpi("1", 60, method="score", result=9)])
    rejected = kpibatch.check(broken)
    assert not rejected.accepted and rejected.score is None and rejected.submission is None
    assert rejected.errors and all(p.file == "bad.xlsx" for p in rejected.errors)
    assert any(p.sheet and p.cell for p in rejected.errors)


def test_readme_library_example_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- library-example -->\n```python\n(.*?)\n```", text, flags=re.DOTALL)
    assert match, "README has no library example"
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(match.group(1), "README.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "True กองบริหารทรัพยากรบุคคล 4.5500" in printed
    results = namespace["results"]
    assert isinstance(results, kpibatch.loading.Results)
    assert sorted(results.divisions["total"]) == sorted(
        Decimal(t) for t in ("5", "5", "4.55", "5", "4.8", "4.9")
    )
    weakest = namespace["weakest"]
    assert weakest["score"].tolist()[0] == Decimal("1")  # กองบริหารการคลัง 4.3
    shutil.rmtree(namespace["work"])


def export(*args: str) -> int:
    return main(["export", *args], out=io.StringIO())


def test_export_long_form_with_filters_and_formula_text_kept_as_text(examples_run, tmp_path: Path) -> None:
    work, _ = examples_run
    out = work / "output"
    target = tmp_path / "all.csv"
    assert export("--output-dir", str(out), "--out", str(target)) == 0
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 107  # one row a KPI a submission: the six examples' KPIs
    totals = {r["division"]: Decimal(r["total"]) for r in rows}
    assert totals["กองบริหารการคลัง"] == Decimal("4.8")
    assert export("--output-dir", str(out), "--out", str(target), "--fiscal-year", "2020") == 0
    assert len(list(csv.DictReader(io.StringIO(target.read_text("utf-8-sig"))))) == 107
    assert export("--output-dir", str(out), "--out", str(target), "--division", "การคลัง") == 0
    only = list(csv.DictReader(io.StringIO(target.read_text("utf-8-sig"))))
    assert {r["division"] for r in only} == {"กองบริหารการคลัง"} and len(only) == 18
    assert export("--output-dir", str(out), "--out", str(target), "--round", "6") == 0
    assert list(csv.DictReader(io.StringIO(target.read_text("utf-8-sig")))) == []

    inbox = tmp_path / "in"
    write_submission(inbox / "f.xlsx", [kpi("1", 100, name="@SUM(1+1) ร้อยละ", method="score", result=4)])
    kpibatch.run(inbox, tmp_path / "o", stability_delay=0)
    assert export("--output-dir", str(tmp_path / "o"), "--out", str(target)) == 0
    [row] = list(csv.DictReader(io.StringIO(target.read_text("utf-8-sig"))))
    assert row["name"] == "'@SUM(1+1) ร้อยละ"


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_export_opens_in_libreoffice_with_thai_text_intact(examples_run, tmp_path: Path) -> None:
    work, _ = examples_run
    target = tmp_path / "history.csv"
    assert export("--output-dir", str(work / "output"), "--out", str(target)) == 0
    profile = tmp_path / "lo-profile"
    # comma-separated, double quotes, UTF-8 (76), from line 1: what the import dialog offers for a BOM
    command = [
        str(SOFFICE),
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--infilter=CSV:44,34,76,1",
        "--convert-to",
        "xlsx",
        "--outdir",
        str(tmp_path / "xlsx"),
        str(target),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S, env={**os.environ}
    )
    converted = tmp_path / "xlsx" / "history.xlsx"
    assert converted.is_file(), done.stdout + done.stderr
    ws = openpyxl.load_workbook(converted).active
    header = [c.value for c in ws[1]]
    assert header[:5] == ["submission_id", "received_at", "fiscal_year", "round", "division"]
    divisions = {ws.cell(row=r, column=5).value for r in range(2, ws.max_row + 1)}
    assert divisions == {
        "สำนักงานเลขาธิการกรม",
        "กองพัฒนาระบบการบังคับคดีและประเมินราคาทรัพย์สิน",
        "กองบริหารทรัพยากรบุคคล",
        "กองติดตามและเฉลี่ยทรัพย์สินในคดีล้มละลาย",
        "กองบริหารการคลัง",
        "ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร",
    }
    names = [ws.cell(row=r, column=header.index("name") + 1).value for r in range(2, ws.max_row + 1)]
    assert "ร้อยละความพึงพอใจของผู้รับบริการ" in names
    assert ws.max_row == 108


def test_library_import_is_lazy() -> None:
    """Importing kpibatch loads neither pandas nor any stage: they come with the first call."""
    code = (
        "import sys, kpibatch; print(sorted(m for m in sys.modules if m.startswith(('pandas', 'kpibatch.'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
