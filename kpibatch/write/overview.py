"""The first sheet: every division's total and rank, and a footer that says when the workbook was made
and from which files (with their SHA-256), so a printed copy can be traced back to exactly what the
divisions sent. A bar chart of the totals follows on a chart sheet of its own.

The chart has its own sheet so that it prints on a page of its own: under the table it started a
page below the overview's repeated, empty table headings, and a group of many divisions makes it
taller than a page anyway, which a chart sheet scales to fit.
"""

from __future__ import annotations

from typing import Any

from kpibatch.consolidate import FileOutcome, overview_rows
from kpibatch.model import DivisionScore
from kpibatch.text import division_key
from kpibatch.write import widths
from kpibatch.write.context import ReportContext
from kpibatch.write.grid import Grid
from kpibatch.write.page import A4, MARGINS, PORTRAIT_WIDTH_PX, break_before, print_scale, title_text
from kpibatch.write.styles import INTEGER_FORMAT, SCORE_FORMAT, number_format

NAME = "ภาพรวม"
CHART_SHEET = "กราฟคะแนนรวม"
TITLE = "ภาพรวมผลคะแนน ตามคำรับรองการปฏิบัติราชการ {period}"
COLUMNS = ("division", "total", "rank", "assessed", "not_assessed", "weakest", "weakest_score", "warnings")
STANDING_COLUMNS = (*COLUMNS, "standing")
"""The table's columns when the round has a deadline: each division's standing comes last."""
COLUMN = {key: i for i, key in enumerate(STANDING_COLUMNS)}
# Headings over two rows: a column's own heading spans both, or a group heading sits over two columns.
HEADINGS = {
    "division": "หน่วยงาน",
    "total": "คะแนน\nรวม",
    "rank": "อันดับ",
    "warnings": "คำ\nเตือน",
    "standing": "การส่ง\nตามกำหนด",
}
GROUP_HEADINGS = (("assessed", "not_assessed", "ตัวชี้วัด"), ("weakest", "weakest_score", "ตัวชี้วัดที่คะแนนต่ำสุด"))
SUB_HEADINGS = {
    "assessed": "ประเมิน",
    "not_assessed": "ไม่ได้\nประเมิน",
    "weakest": "ข้อ",
    "weakest_score": "คะแนน",
}
WRAPPED_WIDTH = 27.0
"""Division names and KPI names wrap at this width (Excel units) so the table stays near one page."""

TITLE_ROW = 0
SUMMARY_ROW = 1
HEADING_ROW = 3
SUB_HEADING_ROW = 4
FIRST_ROW = 5
COLOUR_SCALE = {
    "type": "3_color_scale",
    "min_type": "num",
    "min_value": 1,
    "min_color": "#F8696B",
    "mid_type": "num",
    "mid_value": 3,
    "mid_color": "#FFEB84",
    "max_type": "num",
    "max_value": 5,
    "max_color": "#63BE7B",
}
"""Scores run from 1 to 5 whatever the group's spread, so the colours mean the same every round."""

CHART_TITLE = "คะแนนรวมของแต่ละหน่วยงาน"
NO_DIVISION = "ไม่มีหน่วยงานที่ผ่านการตรวจในรอบนี้ / No division was accepted"
STATUS_USED = "ใช้ในรายงาน"
STATUS_SUPERSEDED = "ถูกแทนที่ด้วยไฟล์ที่ส่งทีหลัง"
STATUS_REJECTED = "ไม่ผ่านการตรวจ"
ALL_EQUAL = "ทุกตัวชี้วัดได้ {score} คะแนน"
DEADLINE_SUMMARY = " · กำหนดส่ง {deadline} · ยังไม่ส่ง {missing} หน่วยงาน"
"""Added to the summary line when the round has a deadline (``kpibatch.deadlines``)."""
"""In the weakest-KPI column when every assessed KPI has the same score: none of them is weakest."""


class OverviewSheet:
    fixed_names: tuple[str, ...] = (NAME, CHART_SHEET)

    def write(self, ctx: ReportContext) -> None:
        write_overview(ctx, NAME)


def source_files(ctx: ReportContext) -> list[tuple[FileOutcome, str]]:
    """Every file of the group with what became of it: used, superseded, rejected."""
    group = ctx.group
    files = [(o, STATUS_USED) for o in group.accepted]
    files += [(old, STATUS_SUPERSEDED) for old, _ in group.superseded]
    files += [(o, STATUS_REJECTED) for o in group.rejected]
    return files


def _columns(ctx: ReportContext) -> tuple[str, ...]:
    return STANDING_COLUMNS if ctx.standings else COLUMNS


