"""Who answers for each KPI (supervisor, data collector, their phones) and who reported and certified
a division's figures: optional in the template and the contract, read, kept in results.json and the
ledger's record, shown in the officer columns, and printed under the summary as on an official form.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers import kpi, write_submission
from write_helpers import load, run_report

from kpibatch import contract
from kpibatch.checking import check_file
from kpibatch.cli import main
from kpibatch.model import KpiContacts, KpiRow, Signatory
from kpibatch.read import read_submission
from kpibatch.results import outcome_record, record_outcome
from kpibatch.score import ScoreOptions
from kpibatch.template import TemplateSpec, write_template
from kpibatch.template.layout import CONTACT_COLUMNS, CONTACT_FIRST_COLUMN, DIVISION_SHEET, KPI_SHEET
from kpibatch.write.division import HEADINGS

SUPERVISOR = "กองบำรุงรักษาราชอุทยาน"
PHONE = "0 – 2282 – 3504"  # as the official KPI description writes it (seed 003)
COLLECTOR = "ฝ่ายสถาปัตยกรรม"
CONTACT_HEADERS = ("ผู้กำกับดูแลตัวชี้วัด", "เบอร์ติดต่อ", "ผู้จัดเก็บข้อมูล", "เบอร์ติดต่อ")


def _fill_template(template: Path, target: Path) -> Path:
    """The generated template filled as a clerk fills it, the new cells included."""
    wb = openpyxl.load_workbook(template)
    details = wb[DIVISION_SHEET]
    labels = {contract.division_key(details.cell(r, 1).value): r for r in range(1, details.max_row + 1)}
    typed = {
        "division": "กองทดสอบผู้รับผิดชอบ",
        "fiscal_year": 2563,
        "round": 12,
        "reporter": "นางสาวสมใจ ใจดี",
        "reporter_position": "นักวิเคราะห์นโยบายและแผน",
        "reported_on": "14 ต.ค. 2563",  # typed as text: kept as typed
        "certifier": "นายสมชาย รักงาน",
        "certifier_position": "ผู้อำนวยการกอง",
        "certified_on": dt.datetime(2020, 10, 15),  # a date cell
    }
    for key, value in typed.items():
        details.cell(labels[key], 2).value = value
    ws = wb[KPI_SHEET]
    rows = [
        ("1", "ตัวชี้วัดที่มีผู้รับผิดชอบ", 60, 4, (SUPERVISOR, PHONE, COLLECTOR, 22243323)),
        ("2", "ตัวชี้วัดที่ไม่ได้ระบุ", 40, 5, (None, None, None, None)),
    ]
    for r, (code, name, weight, result, contacts) in enumerate(rows, start=5):
        for key, value in {"A": code, "B": name, "D": weight, "E": "คะแนน / score", "L": result}.items():
            ws[f"{key}{r}"] = value
        for c, value in enumerate(contacts, start=CONTACT_FIRST_COLUMN + 1):
            ws.cell(r, c).value = value
    wb.save(target)
    return target


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("contacts")
    (root / "inbox").mkdir()
    template = root / "template.xlsx"
    assert main(["template", "--out", str(template)], out=io.StringIO()) == 0
    return _fill_template(template, root / "inbox" / "filled.xlsx")


def test_the_template_asks_for_them_and_the_contract_knows_every_label(tmp_path: Path) -> None:
    path = write_template(tmp_path / "t.xlsx", TemplateSpec(), font_name="TH Sarabun New", font_size=16)
    wb = openpyxl.load_workbook(path)
    kpis = wb[KPI_SHEET]
    headers = [kpis.cell(4, CONTACT_FIRST_COLUMN + 1 + i).value for i in range(len(CONTACT_COLUMNS))]
    assert [contract.kpi_column(h) for h in headers] == list(contract.CONTACT_COLUMNS)
    assert not kpis.cell(5, CONTACT_FIRST_COLUMN + 1).protection.locked  # input cells
    details = wb[DIVISION_SHEET]
    keys = [contract.division_key(details.cell(r, 1).value) for r in range(3, 13)]
    assert keys[4:] == [key for keys in contract.SIGNATORIES.values() for key in keys]


def test_a_filled_template_reads_them(filled: Path) -> None:
    read = read_submission(filled)
    assert read.ok, [p.render() for p in read.problems]
    sub = read.submission
    assert sub is not None
    assert sub.reporter == Signatory("นางสาวสมใจ ใจดี", "นักวิเคราะห์นโยบายและแผน", "14 ต.ค. 2563")
    assert sub.certifier == Signatory("นายสมชาย รักงาน", "ผู้อำนวยการกอง", "2020-10-15")
    first, second = sub.kpis
    # a phone typed as a number keeps its digits, without ".0"
    assert first.contacts == KpiContacts(SUPERVISOR, PHONE, COLLECTOR, "22243323")
    assert second.contacts is None


def test_the_official_forms_bare_phone_headings_belong_to_the_column_on_their_left(tmp_path: Path) -> None:
    columns = ("code", "name", "weight", "method", "result", *CONTACT_HEADERS)
    row = kpi("1", 100, method="score", result=5)
    row |= {"ผู้กำกับดูแลตัวชี้วัด": SUPERVISOR, "ผู้จัดเก็บข้อมูล": COLLECTOR}
    path = write_submission(tmp_path / "form.xlsx", [row], columns=columns)
    wb = openpyxl.load_workbook(path)  # the two phone columns share one heading: fill them by place
    wb["KPIs"]["G2"], wb["KPIs"]["I2"] = PHONE, "0-2222-6443 ต่อ 4564"
    wb.save(path)
    read = read_submission(path)
    assert read.ok and read.submission is not None
    [only] = read.submission.kpis
    assert only.contacts == KpiContacts(SUPERVISOR, PHONE, COLLECTOR, "0-2222-6443 ต่อ 4564")


def test_files_without_them_read_and_print_as_before(tmp_path: Path) -> None:
    path = write_submission(tmp_path / "in" / "old.xlsx", [kpi("1", 100, method="score", result=5)])
    read = read_submission(path)
    assert read.submission is not None
    assert read.submission.reporter is None and read.submission.certifier is None
    assert read.submission.kpis[0].contacts is None
    _, workbook = run_report(tmp_path / "in", tmp_path / "out")
    ws = load(workbook).worksheets[1]
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert not texts & {HEADINGS[k] for k in contract.CONTACT_COLUMNS}
    assert not any(t.startswith(("ผู้รายงานข้อมูล", "ผู้รับรองข้อมูล")) for t in texts)
    data = json.loads((workbook.parent / "results.json").read_text("utf-8"))
    [division] = data["divisions"]
    assert division["reporter"] is None and division["certifier"] is None
    assert division["kpis"][0]["contacts"] is None


def _printed_rows(ws: Any) -> int:
    """The last row of the sheet's print area (1-based)."""
    area = ws.print_area if isinstance(ws.print_area, str) else ws.print_area[0]
    return int(re.findall(r"\$?[A-Z]+\$?(\d+)", area)[-1])


