"""One sheet per division, laid out like the official score summary (seed document 000).

The print area is the summary as it is printed and signed: code, description, score and weight, a
total row, under the table one sentence per reallocation, and the lines naming who reported and who
certified the figures when the division sheet names them. When the submission has verified
results, the self-assessed score stands beside the verified one. To the right, outside the print
area, the planning officer finds what each score was computed from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from kpibatch.contract import CONTACT_COLUMNS, LEVELS
from kpibatch.model import DivisionScore, KpiScore, Signatory, Submission
from kpibatch.problems import Problem
from kpibatch.score.methods import METHODS
from kpibatch.score.rounding import q4
from kpibatch.text import BUDDHIST_ERA_OFFSET, THAI_MONTHS
from kpibatch.write import widths
from kpibatch.write.context import DivisionPage, ReportContext
from kpibatch.write.grid import Grid
from kpibatch.write.page import PORTRAIT_WIDTH_PX, break_before, print_scale, title_text
from kpibatch.write.plan import replay
from kpibatch.write.sentences import reallocation_sentences
from kpibatch.write.styles import (
    OFFICER_FILL,
    SCORE_FORMAT,
    TOTAL_FILL,
    plain_number_format,
)

TITLE = "สรุปผลคะแนน ตามคำรับรองการปฏิบัติราชการ ประจำปีงบประมาณ พ.ศ. {year} {round}"
TOTAL_LABEL = "คะแนนที่ได้รับตามคำรับรองฯ ประจำปีงบประมาณ พ.ศ. {year}"
CODE_HEADING = "ตัวชี้วัด"
OFFICER_HEADING = "ข้อมูลประกอบการตรวจสอบ (อยู่นอกพื้นที่พิมพ์)"
HEADINGS = {
    "name": "รายละเอียดตัวชี้วัด",
    "score": "คะแนนที่ทำได้",
    "self_score": "คะแนนประเมินตนเอง",
    "weight": "น้ำหนัก",
    "result": "ผลการดำเนินงาน",
    "verified_result": "ผลการตรวจประเมิน",
    "self_result": "ผลประเมินตนเอง",
    "unit": "หน่วยวัด",
    "method": "วิธีให้คะแนน",
    **{f"level{k}": f"ระดับ {k}" for k in range(1, 6)},
    "original_weight": "น้ำหนักเดิม",
    "weighted": "คะแนนถ่วงน้ำหนัก\n(คะแนน × น้ำหนัก ÷ 100)",
    "warnings": "คำเตือน",
    "note": "หมายเหตุ",
    "supervisor": "ผู้กำกับดูแลตัวชี้วัด",
    "supervisor_phone": "เบอร์ติดต่อผู้กำกับดูแล",
    "collector": "ผู้จัดเก็บข้อมูล",
    "collector_phone": "เบอร์ติดต่อผู้จัดเก็บข้อมูล",
}
SIGNATORY_LABELS = {"reporter": "ผู้รายงานข้อมูล", "certifier": "ผู้รับรองข้อมูล"}
METHOD_TH = {name: method.label_th for name, method in METHODS.items()}
LONG_TEXT_WIDTH = 45.0
KEEP_WITH_TOTAL = 3
"""KPI rows printed on the total's page when the table must split: a total never starts a page alone."""
CUT_IN_PRINT = (
    "ชื่อตัวชี้วัดยาวเกินความสูงแถวสูงสุดของ Excel ({points} พอยต์) ข้อความครบอยู่ในเซลล์ "
    "แต่เมื่อพิมพ์จะเห็นเพียงส่วนที่พอดีแถว / The KPI name needs a row taller than Excel allows "
    "({points} pt): the whole text is in the cell, but the printout shows only what fits"
)
SENTENCE_GAP_PT = 8.0

TITLE_ROW = 0
DIVISION_ROW = 2
HEADING_ROW = 3
FIRST_KPI_ROW = 4


