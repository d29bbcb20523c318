"""The first sheet: every division's total and rank, and where the numbers came from."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kpibatch.consolidate import Group
from kpibatch.write.context import ReportContext


def write_overview(
    ctx: ReportContext, name: str, group: Group, frame: pd.DataFrame, sheet_of: dict[str, str]
) -> Any:
    ws = ctx.workbook.add_worksheet(name)
    st = ctx.styles
    ws.merge_range(
        0,
        0,
        0,
        6,
        f"ภาพรวมผลคะแนน ตามคำรับรองการปฏิบัติราชการ ประจำปีงบประมาณ พ.ศ. "
        f"{ctx.year_text(group.fiscal_year)} {ctx.round_text(group.round)}",
        st.title,
    )
    headers = ("หน่วยงาน", "คะแนนรวม", "อันดับ", "ตัวชี้วัดที่ประเมิน", "ไม่ได้ประเมิน", "ตัวชี้วัดที่คะแนนต่ำสุด", "คำเตือน")
    for col, label in enumerate(headers):
        ws.write_string(2, col, label, st.header)
    row = 3
    for record in frame.itertuples(index=False):
        ws.write_string(row, 0, record.division, st.wrap)
        if record.total_decimal is not None:
            ws.write_number(row, 1, float(record.total_decimal), st.score)
            ws.write_number(row, 2, int(record.rank), st.code)
        else:
            ws.write_string(row, 1, "-", st.code)
            ws.write_string(row, 2, "-", st.code)
        ws.write_number(row, 3, int(record.assessed), st.code)
        ws.write_number(row, 4, int(record.not_assessed), st.code)
        weakest = f"{record.weakest_code} {record.weakest_name}" if record.weakest_code else ""
        ws.write_string(row, 5, weakest, st.wrap)
        ws.write_number(row, 6, int(record.warnings), st.code)
        row += 1
    row += 1
    ws.write_string(
        row, 0, f"สร้างเมื่อ / Generated at {ctx.generated_at.isoformat(timespec='seconds')}", st.small
    )
    for record in frame.itertuples(index=False):
        row += 1
        ws.write_string(row, 0, f"{record.file}  SHA-256 {record.sha256}", st.small)
    ws.set_column(0, 0, 45)
    ws.set_column(1, 4, 14)
    ws.set_column(5, 5, 50)
    ws.set_column(6, 6, 10)
    del sheet_of
    return ws
