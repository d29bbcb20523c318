"""Division sheets built in the workers (kpibatch.write.built) equal sheets laid out in the main
process, cell for cell, format for format; a sheet built for other settings is laid out again; the
parts are valid, their text is text, and every kind of row the writer makes can be built."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zipfile
import zlib
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import EXAMPLES
from helpers import KPI_COLUMNS, kpi, write_submission

from kpibatch.config import Settings
from kpibatch.consolidate import Group, consolidate
from kpibatch.pipeline import check_files
from kpibatch.write import write_report
from kpibatch.write.built import PartSpool, SheetBuilder, SheetStyle, build_division_sheet, write_deflated
from kpibatch.write.division import MAX_INDENT

NOW = dt.datetime(2020, 10, 15, 9, 30, tzinfo=dt.UTC)


def sheet_dump(path: Path) -> dict[str, Any]:
    """Everything a reader of the workbook sees of each sheet."""
    book = openpyxl.load_workbook(path)
    found = {}
    for ws in book.worksheets:
        cells = {
            c.coordinate: (
                c.value,
                c.number_format,
                c.font.b,
                c.font.sz,
                c.font.name,
                c.font.color.rgb if c.font.color is not None else None,
                c.alignment.horizontal,
                c.alignment.vertical,
                c.alignment.indent,
                c.alignment.wrap_text,
                c.border.left.style,
                c.border.bottom.style,
                c.fill.fgColor.rgb,
            )
            for row in ws.iter_rows()
            for c in row
        }
        found[ws.title] = {
            "cells": cells,
            "heights": {k: v.height for k, v in ws.row_dimensions.items()},
            "widths": {k: v.width for k, v in ws.column_dimensions.items()},
            "merged": sorted(map(str, ws.merged_cells.ranges)),
            "titles": ws.print_title_rows,
            "area": ws.print_area,
            "freeze": ws.freeze_panes,
            "breaks": [b.id for b in ws.row_breaks.brk],
            "setup": (
                ws.page_setup.orientation,
                ws.page_setup.paperSize,
                ws.sheet_properties.pageSetUpPr.fitToPage,
                ws.page_setup.fitToWidth,
                ws.page_setup.fitToHeight,
                ws.print_options.horizontalCentered,
                ws.sheet_view.showGridLines,
                ws.page_margins.left,
            ),
            "footer": ws.oddFooter.center.text,
        }
    return found


def every_kind_of_row(folder: Path) -> list[Path]:
    """Divisions with every kind of row the division writer has: nested KPIs down to the deepest
    indentation made up front, parents, verified results, notes, statuses, KPIs without a result
    (a warning on their row), whole and decimal weights, reallocations and their sentences."""
    nested = [kpi("3", 20, "หลัก")]
    code = "3"
    for _ in range(MAX_INDENT):
        child = f"{code}.1"
        nested += [
            kpi(child, 1, f"ย่อย {child}"),
            kpi(f"{code}.2", 1, f"ย่อย {code}.2", method="score", result=4),
        ]
        code = child
    nested[-2] = kpi(code, 1, f"ย่อย {code}", method="score", result=3)
    kpis = [
        kpi(
            "1",
            30.5,
            "ผลสำเร็จ",
            unit="ร้อยละ",
            method="threshold",
            **{f"level{k}": 50 + 10 * k for k in range(1, 6)},
            result=85.25,
            verified_result=84,
            note="ตรวจแล้ว",
        ),
        kpi("2", 20, "ไม่ได้ประเมิน", method="score", status="ไม่ประเมินรอบนี้"),
        kpi("4", 19.5, "ไม่มีผล", method="score"),
        *nested,
        kpi("5", 10, "ระดับขั้น", method="milestone", result=4),
    ]
    columns = (*KPI_COLUMNS, "verified_result")
    moves = [{"from": "2", "to": "1", "weight": 20, "reason": "ยังไม่ถึงรอบ"}]
    return [
        write_submission(folder / "a.xlsx", kpis, short_name="ทุกแบบ", columns=columns, reallocations=moves),
        write_submission(
            folder / "b.xlsx",
            [*kpis[:3], kpi("5", 30, "ระดับขั้น", method="milestone", result=4)],
            division="กองไม่ตรวจ",
            short_name="บางแบบ",
            reallocations=moves,
        ),
    ]


def same_report(tmp_path: Path, files: list[Path], settings: Settings) -> tuple[Group, dict[str, Any]]:
    """The report with the workers' sheets and the report laid out in this process: equal."""
    [built] = consolidate(list(check_files(files, settings, layout=True)))
    [direct] = consolidate(list(check_files(files, settings)))
    assert all(o.sheet is None for o in direct.accepted)
    a = sheet_dump(write_report(built, tmp_path / "built.xlsx", settings, NOW))
    b = sheet_dump(write_report(direct, tmp_path / "direct.xlsx", settings, NOW))
    assert list(a) == list(b)
    for name in b:
        assert a[name] == b[name], name
    return built, a


