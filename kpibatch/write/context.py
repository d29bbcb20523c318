"""What every sheet writer shares: the workbook, its formats, the group, and how numbers are shown.

A sheet writer is an object with ``fixed_names`` (the sheet names it always uses, reserved before
division sheets are named) and ``write(ctx)``; ``write_report`` runs a list of them in order, so a
new kind of sheet is one more module and one more entry in that list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from kpibatch.consolidate import Group
from kpibatch.model import DivisionScore, Trend
from kpibatch.text import thai_datetime, to_thai_digits
from kpibatch.write.grid import Grid
from kpibatch.write.page import setup_page
from kpibatch.write.styles import Formats


class Standing(Protocol):
    """A division's standing against the round's deadline (``kpibatch.deadlines.DivisionStanding``)."""

    @property
    def division(self) -> str: ...

    @property
    def standing(self) -> str:
        """``on-time``, ``late``, ``missing`` or ``no-deadline``."""
        ...

    @property
    def deadline(self) -> dt.date | None: ...

    @property
    def text_th(self) -> str: ...


@dataclass(frozen=True)
class DivisionPage:
    """A division and the name of its sheet in this workbook."""

    score: DivisionScore
    sheet: str


@dataclass
class ReportContext:
    workbook: Any
    formats: Formats
    group: Group
    generated_at: dt.datetime
    thai_digits: bool
    pages: list[DivisionPage] = field(default_factory=list)
    trend: Trend | None = None
    """Earlier rounds of the year from the ledger (``kpibatch.batch``); None for a plain run."""
    standings: tuple[Standing, ...] = ()
    """Each expected division's standing when the round has a deadline (the overview shows them)."""
    plans: Any = None
    """The division sheets laid out in worker processes (``kpibatch.write.plan.SheetPlan``), in the
    order of ``pages``; None when the division sheets' writer lays them out itself."""

    def digits(self, text: str) -> str:
        """Text the report generates (years, codes, counts) in the digits the run asked for."""
        return to_thai_digits(text) if self.thai_digits else text

    def year_text(self, year: int) -> str:
        return self.digits(str(year))

    def round_text(self, round_: int) -> str:
        return f"รอบ {self.digits(str(round_))} เดือน"

    def period_text(self) -> str:
        """``ประจำปีงบประมาณ พ.ศ. 2563 รอบ 12 เดือน``."""
        year = self.year_text(self.group.fiscal_year)
        return f"ประจำปีงบประมาณ พ.ศ. {year} {self.round_text(self.group.round)}"

    def generated_text(self) -> str:
        """The generation time in Thai (Buddhist-era year) followed by ISO 8601."""
        at = self.generated_at
        return f"{self.digits(thai_datetime(at))} ({at.isoformat(timespec='seconds')})"

    def finish(self, grid: Grid, **page: Any) -> None:
        """Fix the sheet's row heights and set it up for print (``page.setup_page``'s options)."""
        grid.finish()
        setup_page(self.workbook, grid.ws, font_name=self.formats.font_name, **page)


class SheetWriter(Protocol):
    """One kind of sheet (or several sheets of one kind) in the consolidated workbook."""

    fixed_names: tuple[str, ...]

    def write(self, ctx: ReportContext) -> None: ...
