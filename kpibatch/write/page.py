"""Print setup shared by every sheet: A4, one page wide, repeated headings, no gridlines."""

from __future__ import annotations

from typing import Any

from xlsxwriter.utility import xl_range_abs

A4 = 9
MARGINS = {"left": 0.6, "right": 0.4, "top": 0.7, "bottom": 0.7}
PORTRAIT_WIDTH_PX = (8.27 - MARGINS["left"] - MARGINS["right"]) * 96
"""Printable width of an A4 portrait page at those margins, in screen pixels (96 per inch)."""
LANDSCAPE_WIDTH_PX = (11.69 - MARGINS["left"] - MARGINS["right"]) * 96
PORTRAIT_HEIGHT_PT = (11.69 - MARGINS["top"] - MARGINS["bottom"]) * 72


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
