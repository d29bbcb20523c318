"""One sheet per division, laid out like the official score summary (seed document 000)."""

from __future__ import annotations

from typing import Any

from kpibatch.model import DivisionScore
from kpibatch.write.context import ReportContext

HEADER_ROWS = 4  # title, blank, division row, column headings


def write_division_sheet(ctx: ReportContext, sheet_name: str, score: DivisionScore) -> Any:
    ws = ctx.workbook.add_worksheet(sheet_name)
    st = ctx.styles
    sub = score.submission
    year = ctx.year_text(sub.fiscal_year)
    ws.merge_range(
        0,
        0,
        0,
        3,
        f"สรุปผลคะแนน ตามคำรับรองการปฏิบัติราชการ ประจำปีงบประมาณ พ.ศ. {year} {ctx.round_text(sub.round)}",
        st.title,
    )
    ws.write_string(2, 0, "ตัวชี้วัด", st.header)
    ws.merge_range(2, 1, 2, 3, sub.division, st.header)
    for col, label in enumerate(("", "รายละเอียดตัวชี้วัด", "คะแนนที่ทำได้", "น้ำหนัก")):
        ws.write_string(3, col, label, st.header)

    row = HEADER_ROWS
    for kpi in score.kpis:
        ws.write_string(row, 0, ctx.code_text(kpi.code), st.code)
        ws.write_string(row, 1, ("    " * kpi.depth) + kpi.name, st.wrap)
        if kpi.score is not None:
            ws.write_number(row, 2, float(kpi.score), st.score)
        else:
            ws.write_string(row, 2, kpi.status or "", st.status)
        if kpi.effective_weight is not None:
            ws.write_number(row, 3, float(kpi.effective_weight), st.weight)
        else:
            ws.write_blank(row, 3, None, st.weight)
        row += 1

    base = sum(float(k.effective_weight) for k in score.top_level if k.effective_weight is not None)
    ws.write_string(row, 0, "", st.total_label)
    ws.write_string(row, 1, f"คะแนนที่ได้รับตามคำรับรองฯ ประจำปีงบประมาณ พ.ศ. {year}", st.total_label)
    if score.total is not None:
        ws.write_number(row, 2, float(score.total), st.total_score)
    else:
        ws.write_string(row, 2, "-", st.total_score)
    ws.write_number(row, 3, base, st.total_weight)

    ws.set_column(0, 0, 8)
    ws.set_column(1, 1, 70)
    ws.set_column(2, 2, 16)
    ws.set_column(3, 3, 10)
    return ws