@dataclass(frozen=True)
class Layout:
    """Which column holds what; the self-assessed columns exist only when a KPI has a verified result."""

    summary: tuple[str, ...]
    officer: tuple[str, ...]

    @classmethod
    def of(cls, score: DivisionScore) -> Layout:
        # a verified_result column left blank (every template has one) is not a verified file
        verified = any(k.verified_result is not None for k in score.kpis)
        summary = ("code", "name", "score", *(("self_score",) if verified else ()), "weight")
        officer = (
            "verified_result" if verified else "result",
            *(("self_result",) if verified else ()),
            "unit",
            "method",
            *LEVELS,
            "original_weight",
            "weighted",
            "warnings",
            *(("note",) if any(k.note for k in score.kpis) else ()),
            *(CONTACT_COLUMNS if any(k.contacts for k in score.kpis) else ()),
        )
        return cls(summary, officer)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.summary + self.officer

    @cached_property
    def columns(self) -> dict[str, int]:
        """Each key's column."""
        return {key: col for col, key in enumerate(self.keys)}

    def col(self, key: str) -> int:
        return self.columns[key]

    @property
    def last_summary(self) -> int:
        return len(self.summary) - 1

    @property
    def last(self) -> int:
        return len(self.keys) - 1


def kpi_warnings(score: DivisionScore) -> dict[str, list[Problem]]:
    """The scorer's warnings grouped by the KPI they name; warnings about no KPI go under ``""``."""
    found: dict[str, list[Problem]] = {}
    for warning in score.warnings:
        found.setdefault(str(warning.params.get("kpi", "")), []).append(warning)
    return found


def weighted_score(kpi: KpiScore) -> Decimal | None:
    """A top-level KPI's share of the total: score × effective weight / 100, rounded half-up.

    Sub-KPIs have none: their weights are relative inside their parent, which carries the share.
    """
    if kpi.parent is not None or kpi.score is None or kpi.effective_weight is None:
        return None
    return q4(kpi.score * kpi.effective_weight / Decimal(100))


class DivisionSheets:
    """Writes one sheet per division of the group, in the group's order."""

    fixed_names: tuple[str, ...] = ()

    def write(self, ctx: ReportContext) -> None:
        if ctx.plans is None:
            for page in ctx.pages:
                write_division_sheet(ctx, page)
            return
        for page, plan in zip(ctx.pages, ctx.plans, strict=True):
            assert plan.name == page.sheet
            replay(ctx, plan)


