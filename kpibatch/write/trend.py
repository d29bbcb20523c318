"""The trend sheet: each division's total in every round of the fiscal year so far (6 → 9 → 12 months).

It appears when the ledger (``kpibatch.batch``) holds an earlier round of the same year; a plain
``run_batch`` of one folder has no history and writes no trend sheet.
"""

from __future__ import annotations

from typing import Any

from kpibatch.model import Trend
from kpibatch.write.context import ReportContext
from kpibatch.write.grid import Grid
from kpibatch.write.styles import SCORE_FORMAT

TREND_SHEET = "แนวโน้ม"
CHART_MAX_DIVISIONS = 12
"""More lines than this make a chart nobody can read; the table alone is printed then."""


class TrendSheet:
    """Writes the trend sheet when the report context carries a trend (from the ledger)."""

    fixed_names: tuple[str, ...] = (TREND_SHEET,)

    def write(self, ctx: ReportContext) -> None:
        if ctx.trend is not None:
            write_trend(ctx, TREND_SHEET, ctx.trend)


def write_trend(ctx: ReportContext, name: str, trend: Trend) -> Any:
    ws = ctx.workbook.add_worksheet(name)
    f = ctx.formats
    last_col = len(trend.rounds) + 1
    grid = Grid(ws, [45.0] + [16.0] * last_col, f.font_size)
    arrow = " → ".join(ctx.digits(str(r)) for r in trend.rounds)
    title = (
        f"แนวโน้มผลคะแนนรายหน่วยงาน ประจำปีงบประมาณ พ.ศ. {ctx.year_text(trend.fiscal_year)} (รอบ {arrow} เดือน)"
    )
    grid.text(0, 0, title, f.title(), last_col=last_col)
    grid.text(2, 0, "หน่วยงาน", f.header())
    for col, round_ in enumerate(trend.rounds, start=1):
        grid.text(2, col, ctx.round_text(round_), f.header())
    grid.text(2, last_col, "เปลี่ยนแปลงจากรอบก่อน", f.header())
    score = f.number(SCORE_FORMAT, border=1, align="center")
    centred = f.text(align="center")
    row = 3
    for item in trend.rows:
        grid.text(row, 0, item.division, f.text())
        for col, round_ in enumerate(trend.rounds, start=1):
            total = item.totals.get(round_)
            if total is not None:
                grid.number(row, col, total, score, centred)
            else:
                grid.text(row, col, "ไม่ได้ส่ง" if round_ not in item.totals else "-", centred)
        latest = item.totals.get(trend.rounds[-1])
        previous = item.totals.get(trend.rounds[-2]) if len(trend.rounds) > 1 else None
        if latest is not None and previous is not None:
            grid.number(row, last_col, latest - previous, score, centred)
        else:
            grid.text(row, last_col, "-", centred)
        row += 1
    if 0 < len(trend.rows) <= CHART_MAX_DIVISIONS:
        _chart(ctx, ws, name, trend)
    ctx.finish(grid, heading_rows=(2, 2), freeze=(3, 1), landscape=True)
    return ws


def _chart(ctx: ReportContext, ws: Any, name: str, trend: Trend) -> None:
    chart = ctx.workbook.add_chart({"type": "line"})
    for offset in range(len(trend.rows)):
        row = 3 + offset
        chart.add_series(
            {
                "name": [name, row, 0],
                "categories": [name, 2, 1, 2, len(trend.rounds)],
                "values": [name, row, 1, row, len(trend.rounds)],
                "marker": {"type": "circle"},
            }
        )
    chart.set_y_axis({"min": 0, "max": 5, "major_unit": 1})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 720, "height": 360})
    ws.insert_chart(3 + len(trend.rows) + 1, 0, chart)
