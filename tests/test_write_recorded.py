"""Division sheets laid out in the workers (kpibatch.write.recorded) equal sheets laid out in the main
process, cell for cell, format for format; a recording made for other style settings is not used."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import EXAMPLES

from kpibatch.config import Settings
from kpibatch.consolidate import consolidate
from kpibatch.pipeline import check_files
from kpibatch.write import write_report
from kpibatch.write.recorded import SheetStyle, record_division_sheet

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
                c.alignment.horizontal,
                c.alignment.indent,
                c.alignment.wrap_text,
                c.border.left.style,
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
            "setup": (
                ws.page_setup.orientation,
                ws.page_setup.paperSize,
                ws.sheet_properties.pageSetUpPr.fitToPage,
            ),
            "footer": ws.oddFooter.center.text,
        }
    return found


@pytest.mark.parametrize("thai_digits", [False, True])
def test_a_replayed_division_sheet_is_the_sheet_the_writer_lays_out(
    tmp_path: Path, thai_digits: bool
) -> None:
    settings = Settings(thai_digits=thai_digits)
    files = sorted(EXAMPLES.glob("*.xlsx"))
    [recorded] = consolidate(list(check_files(files, settings, layout=True)))
    [direct] = consolidate(list(check_files(files, settings)))
    assert all(o.sheet is not None for o in recorded.accepted)
    assert all(o.sheet is None for o in direct.accepted)
    a = write_report(recorded, tmp_path / "recorded.xlsx", settings, NOW)
    b = write_report(direct, tmp_path / "direct.xlsx", settings, NOW)
    replayed, written = sheet_dump(a), sheet_dump(b)
    assert list(replayed) == list(written) and len(replayed) == 6 + 3
    for name in written:
        assert replayed[name] == written[name], name


def test_a_recording_for_another_style_is_laid_out_again(tmp_path: Path) -> None:
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


def test_a_recording_is_small(tmp_path: Path) -> None:
    """It waits in the main process's memory until the report is written: a few kB per division."""
    files = sorted(EXAMPLES.glob("*.xlsx"))
    [group] = consolidate(list(check_files(files, Settings())))
    for score in group.divisions:
        recorded = record_division_sheet(score, SheetStyle.of(Settings()))
        properties, ops, page = recorded.unpack()
        assert len(recorded.data) < 8_000, score.division
        assert {name for name, _, _ in ops} >= {"write_string", "write_number", "set_row", "set_column"}
        assert page["print_area"][0] == 0 and properties


def test_the_batch_replays_what_the_workers_laid_out(tmp_path: Path) -> None:
    """run_batch asks the workers for the layout; its report equals one laid out in the main process."""
    from kpibatch.pipeline import run_batch

    files = sorted(EXAMPLES.glob("*.xlsx"))
    report = run_batch(files, tmp_path / "out", Settings(), now=lambda: NOW)
    [output] = report.outputs
    assert all(o.sheet is not None for o in output.group.accepted)
    [direct] = consolidate(list(check_files(files, Settings())))
    b = write_report(direct, tmp_path / "direct.xlsx", Settings(), NOW)
    assert sheet_dump(output.workbook) == sheet_dump(b)


def test_style_comes_from_the_settings() -> None:
    settings = dataclasses.replace(Settings(), font_name="Sarabun", font_size=14, thai_digits=True)
    assert SheetStyle.of(settings) == SheetStyle("Sarabun", 14, True)


def test_zipped_from_memory_or_through_files_the_workbook_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    import kpibatch.write

    [group] = consolidate(list(check_files(sorted(EXAMPLES.glob("*.xlsx")), Settings(), layout=True)))
    a = write_report(group, tmp_path / "memory.xlsx", Settings(), NOW)
    monkeypatch.setattr(kpibatch.write, "IN_MEMORY_SHEETS", 0)
    b = write_report(group, tmp_path / "files.xlsx", Settings(), NOW)

    def members(path: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(path) as z:
            return {name: z.read(name) for name in z.namelist()}

    assert members(a) == members(b)
