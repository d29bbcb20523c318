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

try:
    import resource
except ImportError:  # Windows: no per-process limit to raise
    resource = None  # type: ignore[assignment]

from kpibatch.config import ReportStyle
from kpibatch.consolidate import Group
from kpibatch.safety import safe_workbook
from kpibatch.write.comparison import ComparisonSheet
from kpibatch.write.context import DivisionPage, ReportContext, SheetWriter, Standing
from kpibatch.write.division import DivisionSheets, write_division_sheet
from kpibatch.write.issues import IssuesSheet
from kpibatch.write.overview import OverviewSheet
from kpibatch.write.plan import laid_out_in_workers
from kpibatch.write.sheetnames import SheetNamer
from kpibatch.write.styles import Formats
from kpibatch.write.trend import Trend, TrendSheet

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "constant_memory": False,
}
"""Options of every workbook kpibatch writes (the division template's writer uses them too)."""
ROW_BY_ROW_FROM = 2000
"""From this many divisions the report is written row by row (xlsxwriter's ``constant_memory``;
``grid.Grid`` writes each sheet's rows in order). xlsxwriter otherwise keeps every sheet's cells and
strings in memory until ``close``, which grows with the divisions; row by row costs a temporary file
per sheet instead, so a smaller report is zipped from memory (``in_memory``), which is faster. Both
read back the same (tests/test_write_readback.py)."""
SPARE_FILES = 64
"""Files the process may still need to open beside one per worksheet (inputs, logs, the zip)."""
WINDOWS_FILES = 8000
"""Open files a process can count on where ``resource`` is missing (the C runtime allows 8,192)."""
DEFAULT_SHEETS: tuple[SheetWriter, ...] = (
    OverviewSheet(),
    DivisionSheets(),
    ComparisonSheet(),
    TrendSheet(),
    IssuesSheet(),
)


def allow_open_files(count: int) -> bool:
    """Whether this process may hold ``count`` files open, raising its soft limit when it must.

    In ``constant_memory`` mode xlsxwriter keeps one temporary file open per worksheet until
    ``close``; where the hard limit is too low for that, the workbook is written in memory instead.
    """
    if resource is None:
        return count <= WINDOWS_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= count:
        return True
    if hard != resource.RLIM_INFINITY and hard < count:
        return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, hard))
    return True


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
    *,
    standings: Sequence[Standing] = (),
    jobs: int = 1,
) -> Path:
    """Write the consolidated workbook of ``group`` to ``path``.

    With ``jobs`` above one the division sheets are laid out by that many worker processes while
    this one writes (``kpibatch.write.plan``); the workbook is the same.
    """
    sheets_count = len(group.divisions) + sum(len(sheet.fixed_names) for sheet in sheets)
    row_by_row = len(group.divisions) >= ROW_BY_ROW_FROM and allow_open_files(sheets_count + SPARE_FILES)
    options = {**WORKBOOK_OPTIONS, "constant_memory": row_by_row, "in_memory": not row_by_row}
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
        standings=tuple(standings),
    )
    ctx.pages = division_pages(group, [name for sheet in sheets for name in sheet.fixed_names])
    # started before the first sheet, so the workers lay out while this process writes the overview
    # Row by row (the largest reports) the main process lays out alone: forked workers reading the
    # divisions they inherit copy those pages, which costs more memory than the time it saves there.
    ctx.plans = laid_out_in_workers(ctx, write_division_sheet, 1 if row_by_row else jobs)
    try:
        for sheet in sheets:
            sheet.write(ctx)
    finally:
        if ctx.plans is not None:
            ctx.plans.close()  # stops the workers, also when a sheet failed
    workbook.close()
    return path
