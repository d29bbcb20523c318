"""The consolidated workbook, written with xlsxwriter: overview, one sheet per division, issues.

Every string from a submission is written with ``write_string`` and the workbook is created with
formula, URL and number conversion off, so text typed by a division can never become a formula.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kpibatch.config import Settings
from kpibatch.consolidate import Group, overview_frame
from kpibatch.safety import SafeWorkbook
from kpibatch.write.context import ReportContext
from kpibatch.write.division import write_division_sheet
from kpibatch.write.issues import write_issues
from kpibatch.write.overview import write_overview
from kpibatch.write.sheetnames import SheetNamer
from kpibatch.write.styles import make_styles

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


def write_report(group: Group, path: Path, settings: Settings, generated_at: dt.datetime) -> Path:
    workbook = SafeWorkbook(str(path), WORKBOOK_OPTIONS)
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
    write_issues(ctx, ISSUES_SHEET, group.problems())
    workbook.close()
    return path
