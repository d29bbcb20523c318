"""Division sheets built whole in the worker processes: finished worksheet XML, compressed there.

A division's sheet depends on nothing but the division's own scores and the style settings, and
building it (layout, xlsxwriter's cell table, its XML, the deflate of that XML) is most of the cost of
the report. So the worker that scored the file runs the ordinary division writer
(``kpibatch.write.division``) onto an xlsxwriter worksheet of its own, turns it into the sheet's XML
part and compresses it; the main process only adds the compressed part to the report's zip as it is.
Its memory holds a few kilobytes per division instead of the sheet's cells, and its time does not
grow with the cells at all.

Two things tie a sheet's XML to the rest of the workbook, and both are fixed here:

- **Strings** are written inline (``<is><t>``), not as numbers into the workbook's shared-string
  table, which only the main process has. Always as escaped text: xlsxwriter's own inline writer
  passes a string that looks like ``<r>…</r>`` through as rich-text XML.
- **Formats** are numbered the same in every process: the worker's scratch workbook and the report
  both first ask for every format a division sheet can use (``division.division_formats``), in one
  order, and fix their numbers. A sheet that needs any other format (a KPI nested deeper than those
  formats cover) is not built; the main process lays it out itself, as it does a division whose
  sheet was built for other style settings or under another format table.

What belongs to the workbook rather than the sheet (the sheet's name, its print titles and print
area) is set by the main process when it adds the part.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from io import StringIO
from typing import Any, BinaryIO

from xlsxwriter.utility import _preserve_whitespace
from xlsxwriter.worksheet import Worksheet

from kpibatch.consolidate import Group
from kpibatch.model import DivisionScore
from kpibatch.safety import SafePackager, SafeWorkbook, SafeWorksheet
from kpibatch.write.context import DivisionPage, ReportContext
from kpibatch.write.grid import Grid
from kpibatch.write.page import define_print_names, setup_sheet
from kpibatch.write.styles import Formats

log = logging.getLogger(__name__)

DEFLATE_LEVEL = 6
"""zlib's default, the level xlsxwriter's own zip uses: the same file size as before."""
SCRATCH_NAME = "division"
"""The name a worksheet that belongs to no workbook is made under (``detached_worksheet``)."""
PART_DATE = (1980, 1, 1, 0, 0, 0)
"""The time stamp xlsxwriter gives every part it zips from memory."""


@dataclass(frozen=True)
class SheetStyle:
    """The settings a division sheet's layout depends on."""

    font_name: str
    font_size: int
    thai_digits: bool

    @classmethod
    def of(cls, settings: Any) -> SheetStyle:
        return cls(settings.font_name, settings.font_size, settings.thai_digits)


@dataclass(frozen=True)
class BuiltSheet:
    """A division's worksheet part: its XML, deflated, with what the zip entry needs to say of it."""

    style: SheetStyle
    formats: str
    """Digest of the format table the XML's style numbers refer to (``fix_division_formats``)."""
    data: bytes
    crc: int
    size: int
    heading_rows: tuple[int, int] | None
    print_area: tuple[int, int, int, int] | None
    parked: Parked | None = None
    """Where ``data`` waits instead (``PartSpool.park``)."""

    def part(self) -> bytes:
        """The deflated XML, from memory or from the spool it was parked in."""
        return self.data if self.parked is None else self.parked.read()


@dataclass(frozen=True)
class Parked:
    """Bytes waiting in a ``PartSpool``: a built part, or a division's JSON record (some 8 kB a
    division in memory otherwise)."""

    spool: PartSpool
    offset: int
    length: int

    def read(self) -> bytes:
        return self.spool.read(self.offset, self.length)

    def text(self) -> str:
        return self.read().decode("utf-8")


class PartSpool:
    """Built parts and records parked in an unnamed temporary file until the report is written.

    They are a few kB a division, but the main process receives every division's before it writes
    the report: 35 MB of parts at ten thousand divisions that the disk's cache holds as well. What
    cannot be written there (a full disk) stays in memory.
    """

    def __init__(self, file: BinaryIO | None = None) -> None:
        # open as long as a parked part refers to the spool; closed (and gone) when it is dropped
        self._file = file or tempfile.TemporaryFile(prefix="kpibatch-parts-", buffering=0)  # noqa: SIM115

    def _append(self, data: bytes) -> Parked | None:
        """``data`` written at the spool's end; None when the disk would not take it whole."""
        try:
            offset = self._file.seek(0, os.SEEK_END)
            if self._file.write(data) != len(data):
                raise OSError("short write")
        except OSError:
            return None
        return Parked(self, offset, len(data))

    def park(self, built: BuiltSheet) -> BuiltSheet:
        parked = self._append(built.data)
        return built if parked is None else dataclasses.replace(built, data=b"", parked=parked)

    def park_text(self, text: str) -> Parked | str:
        """``text`` (a division's ``results.json`` entry) parked; the text itself if the disk is full."""
        return self._append(text.encode("utf-8")) or text

    def read(self, offset: int, length: int) -> bytes:
        self._file.seek(offset)
        data = self._file.read(length)
        if len(data) != length:  # a part cut short would be a damaged zip entry
            raise OSError(f"the parked part at {offset:,} came back as {len(data):,} of {length:,} bytes")
        return data


