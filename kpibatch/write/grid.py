"""A worksheet seen as a grid of known column widths: every cell of the report is written here.

Text goes in through ``safety.write_text`` only, so nothing a division typed can become a formula, a
link, a number or markup, and text too long for a cell is cut visibly.

Every row's height is set from the text it holds: neither LibreOffice nor Excel re-fits rows with
wrapped text reliably when they open a file (LibreOffice keeps the default height, and neither fits
merged cells), and a clipped KPI name on a signed printout is not acceptable.

The workbook is written in xlsxwriter's ``constant_memory`` mode, where a row is flushed to disk as
soon as a later row is written, and a row's height must be set before that. So a sheet's writer may
write its cells in any order: the grid keeps them (the last write to a cell wins, as in xlsxwriter)
and ``finish`` writes the sheet row by row: the row's height, the merges starting in it, its cells.
A merge is recorded without a format and its cells are then written one by one in their own rows
(the first with its text, the others blank in the merge's format), which is what ``merge_range``
writes itself; that way two merges down from the same row both keep their text.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any, NamedTuple

from kpibatch.safety import write_text
from kpibatch.write import widths

DEFAULT_ROW_PT = 15.0
"""Height of a row nobody sized: Excel's default for its default font."""
PAGE_FILL = 0.95
"""Share of a page's height the page-break estimate counts on filling."""


class _Cell(NamedTuple):
    """A cell waiting for its row to be written: text, a number, or blank (``value`` None)."""

    value: str | float | None
    fmt: Any


class Grid:
    def __init__(self, ws: Any, column_widths: list[float], font_size: int) -> None:
        self.ws = ws
        self.widths = column_widths
        self.font_size = font_size
        self._heights: dict[int, float] = {}
        self._rows: defaultdict[int, dict[int, _Cell]] = defaultdict(dict)
        self._merges: defaultdict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
        self._comments: defaultdict[int, dict[int, tuple[str, dict[str, Any]]]] = defaultdict(dict)
        for col, width in enumerate(column_widths):
            ws.set_column(col, col, width)

    def span_width(self, first_col: int, last_col: int) -> float:
        """Width of merged columns in Excel units, the gaps between them included."""
        gaps = (last_col - first_col) * widths.COLUMN_GAP_PX / widths.COLUMN_UNIT_PX
        return sum(self.widths[first_col : last_col + 1]) + gaps

    def _fit(self, row: int, text: str, fmt: Any, width: float, space_after: float = 0.0) -> None:
        size = fmt.font_size or self.font_size
        lines = widths.line_count(text, width, size, bold=bool(fmt.bold), indent=fmt.indent or 0)
        self.fit_lines(row, lines, size, space_after)

    def fit_lines(self, row: int, lines: int, size: float, space_after: float = 0.0) -> None:
        """Make ``row`` at least tall enough for ``lines`` lines at ``size`` points."""
        height = widths.row_height(lines, size) + space_after
        self._heights[row] = max(self._heights.get(row, 0.0), height)

    def text(
        self,
        row: int,
        col: int,
        text: str,
        fmt: Any,
        *,
        last_col: int | None = None,
        space_after: float = 0.0,
    ) -> None:
        """A string cell, merged across ``col..last_col`` when given; ``space_after`` adds points
        below the text (paragraphs under a table)."""
        end = last_col if last_col is not None else col
        width = self.span_width(col, end)
        if end > col:
            self._merge(row, col, row, end, fmt)
        if not text:
            self._rows[row][col] = _Cell(None, fmt)  # an empty cell, not an empty string
            return
        self._rows[row][col] = _Cell(text, fmt)
        self._fit(row, text, fmt, width, space_after)

    def tall_text(self, first_row: int, last_row: int, col: int, text: str, fmt: Any) -> None:
        """A string cell merged down ``first_row..last_row`` (its height is the rows' heights)."""
        self._merge(first_row, col, last_row, col, fmt)
        self._rows[first_row][col] = _Cell(text, fmt)

    def number(self, row: int, col: int, value: Decimal | float | int | None, fmt: Any, blank: Any) -> None:
        """A numeric cell, or a blank cell in ``blank``'s format when there is no value."""
        if value is None:
            self._rows[row][col] = _Cell(None, blank)
            return
        self._rows[row][col] = _Cell(float(value), fmt)
        self.fit_lines(row, 1, fmt.font_size or self.font_size)

    def blank(self, row: int, col: int, fmt: Any) -> None:
        self._rows[row][col] = _Cell(None, fmt)

    def comment(self, row: int, col: int, text: str, options: dict[str, Any]) -> None:
        """A cell comment (a note shown on hover), written with the cell's row."""
        self._comments[row][col] = (text, options)

    def _merge(self, first_row: int, first_col: int, last_row: int, last_col: int, fmt: Any) -> None:
        self._merges[first_row].append((first_row, first_col, last_row, last_col))
        for r in range(first_row, last_row + 1):
            for c in range(first_col, last_col + 1):
                self._rows[r][c] = _Cell(None, fmt)

    def height(self, row: int) -> float:
        return self._heights.get(row, DEFAULT_ROW_PT)

    def keep_together(
        self,
        first_row: int,
        last_row: int,
        *,
        page_px: float,
        page_height_pt: float,
        repeated: tuple[int, int],
    ) -> None:
        """Start a new printed page at ``first_row`` if rows ``first_row..last_row`` (a chart, say)
        would otherwise be cut by a page break.

        Pages are laid out as the spreadsheet will: scaled to fit ``page_px`` wide, the ``repeated``
        heading rows at the top of every page after the first. Only what this grid set is known, so
        the estimate keeps a margin.
        """
        table_px = sum(widths.units_to_px(w) + widths.COLUMN_GAP_PX for w in self.widths)
        scale = min(1.0, page_px / table_px) if table_px else 1.0
        room = page_height_pt * PAGE_FILL / scale
        heading = sum(self.height(r) for r in range(repeated[0], repeated[1] + 1))
        page, used, first_page = 0, 0.0, 0
        for row in range(last_row + 1):
            h = self.height(row)
            if used + h > room:
                page, used = page + 1, heading
            used += h
            if row == first_row:
                first_page = page
        block = sum(self.height(r) for r in range(first_row, last_row + 1))
        if page != first_page and block + heading <= room:
            self.ws.set_h_pagebreaks([first_row])

    def finish(self) -> None:
        """Write the sheet row by row, each row's height first (space added below text included)."""
        ws = self.ws
        for row in sorted(self._rows.keys() | self._heights.keys() | self._merges.keys()):
            if row in self._heights:
                ws.set_row(row, min(self._heights[row], widths.MAX_ROW_PT))
            for first_row, first_col, last_row, last_col in self._merges.pop(row, ()):
                ws.merge_range(first_row, first_col, last_row, last_col, None, None)
            for col, cell in sorted(self._rows.pop(row, {}).items()):
                if cell.value is None:
                    ws.write_blank(row, col, None, cell.fmt)
                elif isinstance(cell.value, str):
                    write_text(ws, row, col, cell.value, cell.fmt)
                else:
                    ws.write_number(row, col, cell.value, cell.fmt)
            for col, (text, options) in sorted(self._comments.pop(row, {}).items()):
                ws.write_comment(row, col, text, options)
