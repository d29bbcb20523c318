"""Text is text: whatever a division types reaches the workbook as a plain string, never a formula,
a link or a number."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
from helpers import kpi, write_submission
from write_helpers import load, run_report, zip_names, zip_text

DIVISION = '=HYPERLINK("http://example.com/x","คลิก")'
NAMES = {
    "1": "=1+1",
    "2": "+SUM(A1:A9)",
    "3": "@cmd",
    "4": "-2+3",
    "5": "http://example.com/phish",
    "6": "=cmd|' /C calc'!A0",
    "7": "0012",
}


def as_typed_text(path: Path) -> None:
    """openpyxl saves a string starting with ``=`` as a formula; make every such cell text, as a
    division typing ``'=1+1`` in Excel would."""
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    book.save(path)


def test_typed_text_never_becomes_a_formula_a_link_or_a_number(tmp_path: Path):
    kpis = [kpi(code, 10, name, method="score", result=4, note="=2*3") for code, name in NAMES.items()]
    kpis.append(kpi("8", 30, "{=SUM(1)}", status="=NOW()", unit="=A1"))
    moves = [{"from": "8", "to": "1", "weight": 30, "reason": "=ข้อ"}]
    as_typed_text(write_submission(tmp_path / "in" / "x.xlsx", kpis, division=DIVISION, reallocations=moves))
    _, path = run_report(tmp_path / "in", tmp_path / "out")
    book = load(path)

    typed = {DIVISION, *NAMES.values(), "{=SUM(1)}", "=NOW()", "=A1", "=2*3"}
    seen: set[str] = set()
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    seen |= {t for t in typed if t == cell.value}
                assert cell.hyperlink is None, (ws.title, cell.coordinate)
    assert seen == typed  # every one of them is in the workbook, as typed

    sheets = [n for n in zip_names(path) if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
    for member in sheets:
        xml = zip_text(path, member)
        assert "<f>" not in xml and "<f " not in xml, member
        assert "<hyperlink" not in xml, member
    rels = [n for n in zip_names(path) if n.endswith(".rels")]
    assert not any('TargetMode="External"' in zip_text(path, n) for n in rels)

    division = next(ws for ws in book.worksheets if ws["B3"].value == DIVISION)
    sentence = next(
        c.value for row in division.iter_rows() for c in row if str(c.value).startswith("ตัวชี้วัด ข้อ 8 ")
    )
    assert sentence == "ตัวชี้วัด ข้อ 8 {=SUM(1)} จะนำน้ำหนัก 30 ใส่ไว้ในข้อ 1 =1+1"


def test_template_syntax_in_a_name_is_not_run(tmp_path: Path):
    name = "{{ 7*7 }} {% raw %}"
    write_submission(
        tmp_path / "in" / "j.xlsx",
        [kpi("1", 50, "ก", method="score", result=4), kpi("2", 50, name, status="ไม่ได้ประเมิน")],
        reallocations=[{"from": "2", "to": "1", "weight": 50}],
        short_name="ทดสอบ",
    )
    _, path = run_report(tmp_path / "in", tmp_path / "out")
    ws = load(path)["ทดสอบ"]
    texts = [c.value for row in ws.iter_rows(max_col=1) for c in row if isinstance(c.value, str)]
    assert f"ตัวชี้วัด ข้อ 2 {name} จะนำน้ำหนัก 50 ใส่ไว้ในข้อ 1 ก" in texts


def test_who_answers_for_a_kpi_and_who_certified_are_text_too(tmp_path: Path):
    """The contact columns and the signatories' cells: formulas, links and markup stay as typed,
    in the officer columns and in the certifier line printed under the summary."""
    hostile = {
        "supervisor": '=HYPERLINK("http://example.com/x","คลิก")',
        "supervisor_phone": "=1+2",
        "collector": "<r><t>markup</t></r>",
        "collector_phone": "+66 2 222 6443",
    }
    columns = ("code", "name", "weight", "method", "result", *hostile)
    rows = [
        ("reporter", "@SUM(1)"),
        ("certifier", "=cmd|' /C calc'!A0"),
        ("certifier_position", "<b>ผอ.</b>"),
    ]
    path = write_submission(
        tmp_path / "in" / "c.xlsx",
        [kpi("1", 100, method="score", result=4) | hostile],
        columns=columns,
        division_rows=[("division", "กองทดสอบ"), ("fiscal_year", 2563), ("round", 12), *rows],
    )
    as_typed_text(path)
    _, workbook = run_report(tmp_path / "in", tmp_path / "out")
    ws = load(workbook).worksheets[1]
    cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for text in hostile.values():
        assert text in cells and cells[text].data_type == "s" and cells[text].hyperlink is None
    assert "ผู้รายงานข้อมูล @SUM(1)" in cells
    assert "ผู้รับรองข้อมูล =cmd|' /C calc'!A0\nตำแหน่ง <b>ผอ.</b>" in cells
    sheets = [n for n in zip_names(workbook) if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
    for member in sheets:
        xml = zip_text(workbook, member)
        assert "<f>" not in xml and "<f " not in xml and "<hyperlink" not in xml, member
