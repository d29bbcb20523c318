"""Division sheets laid out in the worker processes, replayed into the workbook by the main process.

Laying out a division's sheet (column widths, wrapped lines and row heights measured in the Thai
font, formats, the reallocation sentences) is most of the work of writing it, and it depends on
nothing but the division's own scores and the style settings. So each worker runs the ordinary
division writer (``kpibatch.write.division``) against a ``RecordingSheet`` right after scoring the
file, and sends back the calls it made; the main process, which alone holds the workbook, replays
them onto a real worksheet. The layout code is the same either way, only where it runs differs;
``write_report`` lays out in the main process any division that comes without a recording, or with
one made for other style settings.
"""

from __future__ import annotations

import datetime as dt
import pickle
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kpibatch.consolidate import Group
from kpibatch.model import DivisionScore
from kpibatch.write.context import DivisionPage, ReportContext
from kpibatch.write.grid import Grid
from kpibatch.write.page import setup_page
from kpibatch.write.styles import Formats


@dataclass(frozen=True)
class SheetStyle:
    """The settings a division sheet's layout depends on."""

    font_name: str
    font_size: int
    thai_digits: bool

    @classmethod
    def of(cls, settings: Any) -> SheetStyle:
        return cls(settings.font_name, settings.font_size, settings.thai_digits)


class RecordedFormat:
    """Stands in for an xlsxwriter format: what measuring text needs, and where its properties are."""

    __slots__ = ("bold", "font_size", "indent", "index")

    def __init__(self, index: int, props: dict[str, Any]) -> None:
        self.index = index
        self.font_size = props.get("font_size", 0)
        self.bold = int(bool(props.get("bold", False)))
        self.indent = props.get("indent", 0)


class _FormatRecorder:
    """The ``workbook`` a ``Formats`` asks for new formats: keeps each one's properties."""

    def __init__(self) -> None:
        self.properties: list[dict[str, Any]] = []

    def add_format(self, props: dict[str, Any]) -> RecordedFormat:
        self.properties.append(dict(props))
        return RecordedFormat(len(self.properties) - 1, props)


Op = tuple[str, tuple[Any, ...], int]
"""A worksheet call: method name, positional arguments, and the index of its format (-1: none)."""


def _recorder(name: str) -> Callable[..., None]:
    def record(self: RecordingSheet, *args: Any) -> None:
        self._record(name, args)

    record.__name__ = name
    return record


class RecordingSheet:
    """The part of xlsxwriter's worksheet API the division writer uses, writing down each call."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def _record(self, name: str, args: tuple[Any, ...]) -> None:
        if args and isinstance(args[-1], RecordedFormat):
            self.ops.append((name, args[:-1], args[-1].index))
        else:
            self.ops.append((name, args, -1))

    write_string = _recorder("write_string")
    write_number = _recorder("write_number")
    write_blank = _recorder("write_blank")
    merge_range = _recorder("merge_range")
    set_row = _recorder("set_row")
    set_column = _recorder("set_column")
    set_h_pagebreaks = _recorder("set_h_pagebreaks")


@dataclass
class _RecordingBook:
    sheet: RecordingSheet = field(default_factory=RecordingSheet)

    def add_worksheet(self, _name: str) -> RecordingSheet:
        return self.sheet


class _RecordingContext(ReportContext):
    page: dict[str, Any]

    def finish(self, grid: Grid, **page: Any) -> None:
        grid.finish()
        self.page = page  # replayed with the real sheet's name (print titles and area name it)


@dataclass(frozen=True)
class RecordedSheet:
    """A division sheet as calls to replay, compressed: it waits in memory until the report is written."""

    style: SheetStyle
    data: bytes

    def unpack(self) -> tuple[list[dict[str, Any]], list[Op], dict[str, Any]]:
        formats, ops, page = pickle.loads(zlib.decompress(self.data))
        return formats, ops, page


def record_division_sheet(score: DivisionScore, style: SheetStyle) -> RecordedSheet:
    """Lay out ``score``'s sheet with the division writer, writing down its worksheet calls."""
    from kpibatch.write.division import write_division_sheet  # here: division imports this module

    book = _RecordingBook()
    recorder = _FormatRecorder()
    ctx = _RecordingContext(
        workbook=book,
        formats=Formats(recorder, style.font_name, style.font_size, style.thai_digits),
        group=Group(score.submission.fiscal_year, score.submission.round),
        generated_at=dt.datetime.now(dt.UTC),
        thai_digits=style.thai_digits,
    )
    write_division_sheet(ctx, DivisionPage(score, ""))
    payload = (recorder.properties, book.sheet.ops, ctx.page)
    return RecordedSheet(style, zlib.compress(pickle.dumps(payload, pickle.HIGHEST_PROTOCOL), 1))


def replay_division_sheet(ctx: ReportContext, page: DivisionPage, recorded: RecordedSheet) -> Any:
    """Add ``page``'s sheet to the workbook from a recording made by ``record_division_sheet``."""
    properties, ops, setup = recorded.unpack()
    ws = ctx.workbook.add_worksheet(page.sheet)
    formats = [ctx.formats.from_properties(props) for props in properties]
    methods: dict[str, Any] = {}
    for name, args, fmt in ops:
        method = methods.get(name)
        if method is None:
            method = methods[name] = _method(ws, name)
        if fmt >= 0:
            method(*args, formats[fmt])
        else:
            method(*args)
    setup_page(ctx.workbook, ws, font_name=ctx.formats.font_name, **setup)
    return ws


_DIRECT = ("write_string", "write_number", "write_blank")


def _method(ws: Any, name: str) -> Any:
    """The worksheet method to replay ``name`` with. The three cell writers' public forms only turn
    ``"A1"`` references into numbers, which recorded calls never hold; their ``_`` forms do the rest
    (``SafeWorksheet``'s cut of over-long text included) for a fifth less time per cell."""
    if name in _DIRECT:
        direct = getattr(ws, f"_{name}", None)
        if direct is not None:
            return direct
    return getattr(ws, name)
