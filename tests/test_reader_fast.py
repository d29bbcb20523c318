"""The python-calamine value reader: same values as openpyxl, percent formats, error cells, odd XML."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from helpers import Percent, kpi, write_submission
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpibatch.read import read_submission
from kpibatch.read.archive import Archive
from kpibatch.read.package import Package, column_index, scan_cells
from kpibatch.read.workbook import RawSheet, WorkbookError, open_book

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "input_templates" / "examples").glob("*.xlsx"))


def openpyxl_sheet(path: Path, name: str) -> RawSheet:
    """The reader this module replaced: openpyxl read-only, percent from each cell's number format."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows: list[list[Any]] = []
    percent: set[tuple[int, int]] = set()
    for r, row in enumerate(book[name].iter_rows()):
        rows.append([getattr(cell, "value", None) for cell in row])
        for c, cell in enumerate(row):
            value = getattr(cell, "value", None)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if number and "%" in (getattr(cell, "number_format", None) or ""):
                percent.add((r, c))
    book.close()
    return RawSheet(name=name, rows=rows, percent=percent)


def cells(sheet: RawSheet) -> dict[tuple[int, int], tuple[type, Any]]:
    """Non-blank cells with their type: row lengths differ between readers, content must not."""
    return {
        (r, c): (type(v), v) for r, row in enumerate(sheet.rows) for c, v in enumerate(row) if v is not None
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_read_exactly_as_openpyxl_read_them(path: Path) -> None:
    book = open_book(path)
    try:
        assert book.sheet_names
        for name in book.sheet_names:
            fast, slow = book.sheet(name), openpyxl_sheet(path, name)
            assert cells(fast) == cells(slow)
            assert fast.percent == slow.percent
    finally:
        book.close()


def test_percent_cells_of_the_examples_are_found() -> None:
    """03 and 05 type their percentages as percent-formatted cells; the reader must see them."""
    found = {}
    for path in EXAMPLES:
        book = open_book(path)
        found[path.name] = sum(len(book.sheet(name).percent) for name in book.sheet_names)
        book.close()
    assert found["03_human_resources.xlsx"] > 0
    assert found["05_finance.xlsx"] > 0
    assert found["01_secretariat.xlsx"] == 0


# --- property: whatever xlsxwriter writes, the reader returns ----------------------------------

CELL = st.one_of(
    st.none(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.text(alphabet="กขคงจ๑๒๓ abc.,%-", min_size=1, max_size=12).filter(lambda s: s.strip() != ""),
    st.booleans(),
    st.builds(Percent, st.floats(min_value=-5, max_value=5, allow_nan=False)),
    st.sampled_from(["#DIV/0!", "#N/A", "#VALUE!", "#REF!"]).map(lambda e: ("error", e)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grid=st.lists(st.lists(CELL, min_size=1, max_size=6), min_size=1, max_size=8), top=st.integers(0, 3))
def test_any_grid_reads_back_as_written(tmp_path: Path, grid: list[list[Any]], top: int) -> None:
    path = tmp_path / "grid.xlsx"
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    percent_format = book.add_format({"num_format": "0.0%"})
    ws = book.add_worksheet("S")
    expected: dict[tuple[int, int], Any] = {}
    expected_percent: set[tuple[int, int]] = set()
    for r, row in enumerate(grid, start=top):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, Percent):
                ws.write_number(r, c, value.value, percent_format)
                expected[(r, c)] = value.value
                expected_percent.add((r, c))
            elif isinstance(value, tuple):
                ws.write_formula(r, c, "=1/0", None, value[1])
                expected[(r, c)] = value[1]
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value)
                expected[(r, c)] = value
            elif isinstance(value, str):
                ws.write_string(r, c, value)
                expected[(r, c)] = value
            else:
                ws.write_number(r, c, value)
                expected[(r, c)] = value
    book.close()

    raw = open_book(path)
    try:
        sheet = raw.sheet("S")
    finally:
        raw.close()
    got = {(r, c): v for r, row in enumerate(sheet.rows) for c, v in enumerate(row) if v is not None}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, float) and not value.is_integer():
            assert isinstance(got[key], float) and math.isclose(got[key], value, rel_tol=1e-15)
        else:
            assert (got[key] == value and type(got[key]) is type(value)) or (
                isinstance(value, float) and got[key] == int(value) and type(got[key]) is int
            )
    assert sheet.percent == expected_percent