def test_they_reach_results_json_the_officer_columns_and_the_printed_form(
    filled: Path, tmp_path: Path
) -> None:
    _, workbook = run_report(filled.parent, tmp_path / "out")
    data = json.loads((workbook.parent / "results.json").read_text("utf-8"))
    [division] = data["divisions"]
    assert division["reporter"] == {
        "name": "นางสาวสมใจ ใจดี",
        "position": "นักวิเคราะห์นโยบายและแผน",
        "date": "14 ต.ค. 2563",
    }
    assert division["certifier"] == {
        "name": "นายสมชาย รักงาน",
        "position": "ผู้อำนวยการกอง",
        "date": "2020-10-15",
    }
    assert division["kpis"][0]["contacts"] == {
        "supervisor": SUPERVISOR,
        "supervisor_phone": PHONE,
        "collector": COLLECTOR,
        "collector_phone": "22243323",
    }
    assert division["kpis"][1]["contacts"] is None

    ws = load(workbook).worksheets[1]
    headings = {ws.cell(4, c).value: c for c in range(1, ws.max_column + 1)}
    last_printed_col = 4  # code, name, score, weight
    for key, value in zip(contract.CONTACT_COLUMNS, (SUPERVISOR, PHONE, COLLECTOR, "22243323"), strict=True):
        col = headings[HEADINGS[key]]
        assert col > last_printed_col  # an officer column, outside the print
        assert ws.cell(5, col).value == value and ws.cell(5, col).data_type == "s"
        assert ws.cell(6, col).value is None
    lines = [
        (r, ws.cell(r, 1).value)
        for r in range(1, ws.max_row + 1)
        if str(ws.cell(r, 1).value).startswith(("ผู้รายงานข้อมูล", "ผู้รับรองข้อมูล"))
    ]
    assert [text for _, text in lines] == [
        "ผู้รายงานข้อมูล นางสาวสมใจ ใจดี\nตำแหน่ง นักวิเคราะห์นโยบายและแผน   วันที่ 14 ต.ค. 2563",
        "ผู้รับรองข้อมูล นายสมชาย รักงาน\nตำแหน่ง ผู้อำนวยการกอง   วันที่ 15 ตุลาคม 2563",
    ]
    total_row = next(r for r in range(1, ws.max_row + 1) if str(ws.cell(r, 1).value).startswith("คะแนนที่ได้รับ"))
    assert all(total_row < r <= _printed_rows(ws) for r, _ in lines)  # under the summary, printed


