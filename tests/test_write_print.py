"""Thai government print conventions, read back with openpyxl: A4, one page wide, repeated headings,
no gridlines, frozen panes, the Thai font, column widths for Thai text and rows tall enough."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from write_helpers import examples_workbook, load, run_report

from kpibatch.write import widths
from kpibatch.write.comparison import NAME as COMPARISON
from kpibatch.write.division import FIRST_KPI_ROW
from kpibatch.write.issues import NAME as ISSUES
from kpibatch.write.overview import NAME as OVERVIEW
from kpibatch.write.page import PORTRAIT_WIDTH_PX

FIRST = FIRST_KPI_ROW + 1


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load(examples_workbook(tmp_path_factory).workbook)


def test_every_sheet_prints_on_a4_one_page_wide_without_gridlines(book: Any):
    landscape = {COMPARISON, ISSUES}
    for ws in book.worksheets:
        setup = ws.page_setup
        assert setup.paperSize == 9, ws.title
        assert setup.orientation == ("landscape" if ws.title in landscape else "portrait"), ws.title
        if ws.row_breaks.brk:
            # a manual break (the total kept with its last rows) needs a scale: fitting ignores it
            assert not ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
            assert 80 <= setup.scale < 100, ws.title
        else:
            assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
            assert (setup.fitToWidth in (None, 1), setup.fitToHeight) == (True, 0), ws.title
        assert ws.sheet_view.showGridLines is False, ws.title
        assert not ws.print_options.gridLines, ws.title
        # the overview repeats its headings only when its table does not fit its first page
        assert ws.print_title_rows or ws.title == OVERVIEW, ws.title
        assert ws.freeze_panes, ws.title
        assert ws.print_area, ws.title
        assert "หน้า &P / &N" in ws.oddFooter.center.text, ws.title


def test_division_sheets_repeat_their_headings_and_freeze_below_them(book: Any):
    for ws in book.worksheets[1:7]:
        assert ws.print_title_rows == "$1:$4"
        assert ws.freeze_panes == f"C{FIRST}"
        assert ws.print_area.startswith(f"'{ws.title}'!$A$1:$D$")  # quoted: LibreOffice needs it for สลก.


def test_cells_use_th_sarabun_new_16_and_descriptions_wrap(book: Any):
    ws = book.worksheets[1]
    for cell in (ws["A1"], ws["B3"], ws.cell(FIRST, 1), ws.cell(FIRST, 2), ws.cell(FIRST, 3)):
        assert cell.font.name == "TH Sarabun New"
    assert ws.cell(FIRST, 2).font.sz == 16
    assert ws["A1"].font.sz > 16 and ws["A1"].font.b
    assert all(ws.cell(FIRST + i, 2).alignment.wrap_text for i in range(21))


def test_font_is_configurable(tmp_path: Path):
    shutil.copytree(EXAMPLES, tmp_path / "in")
    _, path = run_report(tmp_path / "in", tmp_path / "out", font_name="TH SarabunPSK", font_size=14)
    ws = load(path).worksheets[1]
    assert (ws.cell(FIRST, 2).font.name, ws.cell(FIRST, 2).font.sz) == ("TH SarabunPSK", 14)


def test_summary_columns_fill_an_a4_portrait_page(book: Any):
    page = widths.page_units(PORTRAIT_WIDTH_PX, 4)
    for ws in book.worksheets[1:7]:
        summary = [ws.column_dimensions[letter].width for letter in "ABCD"]
        # openpyxl reads the stored width, which carries Excel's 5-pixel padding (w + 5/7)
        assert sum(summary) - 4 * 5 / 7 == pytest.approx(page, abs=1.0), ws.title
        assert summary[1] > 40, ws.title


def test_rows_are_as_tall_as_their_wrapped_text(book: Any, seed: list[dict]):
    ws = book.worksheets[1]
    names = [k["name"] for k in seed[0]["kpis"]]
    heights = [ws.row_dimensions[FIRST + i].height for i in range(len(names))]
    assert all(h is not None and h >= 16 * widths.LINE_HEIGHT for h in heights)
    short = names.index(min(names, key=len))
    long = names.index(max(names, key=len))
    assert heights[long] >= 2 * heights[short] - 4
    width = ws.column_dimensions["B"].width - 5 / 7
    for name, height in zip(names, heights, strict=True):
        # xlsxwriter stores heights in whole pixels (0.75 pt); a status in column C may need more
        assert height >= widths.row_height(widths.line_count(name, width, 16), 16) - 0.75


def test_thai_text_width_ignores_marks_above_and_below():
    plain = widths.text_px("กน", 16)
    marked = widths.text_px("กี่น้", 16)  # the same two consonants with a vowel and two tone marks
    assert plain == marked > 0
    assert widths.text_px("ค่าคะแนน", 16, bold=True) > widths.text_px("ค่าคะแนน", 16)
    assert widths.text_px("a\nbbbb", 16) == widths.text_px("bbbb", 16)


def test_line_count_breaks_thai_runs_and_keeps_latin_words_whole():
    thai = "ร้อยละของผู้รับบริการที่มีข้อร้องเรียนเกี่ยวกับการปฏิบัติงานที่ไม่เป็นมาตรฐานเดียวกัน"
    one_line = widths.fit_width([thai], 16, maximum=1000)
    assert widths.line_count(thai, one_line, 16) == 1
    assert widths.line_count(thai, one_line / 2, 16) in (2, 3)
    assert widths.line_count(thai, one_line / 4, 16) in (4, 5, 6)
    assert widths.line_count("alpha beta", widths.fit_width(["alpha"], 16), 16) == 2
    assert widths.line_count("one\ntwo", 40, 16) == 2


def test_no_row_is_taller_than_excel_allows_and_the_officer_sees_what_print_cuts(tmp_path: Path):
    from helpers import kpi, write_submission

    from kpibatch.write.division import HEADING_ROW

    long_name = "ร้อยละความสำเร็จของการดำเนินงานตามแผนยุทธศาสตร์ " * 60  # about 3,000 characters
    long_note = "บันทึกของหน่วยงานเกี่ยวกับการเก็บข้อมูล " * 15  # about 600 characters, not printed
    kpis = [
        kpi("1", 60, long_name.strip(), method="score", result=4),
        kpi("2", 40, "ตัวชี้วัดสั้น", method="score", result=5, note=long_note.strip()),
    ]
    write_submission(tmp_path / "in" / "long.xlsx", kpis, division="กองข้อความยาว")
    _, path = run_report(tmp_path / "in", tmp_path / "out")
    ws = load(path).worksheets[1]
    heights = {r: d.height for r, d in ws.row_dimensions.items() if d.height is not None}
    assert max(heights.values()) <= 409, heights  # Excel's limit
    assert heights[FIRST] == pytest.approx(409, abs=0.75)  # capped, not shrunk
    assert heights[FIRST + 1] == pytest.approx(409, abs=0.75)  # the note's row too
    assert ws.cell(FIRST, 2).value == long_name.strip()  # the whole text stays in the cell
    headings = {ws.cell(HEADING_ROW + 1, c).value: c for c in range(1, ws.max_column + 1)}
    warned = ws.cell(FIRST, headings["คำเตือน"]).value or ""
    assert "409" in warned and "พิมพ์" in warned and "printout" in warned
    # the note is outside the print area: its row is capped but nothing printed is cut
    assert "409" not in (ws.cell(FIRST + 1, headings["คำเตือน"]).value or "")
