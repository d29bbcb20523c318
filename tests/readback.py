"""A workbook as openpyxl reads it back, as plain data: what a reader of the report sees and prints.

Two workbooks with equal read-backs show the same values, merges, row heights, column widths,
formats, comments and print set-up, however their XML is laid out (shared or inline strings, the
order of cells and merges).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl


def _color(color: Any) -> str | None:
    if color is None:
        return None
    rgb = color.rgb
    return rgb if isinstance(rgb, str) else f"theme {color.theme} tint {color.tint}"


def _style(cell: Any) -> dict[str, Any]:
    font, align, border, fill = cell.font, cell.alignment, cell.border, cell.fill
    return {
        "number_format": cell.number_format,
        "font": [font.name, font.sz, font.b, font.i, font.u, _color(font.color)],
        "align": [align.horizontal, align.vertical, align.wrap_text, align.indent, align.shrink_to_fit],
        "border": [
            [side.style, _color(side.color)]
            for side in (border.left, border.right, border.top, border.bottom)
        ],
        "fill": [fill.fill_type, _color(fill.fgColor) if fill.fill_type else None],
        "protection": [cell.protection.locked, cell.protection.hidden],
    }


def _value(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else repr(value)


def readback(path: Path) -> dict[str, Any]:
    """Every sheet's cells (value and format), merges, row heights, widths and print set-up."""
    book = openpyxl.load_workbook(path)
    sheets: dict[str, Any] = {}
    for ws in book.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None and not cell.has_style:
                    continue
                entry = {"value": _value(cell.value), **_style(cell)}
                if cell.comment is not None:
                    entry["comment"] = cell.comment.text
                cells[cell.coordinate] = entry
        sheets[ws.title] = {
            "cells": cells,
            "merges": sorted(str(r) for r in ws.merged_cells.ranges),
            "heights": {
                str(r): d.height for r, d in sorted(ws.row_dimensions.items()) if d.height is not None
            },
            "widths": {k: d.width for k, d in sorted(ws.column_dimensions.items())},
            "freeze": ws.freeze_panes,
            "print_area": ws.print_area,
            "print_titles": [ws.print_title_rows, ws.print_title_cols],
            "breaks": [b.id for b in ws.row_breaks.brk],
            "setup": [
                ws.page_setup.orientation,
                ws.page_setup.paperSize,
                ws.page_setup.scale,
                ws.page_setup.fitToWidth,
                ws.page_setup.fitToHeight,
                ws.sheet_properties.pageSetUpPr.fitToPage if ws.sheet_properties.pageSetUpPr else None,
            ],
            "margins": [
                ws.page_margins.left,
                ws.page_margins.right,
                ws.page_margins.top,
                ws.page_margins.bottom,
            ],
            "header_footer": [ws.oddHeader.center.text, ws.oddFooter.center.text, ws.oddFooter.right.text],
            "autofilter": ws.auto_filter.ref,
            "conditional": sorted(str(r.sqref) for r in ws.conditional_formatting),
        }
    return {
        "sheets": list(book.sheetnames),
        "by_sheet": sheets,
        "chartsheets": [c.title for c in book.chartsheets],
    }