def test_thai_digits_apply_to_the_certified_date(filled: Path, tmp_path: Path) -> None:
    _, workbook = run_report(filled.parent, tmp_path / "out", thai_digits=True)
    ws = load(workbook).worksheets[1]
    texts = [c.value for row in ws.iter_rows(max_col=1) for c in row if isinstance(c.value, str)]
    assert any(t.endswith("วันที่ ๑๕ ตุลาคม ๒๕๖๓") for t in texts), texts


def test_the_ledgers_record_keeps_them(filled: Path) -> None:
    outcome = check_file(filled, ScoreOptions())
    assert outcome.score is not None
    back = record_outcome(outcome_record(outcome), outcome.path)
    assert back.score is not None
    assert back.score.kpis[0].contacts == KpiContacts(SUPERVISOR, PHONE, COLLECTOR, "22243323")
    assert back.score.submission.certifier == Signatory("นายสมชาย รักงาน", "ผู้อำนวยการกอง", "2020-10-15")
    # a record stored before contacts existed reads as none
    data = json.loads(outcome_record(outcome))
    for k in data["score"]["kpis"]:
        del k["contacts"]
    del data["score"]["reporter"], data["score"]["certifier"]
    old = record_outcome(json.dumps(data, ensure_ascii=False), outcome.path)
    assert (
        old.score is not None
        and old.score.kpis[0].contacts is None
        and old.score.submission.certifier is None
    )


def test_the_next_rounds_template_keeps_who_answers_for_each_kpi(tmp_path: Path) -> None:
    contacts = KpiContacts(SUPERVISOR, PHONE, COLLECTOR, "0-2224-3323")
    row = KpiRow(code="1", name="ตัวชี้วัด", weight=Decimal(100), row=5, method="score", contacts=contacts)
    spec = TemplateSpec(division="กองทดสอบ", fiscal_year=2563, round=12, kpis=(row,))
    path = write_template(tmp_path / "next.xlsx", spec, font_name="TH Sarabun New", font_size=16)
    ws = openpyxl.load_workbook(path)[KPI_SHEET]
    shown = [ws.cell(5, CONTACT_FIRST_COLUMN + 1 + i).value for i in range(len(CONTACT_COLUMNS))]
    assert shown == [SUPERVISOR, PHONE, COLLECTOR, "0-2224-3323"]
