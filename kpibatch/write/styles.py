"""Cell formats shared by every sheet of the consolidated workbook (Thai font, 4-decimal scores)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCORE_FORMAT = "0.0000"
WEIGHT_FORMAT = "0.##"
THAI_DIGITS_LCID = "[$-D07041E]"
"""Number-format prefix that makes Excel show Thai digits while the cell stays numeric."""


def number_format(base: str, thai_digits: bool) -> str:
    return f"{THAI_DIGITS_LCID}{base}" if thai_digits else base


@dataclass
class Styles:
    """The workbook's formats, created once per workbook."""

    title: Any
    header: Any
    text: Any
    wrap: Any
    code: Any
    score: Any
    weight: Any
    status: Any
    total_label: Any
    total_score: Any
    total_weight: Any
    note: Any
    small: Any


def make_styles(workbook: Any, font_name: str, font_size: int, thai_digits: bool) -> Styles:
    def fmt(**props: Any) -> Any:
        base = {"font_name": font_name, "font_size": font_size, "valign": "top"}
        base.update(props)
        return workbook.add_format(base)

    score_fmt = number_format(SCORE_FORMAT, thai_digits)
    weight_fmt = number_format(WEIGHT_FORMAT, thai_digits)
    return Styles(
        title=fmt(bold=True, font_size=font_size + 2, align="center"),
        header=fmt(bold=True, align="center", valign="vcenter", border=1, bg_color="#D9E1F2", text_wrap=True),
        text=fmt(border=1),
        wrap=fmt(border=1, text_wrap=True),
        code=fmt(border=1, align="center"),
        score=fmt(border=1, num_format=score_fmt, align="center"),
        weight=fmt(border=1, num_format=weight_fmt, align="center"),
        status=fmt(border=1, align="center", text_wrap=True, italic=True),
        total_label=fmt(bold=True, border=1, text_wrap=True),
        total_score=fmt(bold=True, border=1, num_format=score_fmt, align="center"),
        total_weight=fmt(bold=True, border=1, num_format=weight_fmt, align="center"),
        note=fmt(text_wrap=True),
        small=fmt(font_size=max(font_size - 4, 8), text_wrap=True),
    )