def fix_division_formats(workbook: Any, formats: Formats) -> str:
    """Make every format a division sheet can use and fix its number; the table's digest.

    Called first in the worker's scratch workbook and in the report, so that both number the
    formats alike. xlsxwriter numbers a format when a sheet part first writes it; the report's
    other sheets are written later, so their formats come after these.
    """
    from kpibatch.write.division import division_formats  # division imports this module

    for fmt in division_formats(formats):
        fmt._get_xf_index()
    table = workbook.xf_format_indices
    return hashlib.blake2b(repr(list(table)).encode(), digest_size=16).hexdigest()


def detached_worksheet(book: SafeWorkbook, worksheet_class: type[SafeWorksheet] | type[Worksheet]) -> Any:
    """A worksheet made by ``book`` with all it gives a sheet, but not one of its sheets: the name
    it was made under is free again, and the workbook's own names count on as if it never was."""
    count = book.sheetname_count
    sheet = book.add_worksheet(SCRATCH_NAME, worksheet_class=worksheet_class)
    book.worksheets_objs.pop()
    book.sheetnames.pop(SCRATCH_NAME)
    book._taken_names.discard(SCRATCH_NAME.lower())
    book.sheetname_count = count
    return sheet


class _NoSharedStrings:
    """Stands in for the workbook's shared-string table: a cell keeps its string itself."""

    def _get_shared_string_index(self, string: str) -> str:
        return string


class _InlineStringSheet(SafeWorksheet):
    """A worksheet whose string cells are written inline, and always as text."""

    def _xml_string_element(self, string: str, attributes: Any = ()) -> None:  # type: ignore[override]
        string = self._escape_control_characters(string)
        self._xml_inline_string(string, _preserve_whitespace(string), list(attributes))

    def _string_cell(self, head: str, string: Any) -> str:
        string = self._escape_control_characters(string)
        space = ' xml:space="preserve"' if _preserve_whitespace(string) else ""
        return f'{head} t="inlineStr"><is><t{space}>{self._escape_data(string)}</t></is></c>'


class _BuildContext(ReportContext):
    names: dict[str, Any]

    def finish(self, grid: Grid, **page: Any) -> None:
        grid.finish()
        self.names = {"heading_rows": page.pop("heading_rows"), "print_area": page.pop("print_area", None)}
        setup_sheet(grid.ws, font_name=self.formats.font_name, **page)


class _ScratchBook:
    """The ``workbook`` the division writer sees in a worker: one fresh inline-string sheet a time."""

    def __init__(self, book: SafeWorkbook) -> None:
        self.book = book
        self.sheet: _InlineStringSheet | None = None

    def add_worksheet(self, name: str) -> _InlineStringSheet:
        # the scratch workbook keeps no sheets: each is built, then dropped
        sheet = detached_worksheet(self.book, _InlineStringSheet)
        sheet.str_table = _NoSharedStrings()
        sheet.name = name  # shown only in the log line of a text cut; the report names the sheet
        self.sheet = sheet
        return sheet


class SheetBuilder:
    """Builds division sheets in one process for one style; keeps its formats from sheet to sheet."""

    def __init__(self, style: SheetStyle) -> None:
        self.style = style
        self.book = SafeWorkbook(None, {"in_memory": True})
        self.book.fileclosed = True  # never saved: nothing to warn about when it is dropped
        self.formats = Formats(self.book, style.font_name, style.font_size, style.thai_digits)
        self.table = fix_division_formats(self.book, self.formats)
        self.fixed = len(self.book.xf_format_indices)

    @property
    def spoilt(self) -> bool:
        """A sheet used a format outside the fixed table, which now holds it at a number of its own."""
        return len(self.book.xf_format_indices) != self.fixed

    def build(self, score: DivisionScore) -> BuiltSheet | None:
        from kpibatch.write.division import write_division_sheet  # division imports this module

        scratch = _ScratchBook(self.book)
        ctx = _BuildContext(
            workbook=scratch,
            formats=self.formats,
            group=Group(score.submission.fiscal_year, score.submission.round),
            generated_at=dt.datetime.now(dt.UTC),
            thai_digits=self.style.thai_digits,
        )
        write_division_sheet(ctx, DivisionPage(score, score.submission.short_name or score.division))
        sheet = scratch.sheet
        assert sheet is not None
        xml = StringIO()
        sheet._set_xml_writer(xml)
        sheet._assemble_xml_file()
        if self.spoilt:
            return None
        text = xml.getvalue().encode("utf-8")
        deflate = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        data = deflate.compress(text) + deflate.flush()
        return BuiltSheet(self.style, self.table, data, zlib.crc32(text), len(text), **ctx.names)


