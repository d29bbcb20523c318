"""What every sheet writer needs: the xlsxwriter workbook, its formats and the display options."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kpibatch.text import to_thai_digits
from kpibatch.write.styles import Styles


@dataclass
class ReportContext:
    workbook: Any
    styles: Styles
    thai_digits: bool
    generated_at: dt.datetime

    def digits(self, text: str) -> str:
        return to_thai_digits(text) if self.thai_digits else text

    def year_text(self, year: int) -> str:
        return self.digits(str(year))

    def code_text(self, code: str) -> str:
        return self.digits(code)

    def round_text(self, round_: int) -> str:
        return f"รอบ {to_thai_digits(str(round_))} เดือน"
