"""Formula cells without a cached value: found in the sheet XML, harmless outside number columns, and an
error naming the cell inside them."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import xlsxwriter
from helpers import kpi, write_submission

from kpibatch.pipeline import check_file
from kpibatch.read.formulas import uncached_formulas
from kpibatch.score import ScoreOptions

SHEET_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<sheetData>
<row r="1"><c r="A1"><v>4</v></c><c r="B1"><f t="shared" ref="B1:B3" si="0">A1*2</f></c></row>
<row r="2"><c r="A2"><v>5</v></c><c r="B2"><f t="shared" si="0"/></c></row>
<row r="3"><c r="A3"><v>6</v></c><c r="B3"><f t="shared" si="0"/><v>12</v></c></row>
<row r="4"><c r="A4" t="str"><f>IF(A1&gt;0,"","x")</f><v></v></c><c><f>SUM(A1:A3)</f></c></row>
<row><c><v>1</v></c><c><f>A1+1</f><v/></c></row>
</sheetData>
</worksheet>"""

BOMB_XML = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<sheetData><row r="1"><c r="A1" t="str"><f>A2</f><v>&lol2;</v></c><c r="B1"><f>A2</f></c></row></sheetData>
</worksheet>"""


def _with_sheet_xml(sheet_xml: str, *, absolute_target: bool = False) -> bytes:
    """A real openpyxl workbook whose only sheet's XML is replaced by ``sheet_xml``."""
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml.encode("utf-8")
            elif item.filename == "xl/_rels/workbook.xml.rels" and absolute_target:
                data = data.replace(b'Target="worksheets/', b'Target="/xl/worksheets/')
            dst.writestr(item, data)
    return out.getvalue()


def test_openpyxl_formulas_have_no_cached_value(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "KPIs"
    ws["A1"] = 1
    ws["B2"] = "=A1*2"
    ws["C3"] = "not a formula"
    path = tmp_path / "o.xlsx"
    wb.save(path)
    assert uncached_formulas(path.read_bytes(), "KPIs") == {(1, 1): "=A1*2"}
    assert uncached_formulas(path.read_bytes(), "Other") == {}


def test_formulas_with_cached_values_are_not_reported(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("KPIs")
    ws.write_number("A1", 3)
    ws.write_formula("A2", "=A1*2", None, 6)
    ws.write_formula("A3", '="text"', None, "text")
    wb.close()
    assert uncached_formulas(path.read_bytes(), "KPIs") == {}


def test_shared_formulas_empty_strings_and_cells_without_addresses() -> None:
    data = _with_sheet_xml(SHEET_XML)
    found = uncached_formulas(data, "Data")
    # B1 and B2 have no value (B2 borrows the master's text), B3 has a cached 12; A4's cached value is
    # the empty string (t="str"), so it is not reported; B4 and the address-less B5 have no value.
    assert found == {(0, 1): "=A1*2", (1, 1): "=A1*2", (3, 1): "=SUM(A1:A3)", (4, 1): "=A1+1"}


def test_absolute_relationship_targets_are_followed() -> None:
    data = _with_sheet_xml(SHEET_XML, absolute_target=True)
    assert (0, 1) in uncached_formulas(data, "Data")


def test_entity_declarations_are_refused_not_expanded() -> None:
    # Parsed normally, B1 would be reported; defusedxml refuses the DTD and the scan gives up instead.
    assert uncached_formulas(_with_sheet_xml(BOMB_XML), "Data") == {}


def test_not_a_zip_gives_nothing() -> None:
    assert uncached_formulas(b"not a workbook", "KPIs") == {}


def _add_formulas(path: Path, cells: dict[str, str], sheet: str = "KPIs") -> None:
    wb = openpyxl.load_workbook(path)
    for ref, formula in cells.items():
        wb[sheet][ref] = formula
    wb.save(path)


def test_formula_in_a_result_cell_is_an_error_naming_the_cell(tmp_path: Path) -> None:
    path = write_submission(
        tmp_path / "f.xlsx",
        [kpi("1", 60, method="score", result=4), kpi("2", 40, method="score", result=3)],
    )
    _add_formulas(path, {"L3": "=2+1"})  # row 3 is KPI 2; L is the result column
    outcome = check_file(path, ScoreOptions())
    assert not outcome.accepted
    [problem] = [p for p in outcome.errors if p.code == "formula-without-value"]
    assert (problem.sheet, problem.cell) == ("KPIs", "L3")
    assert "=2+1" in problem.message_en
    assert "Excel" in problem.to_dict()["fix_en"] and "บันทึก" in problem.to_dict()["fix_th"]


def test_formulas_outside_number_columns_do_not_break_reading(tmp_path: Path) -> None:
    path = write_submission(
        tmp_path / "f.xlsx",
        [kpi("1", 60, method="score", result=4), kpi("2", 40, method="score", result=3)],
        title_rows=1,
    )
    # A weight-sum check above the header (in the weight column), a formula in the note column of a
    # KPI row and a total row at the bottom: none of them is a number the reader needs.
    _add_formulas(path, {"D1": "=SUM(D3:D4)", "N3": '="see "&A3', "B5": '="รวม"', "D5": "=SUM(D3:D4)"})
    assert uncached_formulas(path.read_bytes(), "KPIs")  # they really have no cached value
    outcome = check_file(path, ScoreOptions())
    assert outcome.accepted, [p.render() for p in outcome.errors]
    assert outcome.score is not None and str(outcome.score.total) == "3.6000"
