"""Deadlines in the consolidated workbook and by the ledger's clock (issue 16 item 2): the overview
sheet shows each division's standing, and a run with a ledger goes by when it received a file."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import replace
from pathlib import Path

import openpyxl
from batchkit import division_book, settings_for
from helpers import simple_kpis, write_submission

from kpibatch.batch.runner import run_inbox
from kpibatch.config import Settings
from kpibatch.deadlines import STANDINGS_FILE
from kpibatch.pipeline import run_batch
from kpibatch.write.overview import FIRST_ROW, NAME

REGISTRY = """
[[division]]
name = "กองบริหารการคลัง"
aliases = ["กองคลัง"]

[[division]]
name = "กองทดสอบระบบ"

[[division]]
name = "กองที่ยังไม่ส่ง"
"""


def overview_rows(workbook: Path) -> list[tuple[object, ...]]:
    ws = openpyxl.load_workbook(workbook)[NAME]
    return [tuple(c.value for c in row) for row in ws.iter_rows(min_row=FIRST_ROW + 1)]


def test_the_overview_shows_each_division_on_time_late_or_missing(tmp_path: Path) -> None:
    registry = tmp_path / "divisions.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    kpis = simple_kpis({"1": 5}, {"1": 100})
    early = write_submission(tmp_path / "in" / "early.xlsx", kpis, division="กองคลัง")
    late = write_submission(tmp_path / "in" / "late.xlsx", kpis)
    unknown = write_submission(tmp_path / "in" / "unknown.xlsx", kpis, division="กองนอกทะเบียน")
    for path, day in ((early, 9), (late, 12), (unknown, 10)):
        stamp = dt.datetime(2020, 10, day, 12, 0).timestamp()
        os.utime(path, (stamp, stamp))
    settings = replace(Settings(), divisions_registry=registry, deadlines={"2563-12": "2020-10-10"}, jobs=1)
    output = run_batch([early, late, unknown], tmp_path / "out", settings).outputs[0]

    ws = openpyxl.load_workbook(output.workbook)[NAME]
    assert "กำหนดส่ง 2020-10-10 · ยังไม่ส่ง 1 หน่วยงาน" in ws["A2"].value
    assert ws.cell(FIRST_ROW - 1, 9).value == "การส่ง\nตามกำหนด"
    table = {row[0]: row[8] for row in overview_rows(output.workbook) if row[0] and row[8]}
    assert table == {
        "กองคลัง": "ส่งตรงเวลา",
        "กองทดสอบระบบ": "ส่งล่าช้า (2020-10-12)",
        "กองที่ยังไม่ส่ง": "ยังไม่ส่ง",
        "กองนอกทะเบียน": "ส่งตรงเวลา",  # not in the registry (a warning), and still on time
    }

    # no deadline for the round: the sheet is as it always was, eight columns
    again = run_batch([early, late], tmp_path / "plain", replace(settings, deadlines={})).outputs[0]
    plain = openpyxl.load_workbook(again.workbook)[NAME]
    assert plain.max_column == 8 and "กำหนดส่ง" not in plain["A2"].value
    assert all("ยังไม่ส่ง" not in str(row) for row in overview_rows(again.workbook))


def test_a_run_with_a_ledger_goes_by_when_it_received_the_file_not_its_mtime(tmp_path: Path) -> None:
    """A file made (mtime) before the deadline but received after it is late, with the day received."""
    registry = tmp_path / "divisions.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    settings = settings_for(
        tmp_path, divisions_registry=registry, deadlines={"2563-12": "2020-10-10"}, jobs=1
    )
    book = division_book(settings.inbox / "finance.xlsx", "กองคลัง")
    before = dt.datetime(2020, 10, 1, 12, 0).timestamp()
    os.utime(book, (before, before))
    first_day = dt.datetime.now().astimezone().date()
    report = run_inbox(settings)
    last_day = dt.datetime.now().astimezone().date()
    assert [f.status for f in report.filed] == ["accepted"]
    folder = settings.out / "2563-r12"
    found = {s["division"]: s for s in json.loads((folder / STANDINGS_FILE).read_text(encoding="utf-8"))}
    assert found["กองคลัง"]["standing"] == "late"
    assert found["กองคลัง"]["submitted"][:10] in {first_day.isoformat(), last_day.isoformat()}
    [workbook] = folder.glob("*.xlsx")
    table = {row[0]: row[8] for row in overview_rows(workbook) if row[0]}
    assert table["กองคลัง"] in {f"ส่งล่าช้า ({d.isoformat()})" for d in (first_day, last_day)}