_builders: dict[SheetStyle, SheetBuilder] = {}


def build_division_sheet(score: DivisionScore, style: SheetStyle) -> BuiltSheet | None:
    """``score``'s sheet built in this process; None when it needs the main process to lay it out."""
    builder = _builders.get(style)
    if builder is None:
        builder = _builders[style] = SheetBuilder(style)
    built = builder.build(score)
    if builder.spoilt:  # its numbers no longer match the report's: start the next sheet afresh
        del _builders[style]
    return built


# --- the main process: built parts into the report ------------------------------------------------


class _BuiltWorksheet:
    """Stands in for the worksheet of a part built elsewhere; that part is zipped as it came.

    A real xlsxwriter worksheet weighs some 6 kB before it holds a cell, and a report may have ten
    thousand of these; what the workbook and its packager read of a sheet (its tables, images,
    links: none) comes from one blank worksheet shared by all, and only name and place are its own.
    """

    def __init__(self, blank: Worksheet, name: str, index: int, built: BuiltSheet) -> None:
        self._blank = blank
        self.name = name
        self.index = index
        self.built = built

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._blank, attribute)


def add_built_sheet(ctx: ReportContext, page: DivisionPage, built: BuiltSheet) -> Any:
    ws = ctx.workbook.add_built_worksheet(page.sheet, built)
    define_print_names(ctx.workbook, ws.name, heading_rows=built.heading_rows, print_area=built.print_area)
    return ws


class _Packager(SafePackager):
    """xlsxwriter's packager, leaving out the parts of built sheets; the workbook zips those itself."""

    def _write_worksheet_files(self) -> None:
        built = [ws for ws in self.workbook.worksheets() if isinstance(ws, _BuiltWorksheet)]
        if not built:
            super()._write_worksheet_files()
            return
        index = 1
        for worksheet in self.workbook.worksheets():
            if worksheet.is_chartsheet:
                continue
            name = f"xl/worksheets/sheet{index}.xml"
            index += 1
            if isinstance(worksheet, _BuiltWorksheet):
                self.workbook.built_parts.append((name, worksheet.built))
                continue
            worksheet._set_xml_writer(self._filename(name))
            worksheet._assemble_xml_file()


class ReportWorkbook(SafeWorkbook):
    """The report's workbook: a ``SafeWorkbook`` that takes sheets built in the workers."""

    def __init__(self, filename: Any = None, options: dict[str, Any] | None = None) -> None:
        super().__init__(filename, options)
        self.built_parts: list[tuple[str, BuiltSheet]] = []
        self._blank = detached_worksheet(self, Worksheet)  # before any sheet: its name clashes with none

    def _get_packager(self) -> _Packager:
        return _Packager()

    def add_built_worksheet(self, name: str, built: BuiltSheet) -> _BuiltWorksheet:
        """A sheet whose XML part ``built`` holds, named ``name`` under xlsxwriter's rules."""
        checked = self._check_sheetname(name)
        sheet = _BuiltWorksheet(self._blank, checked, len(self.worksheets_objs), built)
        self.worksheets_objs.append(sheet)  # type: ignore[arg-type]
        self.sheetnames[checked] = sheet
        return sheet

    def _store_workbook(self) -> None:
        super()._store_workbook()
        if self.built_parts:
            with zipfile.ZipFile(self.filename, "a") as archive:
                for name, built in self.built_parts:
                    write_deflated(archive, name, built.part(), built.crc, built.size)
            self.built_parts.clear()


def write_deflated(archive: zipfile.ZipFile, name: str, data: bytes, crc: int, size: int) -> None:
    """Add an entry whose data is deflated already, as ``ZipFile.writestr`` would have written it.

    ``zipfile`` compresses everything it is given; this writes the local header and the data the way
    its ``mkdir`` writes a directory entry (CPython 3.11's own steps), and the central directory is
    written by ``close`` as for any entry. Parts this large never need ZIP64 (a sheet part is at most
    a few MB), which is checked rather than assumed.
    """
    if size >= zipfile.ZIP64_LIMIT or len(data) >= zipfile.ZIP64_LIMIT:
        raise ValueError(f"{name}: a part of {size:,} bytes would need ZIP64")
    info = zipfile.ZipInfo(name, PART_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    info.file_size = size
    info.compress_size = len(data)
    info.CRC = crc
    with archive._lock:  # type: ignore[attr-defined]
        archive._writecheck(info)  # type: ignore[attr-defined]
        archive._didModify = True  # type: ignore[attr-defined]
        info.header_offset = archive.fp.tell()  # type: ignore[union-attr]
        archive.fp.write(info.FileHeader(False))  # type: ignore[union-attr]
        archive.fp.write(data)  # type: ignore[union-attr]
        archive.filelist.append(info)
        archive.NameToInfo[info.filename] = info
        archive.start_dir = archive.fp.tell()  # type: ignore[union-attr]