class _Writer:
    """Writes one division's sheet; holds what every part of it needs."""

    def __init__(self, ctx: ReportContext, page: DivisionPage) -> None:
        self.ctx = ctx
        self.f = ctx.formats
        self.score = page.score
        self.layout = Layout.of(page.score)
        self.cols = self.layout.columns
        self.ws = ctx.workbook.add_worksheet(page.sheet)
        self.grid = Grid(self.ws, column_widths(ctx, page.score, self.layout), self.f.font_size)
        self.centre = self.f.text(align="center")
        self._formats: dict[object, tuple[Any, Any]] = {}

    def number(
        self, row: int, key: str, value: Decimal | None, base: str | None = None, **props: Any
    ) -> None:
        """A numeric cell of column ``key``; ``base`` defaults to a format that suits the value."""
        fmt_base = base or (plain_number_format(value) if value is not None else SCORE_FORMAT)
        # a sheet asks for the same few number formats thousands of times: look them up once
        cache_key = (fmt_base, *props.items()) if props else fmt_base
        found = self._formats.get(cache_key)
        if found is None:
            found = self._formats[cache_key] = (
                self.f.number(fmt_base, **{"border": 1, "align": "center", **props}),
                self.f.text(**{"align": "center", **props}),
            )
        self.grid.number(row, self.cols[key], value, *found)

    def write(self) -> None:
        self.headings()
        warnings = kpi_warnings(self.score)
        row = FIRST_KPI_ROW
        for kpi in self.score.kpis:
            self.kpi_row(row, kpi, warnings.get(kpi.code, []))
            row += 1
        self.total_row(row, warnings.get("", []))
        last_row = row
        row += 2
        plain = self.f.get(text_wrap=True)
        names = {k.code: k.name for k in self.score.kpis}
        for sentence in reallocation_sentences(self.score.submission, self.ctx.digits, names):
            self.grid.text(
                row, 0, sentence, plain, last_col=self.layout.last_summary, space_after=SENTENCE_GAP_PT
            )
            last_row = row
            row += 1
        lines = signatory_lines(self.score.submission, self.ctx.digits)
        row += 1 if lines else 0
        for line in lines:
            self.grid.text(row, 0, line, plain, last_col=self.layout.last_summary)
            last_row = row
            row += 1
        broken = self.keep_total_together(last_row)
        self.ctx.finish(
            self.grid,
            heading_rows=(TITLE_ROW, HEADING_ROW),
            freeze=(FIRST_KPI_ROW, 2),
            print_area=(TITLE_ROW, 0, last_row, self.layout.last_summary),
        )
        if broken:
            # a sheet fitted to the page's width ignores manual page breaks (Excel and LibreOffice):
            # the scale that fitting would choose is set instead
            self.ws.set_print_scale(self.print_scale())

    def print_scale(self) -> int:
        """The scale at which the summary's columns fit the page's width (``page.print_scale``)."""
        last = self.layout.last_summary
        return print_scale(sum(self.grid.widths[: last + 1]), last + 1, PORTRAIT_WIDTH_PX)

    def keep_total_together(self, last_row: int) -> bool:
        """Print the last KPI rows, the total and the sentences under it on one page.

        Left to itself the spreadsheet breaks a long table wherever a page is full, and the total
        row (or the sentences under it) could start a page alone, away from the scores it adds up.
        """
        total = FIRST_KPI_ROW + len(self.score.kpis)
        first = total - KEEP_WITH_TOTAL
        if first <= FIRST_KPI_ROW:
            return False  # a break there would leave the headings alone instead
        heights = [self.grid.height(r) for r in range(last_row + 1)]
        scale = self.print_scale() / 100
        at = break_before(heights, first, repeated=(TITLE_ROW, HEADING_ROW), scale=scale)
        if at is None:
            return False
        self.ws.set_h_pagebreaks([at])
        return True

    def headings(self) -> None:
        f, grid, layout, ctx = self.f, self.grid, self.layout, self.ctx
        sub = self.score.submission
        last = layout.last_summary
        title = TITLE.format(year=ctx.year_text(sub.fiscal_year), round=ctx.round_text(sub.round))
        title = title_text(title, grid.span_width(0, last), f.title_size)
        grid.text(TITLE_ROW, 0, title, f.title(), last_col=last)
        grid.tall_text(DIVISION_ROW, HEADING_ROW, 0, CODE_HEADING, f.header())
        grid.text(DIVISION_ROW, 1, sub.division, f.header(), last_col=last)
        officer = f.header(bg_color=OFFICER_FILL)
        grid.text(DIVISION_ROW, last + 1, OFFICER_HEADING, officer, last_col=layout.last)
        for key in layout.keys[1:]:
            col = layout.col(key)
            grid.text(HEADING_ROW, col, HEADINGS[key], officer if col > last else f.header())

    def kpi_row(self, row: int, kpi: KpiScore, warnings: list[Problem]) -> None:
        f, grid, cols, ctx = self.f, self.grid, self.cols, self.ctx
        bold = kpi.has_children
        grid.text(row, cols["code"], ctx.digits(kpi.code), f.text(align="center", bold=bold))
        grid.text(row, cols["name"], kpi.name, f.text(indent=kpi.depth, bold=bold))
        if kpi.score is not None:
            self.number(row, "score", kpi.score, SCORE_FORMAT, bold=bold)
        else:
            grid.text(row, cols["score"], kpi.status or "", self.centre)
        if "self_score" in cols:
            self.number(row, "self_score", kpi.self_score, SCORE_FORMAT)
        self.number(row, "weight", kpi.effective_weight)

        if "self_result" in cols:
            # the committee's figure under its own heading, the division's beside it, each where it exists
            self.number(row, "verified_result", kpi.verified_result)
            own = kpi.self_result if kpi.verified_result is not None else kpi.result
            self.number(row, "self_result", own)
        else:
            self.number(row, "result", kpi.result)
        grid.text(row, cols["unit"], kpi.unit or "", self.centre)
        grid.text(row, cols["method"], METHOD_TH.get(kpi.method or "", kpi.method or ""), self.centre)
        for key, value in zip(LEVELS, kpi.levels, strict=False):
            self.number(row, key, value)
        self.number(row, "original_weight", kpi.weight)
        self.number(row, "weighted", weighted_score(kpi), SCORE_FORMAT)
        lines = [w.message_th for w in warnings]
        if self.cut_in_print(kpi):
            lines.append(CUT_IN_PRINT.format(points=f"{widths.MAX_ROW_PT:g}"))
        grid.text(row, cols["warnings"], "\n".join(lines), f.text())
        if "note" in cols:
            grid.text(row, cols["note"], kpi.note or "", f.text())
        if kpi.contacts is not None and "supervisor" in cols:
            for key, value in kpi.contacts.as_dict().items():
                grid.text(row, cols[key], value or "", f.text())

    def cut_in_print(self, kpi: KpiScore) -> bool:
        """Whether the printed KPI name needs more than the tallest row Excel allows."""
        size = self.f.font_size
        width = self.grid.widths[self.cols["name"]]
        lines = widths.line_count(kpi.name, width, size, bold=kpi.has_children, indent=kpi.depth)
        return widths.text_height(lines, size) > widths.MAX_ROW_PT

    def total_row(self, row: int, warnings: list[Problem]) -> None:
        f, grid, layout, ctx = self.f, self.grid, self.layout, self.ctx
        fill = {"bold": True, "bg_color": TOTAL_FILL}
        label_fmt = f.text(align="center", **fill)
        for col in range(layout.last + 1):
            grid.blank(row, col, label_fmt)
        label = TOTAL_LABEL.format(year=ctx.year_text(self.score.submission.fiscal_year))
        label = title_text(label, grid.span_width(0, 1), f.font_size)  # not the year alone below
        grid.text(row, 0, label, label_fmt, last_col=1)
        if self.score.total is not None:
            self.number(row, "score", self.score.total, SCORE_FORMAT, **fill)
        else:
            grid.text(row, layout.col("score"), "-", label_fmt)
        top = self.score.top_level
        base = sum((k.effective_weight for k in top if k.effective_weight is not None), Decimal(0))
        self.number(row, "weight", base, **fill)
        self.number(row, "original_weight", sum((k.weight for k in top), Decimal(0)), **fill)
        parts = [w for k in top if (w := weighted_score(k)) is not None]
        if parts:
            self.number(row, "weighted", sum(parts, Decimal(0)), SCORE_FORMAT, **fill)
        if warnings:
            text = "\n".join(w.message_th for w in warnings)
            grid.text(row, layout.col("warnings"), text, f.text(bg_color=TOTAL_FILL))


