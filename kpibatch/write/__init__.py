"""The consolidated workbook, written with xlsxwriter: overview, one sheet per division, issues.

Every string from a submission is written with ``write_string`` and the workbook is created with
formula, URL and number conversion off, so text typed by a division can never become a formula.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter

from kpibatch.config import Settings
from kpibatch.consolidate import Group, overview_frame
from kpibatch.write.context import ReportContext
from kpibatch.write.division import write_division_sheet
from kpibatch.write.issues import write_issues
from kpibatch.write.overview import write_overview
from kpibatch.write.sheetnames import SheetNamer
from kpibatch.write.styles import make_styles
from kpibatch.write.trend import TREND_SHEET, Trend, write_trend

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "constant_memory": False,
}
OVERVIEW_SHEET = "ภาพรวม"
ISSUES_SHEET = "ปัญหา"


def report_filename(group: Group) -> str:
    return f"สรุปผลคะแนน-{group.fiscal_year}-รอบ{group.round}.xlsx"


def write_report(
    group: Group, path: Path, settings: Settings, generated_at: dt.datetime, trend: Trend | None = None
) -> Path:
    workbook = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    workbook.set_properties({"title": f"KPI {group.key}", "created": generated_at.replace(tzinfo=None)})
    ctx = ReportContext(
        workbook=workbook,
        styles=make_styles(workbook, settings.font_name, settings.font_size, settings.thai_digits),
        thai_digits=settings.thai_digits,
        generated_at=generated_at,
    )
    namer = SheetNamer([OVERVIEW_SHEET, ISSUES_SHEET])
    sheet_of = {
        score.division: namer.claim(score.submission.short_name or score.division)
        for score in group.divisions
    }
    write_overview(ctx, OVERVIEW_SHEET, group, overview_frame(group), sheet_of)
    for score in group.divisions:
        write_division_sheet(ctx, sheet_of[score.division], score)
    if trend is not None:  # earlier rounds of the year, from the ledger (kpibatch.batch)
        write_trend(ctx, namer.claim(TREND_SHEET), trend)
    write_issues(ctx, ISSUES_SHEET, group.problems())
    workbook.close()
    return path