def write_overview(ctx: ReportContext, name: str) -> Any:
    ws = ctx.workbook.add_worksheet(name)
    f = ctx.formats
    group = ctx.group
    columns = _columns(ctx)
    last_col = len(columns) - 1
    grid = Grid(ws, _column_widths(ctx), f.font_size)
    by_key = {division_key(s.division): s for s in ctx.standings}

    title = title_text(TITLE.format(period=ctx.period_text()), grid.span_width(0, last_col), f.title_size)
    grid.text(TITLE_ROW, 0, title, f.title(), last_col=last_col)
    files = source_files(ctx)
    summary = ctx.digits(
        f"หน่วยงาน {len(group.divisions)} แห่ง · ไฟล์ที่ได้รับ {len(files)} ไฟล์ · "
        f"ไม่ผ่านการตรวจ {len(group.rejected)} ไฟล์ · ถูกแทนที่ {len(group.superseded)} ไฟล์"
    )
    missing = [s for s in ctx.standings if s.standing == "missing"]
    deadline = next((s.deadline for s in ctx.standings if s.deadline is not None), None)
    if deadline is not None:
        summary += ctx.digits(DEADLINE_SUMMARY.format(deadline=deadline.isoformat(), missing=len(missing)))
    grid.text(SUMMARY_ROW, 0, summary, f.get(align="center", text_wrap=True), last_col=last_col)
    _write_headings(grid, f.header(), columns)

    row = FIRST_ROW
    text, centre = f.text(), f.text(align="center")
    score_fmt, int_fmt = _num(ctx, SCORE_FORMAT), _num(ctx, INTEGER_FORMAT)
    for record, division in zip(overview_rows(group), group.divisions, strict=True):
        grid.text(row, COLUMN["division"], record.division, text)
        if record.total is not None and record.rank is not None:
            grid.number(row, COLUMN["total"], record.total, score_fmt, centre)
            grid.number(row, COLUMN["rank"], record.rank, int_fmt, centre)
        else:
            grid.text(row, COLUMN["total"], "-", centre)
            grid.text(row, COLUMN["rank"], "-", centre)
        grid.number(row, COLUMN["assessed"], record.assessed, int_fmt, centre)
        grid.number(row, COLUMN["not_assessed"], record.not_assessed, int_fmt, centre)
        code = record.weakest_code
        weakest = f"{ctx.digits(code)} {record.weakest_name}" if code is not None else ""
        if code is not None and record.weakest_score is not None and _all_equal(division):
            weakest = ALL_EQUAL.format(score=ctx.digits(f"{record.weakest_score.normalize():f}"))
        grid.text(row, COLUMN["weakest"], weakest, text)
        grid.number(row, COLUMN["weakest_score"], record.weakest_score, score_fmt, centre)
        grid.number(row, COLUMN["warnings"], record.warnings, int_fmt, centre)
        if ctx.standings:
            found = by_key.get(division_key(record.division))
            grid.text(row, COLUMN["standing"], ctx.digits(found.text_th) if found else "-", centre)
        row += 1
    last_data = row - 1

    if group.divisions:
        ws.conditional_format(FIRST_ROW, COLUMN["total"], last_data, COLUMN["total"], COLOUR_SCALE)
    else:
        grid.text(row, 0, NO_DIVISION, text, last_col=last_col)
        row += 1
    # Divisions expected and not submitted: under the table, outside the chart's and colours' range.
    for standing in missing:
        grid.text(row, COLUMN["division"], standing.division, text)
        for key in columns[1:-1]:
            grid.text(row, COLUMN[key], "-", centre)
        grid.text(row, COLUMN["standing"], standing.text_th, centre)
        row += 1

    footer = row + 1
    row = _write_footer(ctx, grid, footer, files, last_col)
    # A table that fits its first page repeats no headings: the footer, when it must go to a page of
    # its own, is then not printed under empty table headings. It is kept whole.
    scale = print_scale(sum(grid.widths), len(grid.widths), PORTRAIT_WIDTH_PX)
    heights = [grid.height(r) for r in range(row)]
    one_page = break_before(heights[:footer], SUB_HEADING_ROW, repeated=None, scale=scale / 100) is None
    broken = one_page and break_before(heights, footer, repeated=None, scale=scale / 100) is not None
    if broken:
        ws.set_h_pagebreaks([footer])
    ctx.finish(
        grid,
        heading_rows=None if one_page else (HEADING_ROW, SUB_HEADING_ROW),
        freeze=(FIRST_ROW, 0),
        print_area=(TITLE_ROW, 0, row - 1, last_col),
    )
    if broken:
        ws.set_print_scale(scale)  # a sheet fitted to the page's width ignores manual breaks
    if group.divisions:
        _chart_sheet(ctx, name, last_data)
    return ws


def _all_equal(score: DivisionScore) -> bool:
    """Whether the division assessed more than one KPI and every one of them scored the same."""
    scores = {k.score for k in score.kpis if k.assessed and not k.has_children}
    counted = sum(1 for k in score.kpis if k.assessed and not k.has_children)
    return counted > 1 and len(scores) == 1


