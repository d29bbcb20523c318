"""The issues sheet: every error, warning and superseded file, with file, sheet and cell."""

from __future__ import annotations

from typing import Any

from kpibatch.problems import Problem
from kpibatch.write.context import ReportContext


def write_issues(ctx: ReportContext, name: str, problems: list[Problem]) -> Any:
    ws = ctx.workbook.add_worksheet(name)
    st = ctx.styles
    headers = (
        "ระดับ / Severity",
        "รหัส / Code",
        "ไฟล์ / File",
        "ชีต / Sheet",
        "เซลล์ / Cell",
        "ข้อความ (ไทย)",
        "Message (English)",
        "วิธีแก้ / Fix",
    )
    for col, label in enumerate(headers):
        ws.write_string(0, col, label, st.header)
    for row, problem in enumerate(problems, start=1):
        values = (
            "ข้อผิดพลาด / error" if problem.severity == "error" else "คำเตือน / warning",
            problem.code,
            problem.file,
            problem.sheet,
            problem.cell,
            problem.message_th,
            problem.message_en,
            " / ".join(p for p in (problem.to_dict()["fix_th"], problem.to_dict()["fix_en"]) if p),
        )
        for col, value in enumerate(values):
            ws.write_string(row, col, str(value), st.wrap)
    if not problems:
        ws.write_string(1, 0, "ไม่มีข้อผิดพลาดหรือคำเตือน / No errors or warnings", st.text)
    ws.set_column(0, 1, 18)
    ws.set_column(2, 2, 30)
    ws.set_column(3, 4, 14)
    ws.set_column(5, 7, 60)
    ws.freeze_panes(1, 0)
    return ws