def signed_date(text: str, digits: Callable[[str], str]) -> str:
    """A date cell's ``YYYY-MM-DD`` as a Thai form writes a date (``15 ตุลาคม 2563``); typed text as typed."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return text
    return digits(f"{day.day} {THAI_MONTHS[day.month - 1]} {day.year + BUDDHIST_ERA_OFFSET}")


def signatory_lines(sub: Submission, digits: Callable[[str], str]) -> list[str]:
    """The lines printed under the summary, as an official form is signed: who reported the figures
    and who certified them, each with position and date, for those the division sheet names."""
    lines = []
    for role, who in (("reporter", sub.reporter), ("certifier", sub.certifier)):
        if who is None:
            continue
        lines.append(_signatory_line(SIGNATORY_LABELS[role], who, digits))
    return lines


def _signatory_line(label: str, who: Signatory, digits: Callable[[str], str]) -> str:
    """The name on one line, position and date under it (a name left blank is a dotted line)."""
    details = []
    if who.position:
        details.append(f"ตำแหน่ง {who.position}")
    if who.date:
        details.append(f"วันที่ {signed_date(who.date, digits)}")
    name = f"{label} {who.name or '.' * 30}"
    return "\n".join([name, "   ".join(details)] if details else [name])


def write_division_sheet(ctx: ReportContext, page: DivisionPage) -> Any:
    writer = _Writer(ctx, page)
    writer.write()
    return writer.ws


def _shown(ctx: ReportContext, value: Decimal | None) -> str:
    """A number roughly as its cell shows it, for measuring."""
    if value is None:
        return ""
    return ctx.digits(f"{value:,.4f}".rstrip("0").rstrip("."))


def column_widths(ctx: ReportContext, score: DivisionScore, layout: Layout) -> list[float]:
    """Widths in Excel units: the summary fills an A4 portrait page; officer columns fit their text."""
    size = ctx.formats.font_size
    kpis = score.kpis
    sample_score = ctx.digits("0.0000")

    def fit(texts: list[str], heading: str, *, minimum: float = 5, maximum: float = 40) -> float:
        body = widths.fit_width(texts, size, minimum=minimum, maximum=maximum)
        head = widths.fit_width(heading.split("\n"), size, bold=True, minimum=minimum, maximum=maximum)
        return max(body, head)

    def numbers(values: list[Decimal | None], heading: str) -> float:
        return fit([_shown(ctx, v) for v in values], heading, minimum=7)

    result: dict[str, float] = {
        "code": fit([ctx.digits(k.code) for k in kpis], CODE_HEADING, minimum=6),
        # a status such as รายงานรอบ ๑๒ เดือน may take two lines rather than widen the printed table
        "score": max(
            fit([sample_score], HEADINGS["score"], minimum=10),
            min(widths.fit_width([k.status or "" for k in kpis], size), 20),
        ),
        "self_score": fit([sample_score], HEADINGS["self_score"], minimum=10),
        "weight": numbers([k.effective_weight for k in kpis] + [Decimal(100)], HEADINGS["weight"]),
    }
    page = widths.page_units(PORTRAIT_WIDTH_PX, len(layout.summary))
    room = page - sum(result[k] for k in layout.summary if k != "name")
    deepest = max((k.depth for k in kpis), default=0)
    longest = widths.fit_width([k.name for k in kpis], size, maximum=1000) + 3 * deepest
    result["name"] = round(max(min(room, longest), 30), 1)

    verified_heading = HEADINGS[layout.officer[0]]
    result.update(
        {
            "result": numbers([k.result for k in kpis], verified_heading),
            "verified_result": numbers([k.result for k in kpis], verified_heading),
            "self_result": numbers([k.self_result for k in kpis], HEADINGS["self_result"]),
            "unit": fit([k.unit or "" for k in kpis], HEADINGS["unit"], minimum=8, maximum=20),
            "method": fit([METHOD_TH.get(k.method or "", "") for k in kpis], HEADINGS["method"], maximum=20),
            **{key: numbers([k.levels[i] for k in kpis], HEADINGS[key]) for i, key in enumerate(LEVELS)},
            "original_weight": numbers([k.weight for k in kpis], HEADINGS["original_weight"]),
            "weighted": fit([sample_score], HEADINGS["weighted"], minimum=12),
            "warnings": LONG_TEXT_WIDTH,
            "note": LONG_TEXT_WIDTH,
            **{
                key: fit(
                    [getattr(k.contacts, key) or "" for k in kpis if k.contacts], HEADINGS[key], maximum=30
                )
                for key in CONTACT_COLUMNS
            },
        }
    )
    return [result[key] for key in layout.keys]