def _write_headings(grid: Grid, header: Any, columns: tuple[str, ...]) -> None:
    for key, heading in HEADINGS.items():
        if key not in columns:
            continue
        grid.tall_text(HEADING_ROW, SUB_HEADING_ROW, COLUMN[key], heading, header)
    for first, last, heading in GROUP_HEADINGS:
        grid.text(HEADING_ROW, COLUMN[first], heading, header, last_col=COLUMN[last])
    for key, heading in SUB_HEADINGS.items():
        grid.text(SUB_HEADING_ROW, COLUMN[key], heading, header)


def _num(ctx: ReportContext, base: str) -> Any:
    return ctx.formats.number(base, border=1, align="center")


def _chart_sheet(ctx: ReportContext, name: str, last_data: int) -> Any:
    """A native bar chart of the totals (the overview's cells), on a chart sheet: a page of its own."""
    f = ctx.formats
    font = {"name": f.font_name, "size": f.small_size}
    chart = ctx.workbook.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": "คะแนนรวม",
            "categories": [name, FIRST_ROW, COLUMN["division"], last_data, COLUMN["division"]],
            "values": [name, FIRST_ROW, COLUMN["total"], last_data, COLUMN["total"]],
            "fill": {"color": "#4472C4"},
            "data_labels": {
                "value": True,
                "num_format": number_format(SCORE_FORMAT, ctx.thai_digits),
                "font": font,
            },
            "gap": 60,
        }
    )
    chart.set_title(
        {
            "name": f"{CHART_TITLE} {ctx.period_text()}",
            "name_font": {**font, "size": f.font_size, "bold": True},
        }
    )
    chart.set_legend({"none": True})
    # In an xlsxwriter bar chart the x axis is the horizontal value axis and the y axis lists the
    # categories; reversed, the first division is on top as in the table, and every one is labelled.
    chart.set_x_axis(
        {
            "min": 0,
            "max": 5,
            "major_unit": 1,
            "num_format": number_format("0", ctx.thai_digits),
            "num_font": font,
            "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}},
        }
    )
    chart.set_y_axis({"reverse": True, "num_font": font, "interval_unit": 1})
    sheet = ctx.workbook.add_chartsheet(CHART_SHEET)
    sheet.set_chart(chart)
    sheet.set_paper(A4)
    sheet.set_landscape()
    sheet.set_margins(**MARGINS)
    font_name = f.font_name.replace('"', "").replace("&", "")
    sheet.set_footer(f'&C&"{font_name},Regular"&12หน้า &P / &N')
    return sheet


def _write_footer(
    ctx: ReportContext, grid: Grid, row: int, files: list[tuple[FileOutcome, str]], last_col: int
) -> int:
    """When and from what: the generation time, then every file of the group with its SHA-256."""
    f = ctx.formats
    grid.text(row, 0, f"สร้างเมื่อ / Generated at {ctx.generated_text()}", f.small(), last_col=last_col)
    row += 1
    status_last = COLUMN["rank"]
    heading = f.small(bold=True, border=1)
    grid.text(row, 0, "ไฟล์ต้นฉบับ / Source file", heading)
    grid.text(row, 1, "สถานะ / Status", heading, last_col=status_last)
    grid.text(row, status_last + 1, "SHA-256", heading, last_col=last_col)
    row += 1
    cell = f.small(border=1)
    digest = f.small(border=1, font_size=max(f.small_size - 2, 8))  # 64 hex digits on one line
    for outcome, status in files:
        grid.text(row, 0, outcome.name, cell)
        grid.text(row, 1, status, cell, last_col=status_last)
        sha = outcome.source.sha256 if outcome.source else "-"
        grid.text(row, status_last + 1, sha, digest, last_col=last_col)
        row += 1
    return row


def _column_widths(ctx: ReportContext) -> list[float]:
    size = ctx.formats.font_size
    score = widths.fit_width([ctx.digits("0.0000")], size)
    columns = _columns(ctx)
    result: dict[str, float] = {}
    for key in columns:
        heading = HEADINGS.get(key) or SUB_HEADINGS[key]
        result[key] = widths.fit_width(heading.split("\n"), size, bold=True, minimum=6)
    if ctx.standings:
        # "ส่งล่าช้า (2026-04-11)" wraps before its date: the column is as wide as the longer part
        shown = [part for s in ctx.standings for part in ctx.digits(s.text_th).split(" (")]
        result["standing"] = max(result["standing"], widths.fit_width(shown, size))
    result["total"] = max(result["total"], score)
    result["weakest_score"] = max(result["weakest_score"], score)
    result["division"] = result["weakest"] = WRAPPED_WIDTH
    # on a wide enough page the two text columns take the room left over
    room = widths.page_units(PORTRAIT_WIDTH_PX, len(columns)) - sum(result.values())
    if room > 0:
        result["division"] += room / 2
        result["weakest"] += room / 2
    return [round(result[key], 1) for key in columns]
