"""The consolidated workbook, written with xlsxwriter: one module per kind of sheet.

``write_report`` names every division's sheet, then runs a list of sheet writers in order: the
overview, one sheet per division, the KPI comparison and the issues sheet. Another kind of sheet is
one more writer in that list (see ``kpibatch.write.context.SheetWriter``).

Every string from a submission is written with ``safety.write_text`` and the workbook is created with
formula, URL and number conversion off, so text typed by a division can never become a formula or
markup. The workbook is made through xlsxwriter's documented interface only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from kpibatch.config import ReportStyle
from kpibatch.consolidate import Group
from kpibatch.safety import safe_workbook
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
    # not row by row: the overview merges several cells down from one row, which xlsxwriter's
    # constant_memory mode cannot write (the second merge would start in a row already written)
    "constant_memory": False,
}
IN_MEMORY_SHEETS = 2000
"""Up to this many divisions, the workbook's parts are zipped from memory (xlsxwriter's documented
``in_memory`` option). xlsxwriter otherwise writes every part it makes (a file per sheet) to a
temporary file first, which costs time for each sheet; but in memory the parts wait until the zip is
written, so a larger report goes through files."""
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
    style: ReportStyle,
    generated_at: dt.datetime,
    trend: Trend | None = None,
    sheets: Sequence[SheetWriter] = DEFAULT_SHEETS,
) -> Path:
    options = {**WORKBOOK_OPTIONS, "in_memory": len(group.divisions) <= IN_MEMORY_SHEETS}
    workbook = safe_workbook(str(path), options)
    workbook.set_properties(
        {
            "title": f"สรุปผลคะแนน ปีงบประมาณ {group.fiscal_year} รอบ {group.round} เดือน",
            "created": generated_at.replace(tzinfo=None),
        }
    )
    formats = Formats(workbook, style.font_name, style.font_size, style.thai_digits)
    ctx = ReportContext(
        workbook=workbook,
        formats=formats,
        group=group,
        generated_at=generated_at,
        thai_digits=style.thai_digits,
        trend=trend,
    )
    ctx.pages = division_pages(group, [name for sheet in sheets for name in sheet.fixed_names])
    for sheet in sheets:
        sheet.write(ctx)
    workbook.close()
    return path
