"""The issues sheet: every error, warning and superseded file, with file, sheet and cell, in Thai
and English, errors first, so the planning officer can tell each division what to fix.
"""

from __future__ import annotations

from typing import Any

from kpibatch.problems import Problem
from kpibatch.write.context import ReportContext
from kpibatch.write.grid import Grid

NAME = "ปัญหา"
TITLE = "ข้อผิดพลาดและคำเตือน / Errors and warnings {period}"
NONE_FOUND = "ไม่มีข้อผิดพลาดหรือคำเตือน / No errors or warnings"
SEVERITY = {"error": "ข้อผิดพลาด / error", "warning": "คำเตือน / warning"}
COLUMNS = (
    ("severity", "ระดับ / Severity", 16.0),
    ("file", "ไฟล์ / File", 28.0),
    ("sheet", "ชีต / Sheet", 14.0),
    ("cell", "เซลล์ / Cell", 10.0),
    ("message_th", "ข้อความ", 48.0),
    ("message_en", "Message", 48.0),
    ("fix", "วิธีแก้ / Fix", 48.0),
    ("code", "รหัสปัญหา / Code", 22.0),
)
ERROR_RED = "#C00000"
TITLE_ROW = 0
HEADING_ROW = 2
FIRST_ROW = 3


class IssuesSheet:
    fixed_names: tuple[str, ...] = (NAME,)

    def write(self, ctx: ReportContext) -> None:
        write_issues(ctx, NAME, ctx.group.problems())


def issue_values(problem: Problem) -> dict[str, str]:
    data = problem.to_dict()
    return {
        "severity": SEVERITY.get(problem.severity, problem.severity),
        "file": problem.file,
        "sheet": problem.sheet,
        "cell": problem.cell,
        "message_th": problem.message_th,
        "message_en": problem.message_en,
        "fix": "\n".join(part for part in (data["fix_th"], data["fix_en"]) if part),
        "code": problem.code,
    }


def write_issues(ctx: ReportContext, name: str, problems: list[Problem]) -> Any:
    ws = ctx.workbook.add_worksheet(name)
    f = ctx.formats
    last_col = len(COLUMNS) - 1
    grid = Grid(ws, [width for _, _, width in COLUMNS], f.font_size)
    grid.text(
        TITLE_ROW,
        0,
        TITLE.format(period=ctx.period_text()),
        f.title(),
        last_col=last_col,
    )
    for col, (_, heading, _) in enumerate(COLUMNS):
        grid.text(HEADING_ROW, col, heading, f.header())

    plain, error_fmt = f.text(), f.text(font_color=ERROR_RED)
    # errors first, then warnings; within each, the order the files and cells were checked in
    row = FIRST_ROW
    for problem in sorted(problems, key=lambda p: p.severity != "error"):
        values = issue_values(problem)
        for col, (key, _, _) in enumerate(COLUMNS):
            fmt = error_fmt if key == "severity" and problem.severity == "error" else plain
            grid.text(row, col, values[key], fmt)
        row += 1
    if problems:
        ws.autofilter(HEADING_ROW, 0, row - 1, last_col)
    else:
        grid.text(row, 0, NONE_FOUND, plain, last_col=last_col)
        row += 1
    ctx.finish(
        grid,
        heading_rows=(HEADING_ROW, HEADING_ROW),
        freeze=(FIRST_ROW, 0),
        landscape=True,
        print_area=(TITLE_ROW, 0, row - 1, last_col),
    )
    return ws