@pytest.mark.parametrize("thai_digits", [False, True])
def test_a_built_division_sheet_is_the_sheet_the_writer_lays_out(tmp_path: Path, thai_digits: bool) -> None:
    group, dump = same_report(tmp_path, sorted(EXAMPLES.glob("*.xlsx")), Settings(thai_digits=thai_digits))
    assert all(o.sheet is not None for o in group.accepted)
    assert len(dump) == 6 + 3


def test_every_kind_of_row_is_built_and_equal(tmp_path: Path) -> None:
    """A format the writer uses but ``division_formats`` lacks would leave these sheets unbuilt."""
    files = every_kind_of_row(tmp_path / "in")
    group, dump = same_report(tmp_path, files, Settings())
    assert len(group.accepted) == 2 and all(o.sheet is not None for o in group.accepted)
    cells = dump["ทุกแบบ"]["cells"]
    indents = {v[8] for v in cells.values() if v[8]}
    assert indents == set(range(1, MAX_INDENT + 1))
    assert any(v[0] == "ตรวจแล้ว" for v in cells.values())  # the note column
    assert any(isinstance(v[0], str) and v[0].startswith("ตัวชี้วัด ข้อ 2") for v in cells.values())


def test_a_deeper_kpi_is_laid_out_by_the_main_process(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    codes = ["1"]
    while len(codes) <= MAX_INDENT + 1:
        codes.append(codes[-1] + ".1")
    rows = [
        kpi(
            c,
            100 if c == "1" else 1,
            method=None if c != codes[-1] else "score",
            result=None if c != codes[-1] else 4,
        )
        for c in codes
    ]
    files = [
        write_submission(folder / "deep.xlsx", rows, division="กองลึก", short_name="ลึก"),
        *every_kind_of_row(folder),
    ]
    group, dump = same_report(tmp_path, files, Settings())
    built = {o.score.division: o.sheet for o in group.accepted if o.score is not None}
    assert len(built) == 3 and built["กองลึก"] is None  # deeper than the fixed formats: laid out here
    # the worker that met it started its formats afresh: the next divisions were built
    assert all(v is not None for k, v in built.items() if k != "กองลึก")
    assert max(v[8] for v in dump["ลึก"]["cells"].values()) == MAX_INDENT + 1


def test_a_sheet_built_for_another_style_is_laid_out_again(tmp_path: Path) -> None:
    files = sorted(EXAMPLES.glob("*.xlsx"))
    [group] = consolidate(list(check_files(files, Settings(), layout=True)))
    bigger = Settings(font_size=20)
    for outcome in group.accepted:
        assert outcome.sheet is not None and outcome.sheet.style == SheetStyle.of(Settings())
    [direct] = consolidate(list(check_files(files, bigger)))
    a = write_report(group, tmp_path / "stale.xlsx", bigger, NOW)
    b = write_report(direct, tmp_path / "direct.xlsx", bigger, NOW)
    assert sheet_dump(a) == sheet_dump(b)
    font_sizes = {
        v[3] for v in sheet_dump(a)[group.divisions[0].submission.short_name or ""]["cells"].values()
    }
    assert 20 in font_sizes


def test_a_sheet_built_under_another_format_table_is_laid_out_again(tmp_path: Path) -> None:
    files = sorted(EXAMPLES.glob("*.xlsx"))
    [group] = consolidate(list(check_files(files, Settings(), layout=True)))
    first = group.accepted[0]
    assert first.sheet is not None
    first.sheet = dataclasses.replace(first.sheet, formats="another table")
    [direct] = consolidate(list(check_files(files, Settings())))
    a = write_report(group, tmp_path / "mixed.xlsx", Settings(), NOW)
    b = write_report(direct, tmp_path / "direct.xlsx", Settings(), NOW)
    assert sheet_dump(a) == sheet_dump(b)


def test_a_built_part_is_small_compressed_xml_with_inline_text(tmp_path: Path) -> None:
    """It waits in the main process's memory until the report is written: a few kB per division."""
    files = sorted(EXAMPLES.glob("*.xlsx"))
    [group] = consolidate(list(check_files(files, Settings())))
    for score in group.divisions:
        built = build_division_sheet(score, SheetStyle.of(Settings()))
        assert built is not None
        xml = zlib.decompress(built.data, -zlib.MAX_WBITS)
        assert len(xml) == built.size and zlib.crc32(xml) == built.crc
        assert len(built.data) < 8_000, score.division
        text = xml.decode("utf-8")
        assert text.startswith("<?xml") and 't="inlineStr"' in text and 't="s"' not in text
        assert built.print_area is not None and built.print_area[0] == 0


def test_text_that_looks_like_markup_or_a_formula_stays_text(tmp_path: Path) -> None:
    """xlsxwriter's own inline-string writer passes ``<r>…</r>`` through as rich-text XML."""
    names = ["<r><t>แทรก</t></r>", '=HYPERLINK("http://x")', "  ช่องว่างหน้าหลัง  ", "ก & <c>ข</c> ]]>"]
    kpis = [kpi(str(i + 1), 25, name, method="score", result=4) for i, name in enumerate(names)]
    path = write_submission(tmp_path / "in" / "odd.xlsx", kpis, short_name="แปลก")
    typed = openpyxl.load_workbook(path)
    typed["KPIs"]["B3"].data_type = "s"  # typed as text, as a division's "=..." is when Excel keeps it
    typed.save(path)
    [group] = consolidate(list(check_files([path], Settings(), layout=True)))
    assert group.accepted[0].sheet is not None
    book = openpyxl.load_workbook(write_report(group, tmp_path / "odd.xlsx", Settings(), NOW))
    ws = book["แปลก"]
    got = [ws.cell(5 + i, 2).value for i in range(len(names))]
    assert got == [name.strip() for name in names]  # the reader trims what divisions type
    assert all(ws.cell(5 + i, 2).data_type == "s" for i in range(len(names)))


def test_the_report_zip_is_valid_and_its_parts_are_in_the_order_of_the_sheets(tmp_path: Path) -> None:
    from kpibatch.pipeline import run_batch

    files = sorted(EXAMPLES.glob("*.xlsx"))
    report = run_batch(files, tmp_path / "out", Settings(), now=lambda: NOW)
    [output] = report.outputs
    with zipfile.ZipFile(output.workbook) as archive:
        assert archive.testzip() is None  # every entry's CRC checked
        names = archive.namelist()
        assert len(names) == len(set(names))
        sheets = [n for n in names if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == len(openpyxl.load_workbook(output.workbook).worksheets)


def test_a_part_too_large_for_a_plain_zip_entry_is_refused(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as archive, pytest.raises(ValueError, match="ZIP64"):
        write_deflated(archive, "big.xml", b"", 0, zipfile.ZIP64_LIMIT)


def test_a_builder_keeps_its_formats_from_sheet_to_sheet(tmp_path: Path) -> None:
    files = sorted(EXAMPLES.glob("*.xlsx"))
    [group] = consolidate(list(check_files(files, Settings())))
    builder = SheetBuilder(SheetStyle.of(Settings()))
    tables = {builder.build(score).formats for score in group.divisions}  # type: ignore[union-attr]
    assert tables == {builder.table} and not builder.spoilt
    assert builder.book.worksheets_objs == []  # it keeps no sheets


def test_the_batch_adds_what_the_workers_built(tmp_path: Path) -> None:
    """run_batch asks the workers for the sheets; its report equals one laid out in the main process."""
    from kpibatch.pipeline import run_batch

    files = sorted(EXAMPLES.glob("*.xlsx"))
    report = run_batch(files, tmp_path / "out", Settings(), now=lambda: NOW)
    [output] = report.outputs
    assert all(o.sheet is not None for o in output.group.accepted)
    assert all(o.score is not None and o.score.submission.kpis == () for o in output.group.accepted)
    [direct] = consolidate(list(check_files(files, Settings())))
    b = write_report(direct, tmp_path / "direct.xlsx", Settings(), NOW)
    assert sheet_dump(output.workbook) == sheet_dump(b)


def test_style_comes_from_the_settings() -> None:
    settings = dataclasses.replace(Settings(), font_name="Sarabun", font_size=14, thai_digits=True)
    assert SheetStyle.of(settings) == SheetStyle("Sarabun", 14, True)


def test_zipped_from_memory_or_through_files_the_workbook_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kpibatch.write

    files = sorted(EXAMPLES.glob("*.xlsx"))
    [group] = consolidate(list(check_files(files, Settings())))
    group.accepted[0].sheet = build_division_sheet(group.accepted[0].score, SheetStyle.of(Settings()))  # type: ignore[arg-type]
    a = write_report(group, tmp_path / "memory.xlsx", Settings(), NOW)
    monkeypatch.setattr(kpibatch.write, "IN_MEMORY_SHEETS", 0)
    b = write_report(group, tmp_path / "files.xlsx", Settings(), NOW)

    def members(path: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(path) as z:
            return {name: z.read(name) for name in z.namelist()}

    assert members(a) == members(b)


def test_a_division_may_name_its_sheet_as_the_builders_own_scratch_sheet(tmp_path: Path) -> None:
    from kpibatch.write.built import SCRATCH_NAME

    rows = [kpi("1", 60, method="score", result=4), kpi("2", 40, method="score", result=3)]
    files = [
        write_submission(tmp_path / "in" / "a.xlsx", rows, short_name=SCRATCH_NAME),
        write_submission(
            tmp_path / "in" / "b.xlsx", rows, division="กองสอง", short_name=SCRATCH_NAME.upper()
        ),
    ]
    group, dump = same_report(tmp_path, files, Settings())
    assert all(o.sheet is not None for o in group.accepted)
    assert SCRATCH_NAME in dump and len([n for n in dump if n.lower().startswith(SCRATCH_NAME)]) == 2


def test_the_batch_parks_built_parts_on_disk_until_the_report_zips_them(tmp_path: Path) -> None:
    files = sorted(EXAMPLES.glob("*.xlsx"))
    outcomes = list(check_files(files, Settings(), layout=True))
    for outcome in outcomes:
        assert outcome.sheet is not None and outcome.sheet.data == b"" and outcome.sheet.parked is not None
        assert outcome.score is not None
        fresh = build_division_sheet(outcome.score, SheetStyle.of(Settings()))
        assert fresh is not None and outcome.sheet.part() == fresh.data


def test_a_part_that_cannot_be_parked_stays_in_memory(tmp_path: Path) -> None:
    """/dev/full: every write fails with 'no space left on device', as on a full disk."""
    if not Path("/dev/full").exists():
        pytest.skip("this system has no /dev/full to stand for a full disk")
    [group] = consolidate(list(check_files(sorted(EXAMPLES.glob("*.xlsx")), Settings())))
    built = build_division_sheet(group.divisions[0], SheetStyle.of(Settings()))
    assert built is not None
    with open("/dev/full", "r+b", buffering=0) as full:
        kept = PartSpool(full).park(built)
    assert kept is built and kept.part() == built.data


def test_the_direct_cell_writer_writes_the_xml_xlsxwriter_writes(tmp_path: Path) -> None:
    """Byte for byte, on every kind of row and on text that needs escaping."""
    from io import StringIO

    from xlsxwriter.worksheet import Worksheet

    from kpibatch.write import built as built_module
    from kpibatch.write.context import DivisionPage
    from kpibatch.write.division import write_division_sheet

    names = ["<r><t>แทรก</t></r>", "ก & <c>ข</c> _x0041_ ]]>"]
    odd = [kpi(str(i + 1), 50, name, method="score", result=4) for i, name in enumerate(names)]
    files = [
        *every_kind_of_row(tmp_path / "in"),
        write_submission(tmp_path / "in" / "odd.xlsx", odd, division="กองแปลก"),
    ]
    files += sorted(EXAMPLES.glob("*.xlsx"))
    [group] = consolidate(list(check_files(files, Settings())))
    assert len(group.divisions) == len(files)

    class Upstream(built_module._InlineStringSheet):
        _write_cell = Worksheet._write_cell  # xlsxwriter's own, with the inline strings as text

    builder = SheetBuilder(SheetStyle.of(Settings()))
    for score in group.divisions:
        texts = []
        for sheet_class in (built_module._InlineStringSheet, Upstream):
            scratch = built_module._ScratchBook(builder.book)
            ctx = built_module._BuildContext(
                workbook=scratch, formats=builder.formats, group=group, generated_at=NOW, thai_digits=False
            )
            write_division_sheet(ctx, DivisionPage(score, "x"))
            sheet = scratch.sheet
            assert sheet is not None
            sheet.__class__ = sheet_class
            xml = StringIO()
            sheet._set_xml_writer(xml)
            sheet._assemble_xml_file()
            texts.append(xml.getvalue())
        assert texts[0] == texts[1], score.division
        assert 't="inlineStr"' in texts[0]


def test_the_report_s_own_sheets_are_the_xml_xlsxwriter_writes(tmp_path: Path, monkeypatch: Any) -> None:
    """The direct cell writer of the main process (shared strings): every part of the report the
    same, byte for byte, as with xlsxwriter's cell writer, on text that needs escaping too."""
    from xlsxwriter.worksheet import Worksheet

    from kpibatch.safety import SafeWorksheet

    names = ["<r><t>แทรก</t></r>", "ก & <c>ข</c> _x0041_ ]]>", " ช่องว่างหน้า"]
    odd = [
        kpi(str(i + 1), 50 if i < 2 else 0, name, method="score", result=4) for i, name in enumerate(names)
    ]
    files = [
        *every_kind_of_row(tmp_path / "in"),
        write_submission(tmp_path / "in" / "odd.xlsx", odd[:2], division="กอง <แปลก> & ]]>"),
        *sorted(EXAMPLES.glob("*.xlsx")),
    ]
    [group] = consolidate(list(check_files(files, Settings())))  # no built sheets: all written here
    parts = []
    for writer in (SafeWorksheet._write_cell, Worksheet._write_cell):
        monkeypatch.setattr(SafeWorksheet, "_write_cell", writer)
        path = write_report(group, tmp_path / f"{len(parts)}.xlsx", Settings(), NOW)
        with zipfile.ZipFile(path) as zf:
            parts.append({name: zf.read(name) for name in zf.namelist()})
    assert parts[0].keys() == parts[1].keys()
    for name in parts[0]:
        assert parts[0][name] == parts[1][name], name
    sheets = [name for name in parts[0] if name.startswith("xl/worksheets/sheet")]
    assert len(sheets) == len(group.divisions) + 3 and all(b't="s"' in parts[0][n] for n in sheets)
