"""The KPI comparison sheet: KPIs several divisions share (satisfaction 1.1, paper reduction 4.3, ...)
as a division × KPI matrix of scores with a colour scale.

KPI names are long, so the matrix is headed by codes and a table under it names each KPI with its
mean, lowest and highest score; a code shared by two different KPIs gets a letter (``2.2 ก``).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any, NamedTuple

from kpibatch.consolidate import ComparisonCell, comparison_cells
from kpibatch.score.rounding import q4
from kpibatch.write import widths
from kpibatch.write.context import ReportContext
from kpibatch.write.grid import Grid
from kpibatch.write.overview import COLOUR_SCALE
from kpibatch.write.page import LANDSCAPE_WIDTH_PX, title_text
from kpibatch.write.styles import INTEGER_FORMAT, SCORE_FORMAT, TOTAL_FILL

NAME = "เปรียบเทียบตัวชี้วัด"
TITLE = "เปรียบเทียบคะแนนตัวชี้วัดที่หลายหน่วยงานมีร่วมกัน {period}"
DIVISION_HEADING = "หน่วยงาน"
NOT_ASSESSED = "ไม่ประเมิน"
NONE_SHARED = "ไม่มีตัวชี้วัดที่มีรหัสและชื่อเดียวกันในหน่วยงานตั้งแต่สองแห่งขึ้นไป"
LEGEND_HEADINGS = ("ตัวชี้วัด", "หน่วยงานที่มี", "ที่ประเมิน", "ค่าเฉลี่ย", "ต่ำสุด", "สูงสุด")
LETTERS = "กขคงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ"
TITLE_ROW = 0
HEADING_ROW = 2
FIRST_ROW = 3
DIVISION_COLUMN = 40.0
KPI_COLUMN_MIN = 10.0
KPI_COLUMN_MAX = 16.0
MAX_SHARED_COLUMNS = 40
"""More KPI columns than this neither fit a landscape page nor help anyone compare; the KPIs shared by
the most divisions are kept (results.json still has every score)."""
LEFT_OUT = "แสดง {shown} ตัวชี้วัดที่มีหน่วยงานร่วมมากที่สุด จากทั้งหมด {total} ตัวชี้วัด (คะแนนทุกตัวชี้วัดอยู่ใน results.json)"


class SharedKpi(NamedTuple):
    key: str
    code: str
    name: str
    label: str
    """The code as the matrix heads its column, with a letter when two shared KPIs have one code."""


class ComparisonSheet:
    fixed_names: tuple[str, ...] = (NAME,)

    def write(self, ctx: ReportContext) -> None:
        write_comparison(ctx, NAME)


def shared_kpis(cells: list[ComparisonCell], digits: Any = str) -> list[SharedKpi]:
    kpis = list(dict.fromkeys((c.key, c.code, c.name) for c in cells))
    codes = Counter(code for _, code, _ in kpis)
    result, seen = [], {}
    for key, code, name in kpis:
        label = digits(code)
        if codes[code] > 1:
            label = f"{label} {LETTERS[seen.get(code, 0) % len(LETTERS)]}"
            seen[code] = seen.get(code, 0) + 1
        result.append(SharedKpi(key, code, name, label))
    return result


def most_shared(
    kpis: list[SharedKpi], cells: list[ComparisonCell], limit: int = MAX_SHARED_COLUMNS
) -> list[SharedKpi]:
    """The ``limit`` KPIs the most divisions share, kept in their natural order."""
    if len(kpis) <= limit:
        return kpis
    divisions: dict[str, set[str]] = {}
    for cell in cells:
        divisions.setdefault(cell.key, set()).add(cell.division)
    counts = {key: len(found) for key, found in divisions.items()}
    keep = {k.key for k in sorted(kpis, key=lambda k: -counts.get(k.key, 0))[:limit]}
    return [k for k in kpis if k.key in keep]


def write_comparison(ctx: ReportContext, name: str) -> Any:
    ws = ctx.workbook.add_worksheet(name)
    f = ctx.formats
    shared = comparison_cells(ctx.group)
    every_kpi = shared_kpis(shared, ctx.digits)
    kpis = most_shared(every_kpi, shared)
    divisions = [score.division for score in ctx.group.divisions]
    cells = {(c.division, c.key): c for c in shared}

    # the legend under the matrix needs its statistics columns even when few KPIs are shared
    columns = max(len(kpis), len(LEGEND_HEADINGS) - 1)
    spare = widths.page_units(LANDSCAPE_WIDTH_PX, columns + 1) - DIVISION_COLUMN
    kpi_width = round(min(max(spare / columns, KPI_COLUMN_MIN), KPI_COLUMN_MAX), 1)
    last_col = columns
    grid = Grid(ws, [DIVISION_COLUMN] + [kpi_width] * columns, f.font_size)
    title = title_text(TITLE.format(period=ctx.period_text()), grid.span_width(0, last_col), f.title_size)
    grid.text(TITLE_ROW, 0, title, f.title(), last_col=last_col)
    if not kpis:
        grid.text(HEADING_ROW, 0, NONE_SHARED, f.get(text_wrap=True), last_col=last_col)
        ctx.finish(grid, heading_rows=None, freeze=None, landscape=True)
        return ws

    grid.text(HEADING_ROW, 0, DIVISION_HEADING, f.header())
    for col, kpi in enumerate(kpis, start=1):
        grid.text(HEADING_ROW, col, kpi.label, f.header())
    score_format = f.number(SCORE_FORMAT, border=1, align="center")
    # as large and dark as the scores beside it: a status is an answer, not a footnote
    status_format = f.text(align="center")
    absent_format = f.get(border=1, bg_color=TOTAL_FILL)
    row = FIRST_ROW
    for division in divisions:
        grid.text(row, 0, division, f.text())
        for col, kpi in enumerate(kpis, start=1):
            cell = cells.get((division, kpi.key))
            if cell is None:
                grid.blank(row, col, absent_format)
            elif cell.score is not None:
                grid.number(row, col, cell.score, score_format, absent_format)
            else:
                grid.text(row, col, NOT_ASSESSED, status_format)
                if cell.status:
                    grid.comment(row, col, cell.status, {"font_name": f.font_name, "font_size": 12})
        row += 1
    ws.conditional_format(FIRST_ROW, 1, row - 1, len(kpis), COLOUR_SCALE)
    last_matrix_row = row - 1

    row = _write_legend(ctx, grid, row + 1, kpis, divisions, cells)
    if len(kpis) < len(every_kpi):
        note = LEFT_OUT.format(shown=ctx.digits(str(len(kpis))), total=ctx.digits(str(len(every_kpi))))
        grid.text(row, 0, note, f.small(), last_col=last_col)
        row += 1
    ctx.finish(
        grid,
        heading_rows=(HEADING_ROW, HEADING_ROW),
        freeze=(FIRST_ROW, 1),
        landscape=True,
        print_area=(TITLE_ROW, 0, max(row - 1, last_matrix_row), last_col),
    )
    return ws


def _write_legend(
    ctx: ReportContext,
    grid: Grid,
    row: int,
    kpis: list[SharedKpi],
    divisions: list[str],
    cells: dict[tuple[str, str], ComparisonCell],
) -> int:
    """Each shared KPI: its name, how many divisions have and assess it, mean, lowest and highest."""
    f = ctx.formats
    last_col = len(grid.widths) - 1
    first_stat = last_col - len(LEGEND_HEADINGS) + 2  # the KPI's name spans the columns before
    grid.text(row, 0, LEGEND_HEADINGS[0], f.header(), last_col=first_stat - 1)
    for col, heading in enumerate(LEGEND_HEADINGS[1:], start=first_stat):
        grid.text(row, col, heading, f.header())
    row += 1
    score_format = f.number(SCORE_FORMAT, border=1, align="center")
    count_format = f.number(INTEGER_FORMAT, border=1, align="center")
    blank = f.text()
    for kpi in kpis:
        have = [c for d in divisions if (c := cells.get((d, kpi.key))) is not None]
        scores = [c.score for c in have if c.score is not None]
        mean = q4(sum(scores, Decimal(0)) / len(scores)) if scores else None
        grid.text(row, 0, f"{kpi.label} {kpi.name}", f.text(), last_col=first_stat - 1)
        grid.number(row, first_stat, len(have), count_format, blank)
        grid.number(row, first_stat + 1, len(scores), count_format, blank)
        grid.number(row, first_stat + 2, mean, score_format, blank)
        grid.number(row, first_stat + 3, min(scores, default=None), score_format, blank)
        grid.number(row, first_stat + 4, max(scores, default=None), score_format, blank)
        row += 1
    return row