# --- the parts calamine does not give ------------------------------------------------------------


def test_error_cell_is_not_read_as_blank(tmp_path: Path) -> None:
    """calamine returns '' for #DIV/0!; a blank result would silently score 0 instead of rejecting."""
    path = write_submission(
        tmp_path / "err.xlsx",
        [kpi("1", 60, method="score", result=4), kpi("2", 40, method="score", result=3)],
    )
    book = openpyxl.load_workbook(path)
    book["KPIs"]["L2"] = "=1/0"  # openpyxl saves no cached value; add one the way Excel would
    book.save(path)
    _inject_cached_error(path, "xl/worksheets/sheet2.xml", "L2", "#DIV/0!")

    outcome = read_submission(path)
    errors = [p for p in outcome.problems if p.code == "number-invalid"]
    assert [(p.sheet, p.cell) for p in errors] == [("KPIs", "L2")]
    assert "#DIV/0!" in errors[0].message_en


def _inject_cached_error(path: Path, part: str, ref: str, error: str) -> None:
    with zipfile.ZipFile(path) as zin:
        items = [(info, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == part:
                text = data.decode()
                start = text.index(f'<c r="{ref}"')
                end = text.index("</c>", start) + len("</c>")
                text = text[:start] + f'<c r="{ref}" t="e"><f>1/0</f><v>{error}</v></c>' + text[end:]
                data = text.encode()
            zout.writestr(info, data)


def test_percent_formatted_results_score_in_percent_units(tmp_path: Path) -> None:
    path = write_submission(
        tmp_path / "pct.xlsx",
        [
            kpi(
                "1",
                100,
                method="threshold",
                level1=60,
                level2=70,
                level3=80,
                level4=90,
                level5=100,
                result=Percent(0.85),
            ),
        ],
    )
    outcome = read_submission(path)
    assert outcome.ok, [p.render() for p in outcome.problems]
    assert outcome.submission is not None
    assert outcome.submission.kpis[0].result == Decimal("85")


def test_template_version_in_a_defined_name_is_read(tmp_path: Path) -> None:
    path = write_submission(tmp_path / "v2.xlsx", [kpi("1", 100, method="score", result=4)])
    book = openpyxl.load_workbook(path)
    book.defined_names["KPIBATCH_TEMPLATE_VERSION"] = openpyxl.workbook.defined_name.DefinedName(
        "KPIBATCH_TEMPLATE_VERSION", attr_text='"2"'
    )
    book.save(path)
    outcome = read_submission(path)
    assert [p.code for p in outcome.problems] == ["template-too-new"]


def test_file_is_opened_once_and_hashed(tmp_path: Path) -> None:
    """No repeated work: the bytes are read in one open and the hash is of exactly those bytes."""
    path = write_submission(tmp_path / "once.xlsx", [kpi("1", 100, method="score", result=4)])
    opened: list[str] = []
    target = str(path)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and args and str(args[0]) == target:
            opened.append(event)

    sys.addaudithook(hook)
    outcome = read_submission(path)
    assert len(opened) == 1
    assert outcome.source is not None
    assert outcome.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    target = ""  # the hook stays installed for the rest of the session; make it inert


@pytest.mark.parametrize("content", [b"not a zip at all", b"PK\x03\x04 truncated"])
def test_not_a_workbook_is_unreadable(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(WorkbookError):
        open_book(path)
    outcome = read_submission(path)
    assert [p.code for p in outcome.problems] == ["file-unreadable"]


def test_vanished_file_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    outcome = read_submission(tmp_path / "gone.xlsx")
    assert [p.code for p in outcome.problems] == ["file-unreadable"]


# --- the package scanner on XML that other writers produce ---------------------------------------

STYLES = """<?xml version="1.0"?>
<x:styleSheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<x:numFmts count="1"><x:numFmt numFmtId='170' formatCode='0.0&quot; %&quot;'/></x:numFmts>
<x:cellXfs count="4"><x:xf numFmtId="0"/><x:xf numFmtId="9" applyNumberFormat="1"/><x:xf numFmtId = "170"/>
<x:xf numFmtId="14"/></x:cellXfs></x:styleSheet>"""

WORKBOOK = """<?xml version="1.0"?>
<x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"
 xmlns:rel="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<x:sheets><x:sheet name="R&amp;D ตัวชี้วัด" sheetId="1" rel:id="R1"/></x:sheets>
<x:definedNames><x:definedName name="Empty"/><x:definedName name="Print_Area">'R&amp;D'!A1:B2</x:definedName>
<x:definedName name="KPIBATCH_TEMPLATE_VERSION">&quot;1&quot;</x:definedName></x:definedNames>
</x:workbook>"""

RELS = """<?xml version="1.0"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="R1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
 Target="/xl/sheets/data.xml"/>
<Relationship Id="R2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
 Target="styles.xml"/></Relationships>"""

SHEET = """<?xml version="1.0"?>
<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>
<x:row r="2"><x:c r="B2" s="1"><x:v>0.5</x:v></x:c><x:c r="C2" s='2'><x:v>12</x:v></x:c>
<x:c r="D2" s="3"><x:v>43831</x:v></x:c><x:c r="E2" s="1" t="s"><x:v>0</x:v></x:c></x:row>
<x:row><x:c s="2"><x:v>1</x:v></x:c><x:c t="e"><x:v>#N/A</x:v></x:c><x:c t = 'e' s="1"><x:f>A1</x:f>
<x:v>#REF!</x:v></x:c></x:row></x:sheetData></x:worksheet>"""


def test_package_with_prefixes_absolute_targets_and_escaped_names() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", RELS)
        zf.writestr("xl/styles.xml", STYLES)
        zf.writestr("xl/sheets/data.xml", SHEET)
    package = Package(Archive(buffer.getvalue()))
    assert package.percent_styles == frozenset({1, 2})
    assert package.defined_names == {"Print_Area": "'R&D'!A1:B2", "KPIBATCH_TEMPLATE_VERSION": '"1"'}
    marks = package.sheet_marks("R&D ตัวชี้วัด")
    # row 3 has no r attributes: its cells are A3, B3, C3 by position
    assert marks.percent == {(1, 1), (1, 2), (2, 0)}
    assert marks.errors == {(2, 1): "#N/A", (2, 2): "#REF!"}


def test_scan_without_percent_styles_or_errors_finds_nothing() -> None:
    xml = '<worksheet><sheetData><row r="1"><c r="A1" s="1"><v>0.5</v></c></row></sheetData></worksheet>'
    marks = scan_cells(xml, frozenset())
    assert not marks.percent and not marks.errors


@pytest.mark.parametrize(("letters", "index"), [("A", 0), ("Z", 25), ("AA", 26), ("XFD", 16383)])
def test_column_index(letters: str, index: int) -> None:
    assert column_index(letters) == index


def test_dates_are_not_numbers(tmp_path: Path) -> None:
    """A date typed in a number column must be refused, as it was with openpyxl."""
    path = tmp_path / "date.xlsx"
    path = write_submission(path, [kpi("1", 100, method="score", result=dt.datetime(2020, 1, 2))])
    outcome = read_submission(path)
    assert [(p.code, p.cell) for p in outcome.problems] == [("number-invalid", "L2")]
