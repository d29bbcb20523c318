"""The consolidated workbook, written with xlsxwriter: one module per kind of sheet.

``write_report`` names every division's sheet, then runs a list of sheet writers in order: the
overview, one sheet per division, the KPI comparison and the issues sheet. Another kind of sheet is
one more writer in that list (see ``kpibatch.write.context.SheetWriter``).

Every string from a submission is written with ``write_string`` and the workbook is created with
formula, URL and number conversion off, so text typed by a division can never become a formula.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Iterator, Sequence
from pathlib import Path

from kpibatch.config import Settings
from kpibatch.consolidate import Group
from kpibatch.write.built import ReportWorkbook, fix_division_formats
from kpibatch.write.comparison import ComparisonSheet
from kpibatch.write.context import DivisionPage, ReportContext, SheetWriter
from kpibatch.write.division import DivisionSheets
from kpibatch.write.issues import IssuesSheet
from kpibatch.write.overview import OverviewSheet
from kpibatch.write.sheetnames import SheetNamer
from kpibatch.write.styles import Formats
from kpibatch.write.trend import Trend, TrendSheet

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "constant_memory": False,
}
IN_MEMORY_SHEETS = 2000
"""Up to this many divisions, the workbook's parts are zipped from memory. xlsxwriter otherwise writes
every part it makes (a file per sheet laid out here) to a temporary file first, and creating and
removing a file costs about a millisecond; but the parts wait in memory until the zip is written
(the overview, comparison and workbook parts grow by some 3 kB of XML a division, a sheet laid out
here by 60 kB), so a larger report goes through files. Sheets the workers built are zipped as they
came either way."""
DEFAULT_SHEETS: tuple[SheetWriter, ...] = (
    OverviewSheet(),
    DivisionSheets(),
    ComparisonSheet(),
    TrendSheet(),
    IssuesSheet(),
)


def report_filename(group: Group) -> str:
    return f"สรุปผลคะแนน-{group.fiscal_year}-รอบ{group.round}.xlsx"


def division_pages(group: Group, reserved: Sequence[str]) -> list[DivisionPage]:
    """Each division's sheet: its short name when given, else its name shortened; always unique."""
    namer = SheetNamer(list(reserved))
    return [
        DivisionPage(score, namer.claim(score.submission.short_name or score.division))
        for score in group.divisions
    ]


def write_report(
    group: Group,
    path: Path,
    settings: Settings,
    generated_at: dt.datetime,
    trend: Trend | None = None,
    sheets: Sequence[SheetWriter] = DEFAULT_SHEETS,
) -> Path:
    with _collector_paused():
        return _write_report(group, path, settings, generated_at, trend, sheets)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while the workbook is built, the objects already alive frozen.

    A report is hundreds of thousands of cells, each an object the collector would walk again and
    again as they pile up (a quarter of the writing time at a thousand divisions, more the larger the
    report), while nothing the writer makes is garbage before the workbook is closed.
    """
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


def _write_report(
    group: Group,
    path: Path,
    settings: Settings,
    generated_at: dt.datetime,
    trend: Trend | None,
    sheets: Sequence[SheetWriter],
) -> Path:
    built = {id(o.score): o.sheet for o in group.accepted if o.sheet is not None}
    options = {**WORKBOOK_OPTIONS, "in_memory": len(group.divisions) <= IN_MEMORY_SHEETS}
    workbook = ReportWorkbook(str(path), options)
    workbook.set_properties(
        {
            "title": f"สรุปผลคะแนน ปีงบประมาณ {group.fiscal_year} รอบ {group.round} เดือน",
            "created": generated_at.replace(tzinfo=None),
        }
    )
    formats = Formats(workbook, settings.font_name, settings.font_size, settings.thai_digits)
    ctx = ReportContext(
        workbook=workbook,
        formats=formats,
        group=group,
        generated_at=generated_at,
        thai_digits=settings.thai_digits,
        trend=trend,
        built=built,
        # before any sheet is written: the division formats take the numbers the workers gave them
        division_formats=fix_division_formats(workbook, formats),
    )
    ctx.pages = division_pages(group, [name for sheet in sheets for name in sheet.fixed_names])
    for sheet in sheets:
        sheet.write(ctx)
    workbook.close()
    return path
