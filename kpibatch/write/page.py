"""Print setup shared by every sheet: A4, one page wide, repeated headings, no gridlines."""

from __future__ import annotations

import math
from typing import Any

from xlsxwriter.utility import xl_range_abs

from kpibatch.write import widths

A4 = 9
MARGINS = {"left": 0.6, "right": 0.4, "top": 0.7, "bottom": 0.7}
PORTRAIT_WIDTH_PX = (8.27 - MARGINS["left"] - MARGINS["right"]) * 96
"""Printable width of an A4 portrait page at those margins, in screen pixels (96 per inch)."""
LANDSCAPE_WIDTH_PX = (11.69 - MARGINS["left"] - MARGINS["right"]) * 96
PORTRAIT_HEIGHT_PT = (11.69 - MARGINS["top"] - MARGINS["bottom"]) * 72
PERIOD_MARK = " ประจำปีงบประมาณ"
"""Where a title that needs two lines is broken: before the period it names."""
TITLE_ROOM = 0.95
"""Share of the title's width a one-line title may fill: a title measured as just fitting may still
wrap in the printing program, and then leave one word alone on the second line."""


PAGE_FILLS = tuple(f / 100 for f in range(86, 101))
"""Shares of a page's height a printing program may fill before it breaks (the room its header and
footer take, its rounding of row heights): a block is kept together if it would split under any."""


PRINT_SCALE_MARGIN = 6
"""Percent taken off the scale at which a table exactly fills the page's width in Excel's column unit:
LibreOffice's unit is about 6 % wider (``widths.PRINTED_UNIT_PX``), and a column a pixel too wide
for the page prints on a page of its own."""


def print_scale(table_units: float, columns: int, page_px: float) -> int:
    """The fixed print scale (percent) for a sheet with manual page breaks, which a sheet fitted to
    the page's width cannot have: Excel and LibreOffice ignore them there."""
    table_px = widths.units_to_px(table_units) + widths.COLUMN_GAP_PX * columns
    return max(10, min(100, math.floor(100 * page_px / table_px)) - PRINT_SCALE_MARGIN)


def break_before(
    heights: list[float],
    first: int,
    *,
    repeated: tuple[int, int] | None,
    page_height_pt: float = PORTRAIT_HEIGHT_PT,
    scale: float = 1.0,
) -> int | None:
    """Where a manual page break keeps rows ``first`` to the last of ``heights`` on one page.

    Pages are laid out as the spreadsheet program will: ``heights`` (points) of every row from the
    first, scaled by ``scale`` (fit to the page's width), the ``repeated`` rows heading every page
    after the first. Returns ``first`` when the block would be split across pages, None when it is
    not under any of ``PAGE_FILLS`` (a manual break there would only waste paper).
    """
    heading = sum(heights[repeated[0] : repeated[1] + 1]) if repeated is not None else 0.0
    for fill in PAGE_FILLS:
        room = page_height_pt * fill / scale
        page, used, pages = 0, 0.0, []
        for h in heights:
            if used + h > room and used > heading:
                page, used = page + 1, heading
            used += h
            pages.append(page)
        if pages[first] != pages[-1]:
            return first
    return None


def title_text(text: str, width_units: float, size_pt: float) -> str:
    """``text`` on one line when it fits in ``width_units``, otherwise broken before the period.

    A wrapped title breaks wherever the line is full, which left "เดือน" alone on its second line;
    broken on purpose, the second line is the whole period (ประจำปีงบประมาณ พ.ศ. 2563 รอบ 12 เดือน).
    """
    room = widths.units_to_px(width_units) - widths.CELL_PADDING_PX
    if widths.text_px(text, size_pt, bold=True) <= room * TITLE_ROOM or PERIOD_MARK not in text:
        return text
    head, _, tail = text.partition(PERIOD_MARK)
    return f"{head}\n{PERIOD_MARK.strip()}{tail}"


def quoted(sheet: str) -> str:
    """A sheet name as a formula reference writes it, always quoted.

    xlsxwriter leaves names like ``สลก.`` unquoted, as Excel allows, but LibreOffice then ignores
    the print area and the repeated rows of that sheet; quotes are valid for every name.
    """
    return "'" + sheet.replace("'", "''") + "'"


def setup_page(
    workbook: Any,
    ws: Any,
    *,
    font_name: str,
    heading_rows: tuple[int, int] | None,
    freeze: tuple[int, int] | None,
    landscape: bool = False,
    print_area: tuple[int, int, int, int] | None = None,
) -> None:
    setup_sheet(ws, font_name=font_name, freeze=freeze, landscape=landscape)
    define_print_names(workbook, ws.name, heading_rows=heading_rows, print_area=print_area)


def setup_sheet(ws: Any, *, font_name: str, freeze: tuple[int, int] | None, landscape: bool = False) -> None:
    """What the sheet's own XML holds: paper, fit, margins, gridlines, frozen panes, the footer."""
    ws.set_paper(A4)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    ws.set_margins(**MARGINS)
    ws.center_horizontally()
    ws.hide_gridlines(2)
    if freeze is not None:
        ws.freeze_panes(*freeze)
    font = font_name.replace('"', "").replace("&", "")
    ws.set_footer(f'&C&"{font},Regular"&12หน้า &P / &N')


def define_print_names(
    workbook: Any,
    sheet: str,
    *,
    heading_rows: tuple[int, int] | None,
    print_area: tuple[int, int, int, int] | None = None,
) -> None:
    """What the workbook holds for the sheet: its repeated heading rows and its print area."""
    if heading_rows is not None:
        first, last = heading_rows
        workbook.define_name(f"{sheet}!_xlnm.Print_Titles", f"={quoted(sheet)}!${first + 1}:${last + 1}")
    if print_area is not None:
        workbook.define_name(f"{sheet}!_xlnm.Print_Area", f"={quoted(sheet)}!{xl_range_abs(*print_area)}")
