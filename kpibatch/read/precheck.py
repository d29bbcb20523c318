"""Cheap checks on a workbook file before any parser opens it.

The inbox is a shared folder: anything can land in it. A 5 KB workbook whose sheet claims the range
A1:XFD1048576 makes calamine try to allocate 512 GiB and abort the process, and makes openpyxl pad
every row to 16,384 cells; a small zip can expand to gigabytes; an encrypted workbook reaches openpyxl
as a misleading ``BadZipFile``. So a file is first judged from its first bytes, its zip directory and
a streaming scan of the sheets that will be read, none of which inflates more than the declared sizes
allow or builds any tree. Only a file that passes reaches openpyxl or calamine.

``precheck`` returns problems: errors mean the file must not be opened; a warning (macros ignored)
travels with the file's other problems. ``precheck_opened`` also hands on the file as the checks read
it (``kpibatch.read.archive.Archive``): the reader parses those bytes, not the file again.
``problem_for_exception`` turns whatever a parser still raises into a problem with a reason, so that
one file never stops the batch.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from kpibatch import contract
from kpibatch.config import InputLimits, Settings
from kpibatch.problems import (
    FileEmpty,
    FileTooLarge,
    FileUnreadable,
    FileVanished,
    MacrosIgnored,
    NotAWorkbook,
    OldFormat,
    Problem,
    ReadCrashed,
    SheetDimensionTooLarge,
    SheetExtentTooLarge,
    WorkbookEncrypted,
    WrongExtension,
    XmlDeclaresEntities,
    XmlInvalid,
    ZipDamaged,
    ZipRatioTooHigh,
    ZipTooLarge,
    ZipTooManyMembers,
    ZipTruncated,
)
from kpibatch.read.archive import Archive

MB = 1024 * 1024
ACCEPTED_SUFFIXES = (".xlsx", ".xlsm")
OLE_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")
RATIO_GRACE_BYTES = 1 * MB
"""Small parts compress far better than large ones do; the ratio limit applies above this size."""
PROLOG_WINDOW = 64 * 1024
"""A DOCTYPE can only stand before the root element; no OOXML part has a prolog this long."""
CHUNK = 256 * 1024

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_DOCUMENT = _REL_NS + "/officeDocument"
_WORKSHEET = _REL_NS + "/worksheet"
_STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"
_DEFAULTS = Settings()


@dataclass(frozen=True)
class Limits:
    """The limits a file must stay within before it is parsed (see ``Settings``)."""

    max_file_bytes: int = _DEFAULTS.max_file_mb * MB
    max_members: int = _DEFAULTS.max_zip_members
    max_unzipped_bytes: int = _DEFAULTS.max_unzipped_mb * MB
    max_ratio: int = _DEFAULTS.max_zip_ratio
    max_rows: int = _DEFAULTS.max_sheet_rows
    max_columns: int = _DEFAULTS.max_sheet_columns

    @classmethod
    def from_settings(cls, limits: InputLimits) -> Limits:
        return cls(
            max_file_bytes=limits.max_file_mb * MB,
            max_members=limits.max_zip_members,
            max_unzipped_bytes=limits.max_unzipped_mb * MB,
            max_ratio=limits.max_zip_ratio,
            max_rows=limits.max_sheet_rows,
            max_columns=limits.max_sheet_columns,
        )


class _Reject(Exception):
    """Stops the checks of one file: the problems so far are final."""


class _Checker:
    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.name = path.name
        self.limits = limits
        self.problems: list[Problem] = []
        self.archive: Archive | None = None

    def add(self, kind: type[Problem], sheet: str = "", cell: str = "", **params: Any) -> None:
        self.problems.append(kind(file=self.name, sheet=sheet, cell=cell, params=params))

    def reject(self, kind: type[Problem], sheet: str = "", cell: str = "", **params: Any) -> _Reject:
        self.add(kind, sheet, cell, **params)
        return _Reject()

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def precheck(path: Path, limits: Limits | None = None) -> list[Problem]:
    """Every reason not to open ``path`` with a parser; empty (or warnings only) when it is safe."""
    problems, archive = precheck_opened(path, limits)
    if archive is not None:
        archive.close()
    return problems


def precheck_opened(path: Path, limits: Limits | None = None) -> tuple[list[Problem], Archive | None]:
    """``precheck``, and the file as the checks opened it for the reader to go on with (``Archive``:
    read once, small parts inflated once); None when the file must not be parsed."""
    check = _Checker(path, limits or Limits())
    try:
        _checked(check)
    finally:
        if check.has_errors and check.archive is not None:
            check.archive.close()
            check.archive = None
    return check.problems, check.archive


def _checked(check: _Checker) -> None:
    try:
        _check(check)
    except _Reject:
        pass
    except FileNotFoundError as exc:
        check.add(FileVanished, detail=type(exc).__name__)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a part that does not inflate
        check.add(ZipDamaged, detail=f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        check.add(FileUnreadable, detail=f"{type(exc).__name__}: {exc.strerror or exc}")
    except Exception as exc:  # the checks themselves must never stop the batch
        check.add(ZipDamaged, detail=f"{type(exc).__name__}: {exc}")


def _check(check: _Checker) -> None:
    path, limits = check.path, check.limits
    size = path.stat().st_size
    _check_size(check, size)
    with open(path, "rb") as handle:  # whole: the reader goes on with these bytes
        data = _read_at_most(handle, size, limits.max_file_bytes)
    size = len(data)  # the file may have changed since the stat; the bytes are what is judged
    _check_size(check, size)
    head = data[:1024]
    if head.startswith(OLE_SIGNATURE):
        kind, params = _ole_kind(path)
        raise check.reject(kind, **params)
    if not head.startswith(b"PK"):
        kind_th, kind_en = _sniff(head)
        raise check.reject(NotAWorkbook, kind_th=kind_th, kind_en=kind_en)
    try:
        book = check.archive = Archive(data)
    except zipfile.BadZipFile as exc:
        # A file that starts like a zip but has no end record was cut off (still copying, or a
        # download that stopped); anything else is damage inside the directory.
        if head.startswith(b"PK\x03\x04") and ("not a zip" in str(exc) or "Truncated" in str(exc)):
            raise check.reject(ZipTruncated) from exc
        raise check.reject(ZipDamaged, detail=str(exc)) from exc
    except (ValueError, NotImplementedError, EOFError, OverflowError, RuntimeError) as exc:
        raise check.reject(ZipDamaged, detail=f"{type(exc).__name__}: {exc}") from exc
    _check_directory(check, book, size)
    if check.has_errors:
        return
    workbook_part = _check_package(check, book)
    if check.has_errors:
        return
    _check_prologs(check, book)
    if check.has_errors:
        return
    for sheet, part in _sheets_to_read(check, book, workbook_part):
        _check_sheet(check, book, sheet, part)
    if check.has_errors:
        return
    suffix = path.suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        check.add(WrongExtension, suffix=suffix or "(none)")


def _check_size(check: _Checker, size: int) -> None:
    if size == 0:
        raise check.reject(FileEmpty)
    if size > check.limits.max_file_bytes:
        raise check.reject(FileTooLarge, size_mb=_mb(size), limit_mb=_mb(check.limits.max_file_bytes))


def _read_at_most(handle: IO[bytes], size: int, limit: int) -> bytes:
    """The file's bytes, ``size`` as its stat said, or up to one byte past ``limit`` if it grew."""
    data = handle.read(size + 1)
    if len(data) <= size:
        return data
    chunks = [data]
    total = len(data)
    while total <= limit and (chunk := handle.read(min(CHUNK, limit + 1 - total))):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _mb(size: int) -> str:
    return f"{size / MB:,.1f}"


# --- before the zip: the first bytes -------------------------------------------------------------


def _ole_kind(path: Path) -> tuple[type[Problem], dict[str, str]]:
    """An OLE/CFB container is an encrypted OOXML workbook or a legacy binary Office file."""
    try:
        import olefile

        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=False)}
    except Exception:  # a damaged container: it is still no workbook kpibatch can read
        streams = set()
    if {"encryptedpackage", "encryptioninfo"} & streams:
        return WorkbookEncrypted, {}
    if "worddocument" in streams:
        return NotAWorkbook, {"kind_th": "เอกสาร Word รุ่นเก่า (.doc)", "kind_en": "an old Word document (.doc)"}
    return OldFormat, {"format": "Excel 97-2003 (.xls)"}


def _sniff(head: bytes) -> tuple[str, str]:
    """What a file that is not a zip most likely is, for the message."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"%pdf"):
        return "ไฟล์ PDF", "a PDF file"
    if text.startswith((b"<!doctype html", b"<html", b"<table")):
        return "หน้าเว็บ (HTML) ที่ตั้งชื่อเป็น .xlsx", "a web page (HTML) named .xlsx"
    if text.startswith(b"<?xml"):
        return "ไฟล์ XML (เช่น XML Spreadsheet 2003)", "an XML file (such as XML Spreadsheet 2003)"
    if text.startswith(b"{\\rtf"):
        return "เอกสาร RTF", "an RTF document"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "ไฟล์รูปภาพ", "a picture"
    if head.startswith((b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")):
        return "ไฟล์บีบอัดชนิดอื่น", "another kind of compressed archive"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        if b"\x00" not in head:
            return "ไฟล์ข้อความ (เช่น CSV)", "a text file (such as CSV)"
        return "ข้อมูลชนิดที่ไม่รู้จัก", "data of an unknown kind"
    return "ไฟล์ข้อความ (เช่น CSV)", "a text file (such as CSV)"


# --- the zip directory, before anything is inflated ----------------------------------------------


def _check_directory(check: _Checker, book: Archive, size: int) -> None:
    limits = check.limits
    infos = book.zip.infolist()
    if len(infos) > limits.max_members:
        raise check.reject(ZipTooManyMembers, count=f"{len(infos):,}", limit=f"{limits.max_members:,}")
    total = sum(info.file_size for info in infos)
    if total > limits.max_unzipped_bytes:
        check.add(ZipTooLarge, size_mb=_mb(total), limit_mb=_mb(limits.max_unzipped_bytes))
    for info in infos:
        if info.flag_bits & 0x1:
            raise check.reject(WorkbookEncrypted)
        if info.header_offset + info.compress_size > size:
            raise check.reject(ZipTruncated)
        if info.file_size > RATIO_GRACE_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                check.add(
                    ZipRatioTooHigh, member=info.filename, ratio=f"{ratio:,.0f}", limit=limits.max_ratio
                )


def _check_package(check: _Checker, book: Archive) -> str:
    """The path of the workbook part; rejects containers that are not an Excel workbook."""
    names = book.zip.NameToInfo
    if "mimetype" in names:
        mimetype = book.head("mimetype", 200)
        if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
            raise check.reject(OldFormat, format="OpenDocument (.ods)")
        raise check.reject(NotAWorkbook, kind_th="เอกสาร OpenDocument", kind_en="an OpenDocument file")
    if "xl/workbook.bin" in names:
        raise check.reject(OldFormat, format="Excel Binary Workbook (.xlsb)")
    target = _office_document(check, book) if "_rels/.rels" in names else None
    part = target or "xl/workbook.xml"
    if part not in names:
        if "word/document.xml" in names:
            raise check.reject(NotAWorkbook, kind_th="เอกสาร Word", kind_en="a Word document")
        if "ppt/presentation.xml" in names:
            raise check.reject(NotAWorkbook, kind_th="งานนำเสนอ PowerPoint", kind_en="a PowerPoint file")
        raise check.reject(NotAWorkbook, kind_th="ไฟล์ zip ทั่วไป", kind_en="a plain zip archive")
    if "xl/vbaProject.bin" in names or any(n.lower().endswith("vbaproject.bin") for n in names):
        check.add(MacrosIgnored)
    return part


def _office_document(check: _Checker, book: Archive) -> str | None:
    for rel in _relationships(check, book, "_rels/.rels", ""):
        if rel.type in (_OFFICE_DOCUMENT, _STRICT_REL + "/officeDocument"):
            return rel.target
    return None


# --- XML prologs: no DOCTYPE, no entities --------------------------------------------------------

_PROLOG_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)


def _check_prologs(check: _Checker, book: Archive) -> None:
    """No XML part may declare a DOCTYPE (OOXML never does; entity attacks need one).

    Parts are sniffed by content, not by name: a parser follows the content types, and a hostile file
    can give an XML part any name.
    """
    for info in book.zip.infolist():
        if info.is_dir():
            continue
        verdict = _prolog_verdict(book.head(info.filename, PROLOG_WINDOW))
        if verdict == "declaration":
            raise check.reject(XmlDeclaresEntities, member=info.filename)
        if verdict == "endless" and info.file_size > PROLOG_WINDOW:
            raise check.reject(XmlInvalid, detail=f"{info.filename}: no root element in the first 64 KB")


def _prolog_verdict(head: bytes) -> str:
    """``declaration`` (a ``<!DOCTYPE`` or ``<!ENTITY`` before the root), ``endless`` (the prolog
    runs past ``head``) or ``ok`` (the root element starts, or the part is not XML)."""
    text = _markup(head)
    if text is None:
        return "ok"
    pos = 0
    while match := _PROLOG_ITEM.match(text, pos):
        pos = match.end()
    rest = text[pos:].lstrip()
    if rest.startswith(b"<!--") or rest.startswith(b"<?") or not rest:
        return "endless"  # a comment or instruction not closed within the window
    if rest.startswith(b"<!"):
        return "declaration"
    return "ok"


def _markup(head: bytes) -> bytes | None:
    """An XML part's start with one byte per character (UTF-16 folded); None when not XML."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:2] in (b"<\x00", b"\x00<"):
        big_endian = head.startswith(b"\xfe\xff") or head[:2] == b"\x00<"
        body = head[2:] if head[:2] in (b"\xff\xfe", b"\xfe\xff") else head
        text = body[: len(body) // 2 * 2].decode("utf-16-be" if big_endian else "utf-16-le", errors="replace")
        head = text.encode("ascii", errors="replace")
    head = head.removeprefix(b"\xef\xbb\xbf")
    return head if head.lstrip().startswith(b"<") else None


# --- relationships and the sheets that will be read ----------------------------------------------


@dataclass(frozen=True)
class _Rel:
    id: str
    type: str
    target: str


def _parse_part(check: _Checker, book: Archive, part: str) -> Any:
    """A small XML part as a tree, parsed with defusedxml (prologs were checked already)."""
    try:
        return safe_fromstring(book.head(part, check.limits.max_unzipped_bytes))
    except DefusedXmlException as exc:
        raise check.reject(XmlDeclaresEntities, member=part) from exc
    except Exception as exc:  # ParseError, a bad CRC, a broken deflate stream: the part is damaged
        raise check.reject(XmlInvalid, detail=f"{part}: {type(exc).__name__}: {exc}") from exc


def _relationships(check: _Checker, book: Archive, rels_part: str, base: str) -> list[_Rel]:
    """The internal relationships of a .rels part, targets resolved against ``base``."""
    if not book.has(rels_part):
        return []
    found = []
    for rel in _parse_part(check, book, rels_part).iter(f"{{{_PKG_REL_NS}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target") or ""
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
        found.append(_Rel(rel.get("Id") or "", rel.get("Type") or "", posixpath.normpath(resolved)))
    return found


def _sheets_to_read(check: _Checker, book: Archive, workbook_part: str) -> Iterator[tuple[str, str]]:
    """(sheet name, part) of every sheet kpibatch reads: those with a role in the contract.

    Other sheets are never parsed (openpyxl in read-only mode and calamine load sheets on demand), so
    a division may keep a large working sheet beside the template's.
    """
    root = _parse_part(check, book, workbook_part)
    folder, base = posixpath.split(workbook_part)
    rels_part = posixpath.join(folder, "_rels", base + ".rels")
    targets = {rel.id: rel.target for rel in _relationships(check, book, rels_part, folder)}
    for sheet in root.iter():
        if not isinstance(sheet.tag, str) or not sheet.tag.endswith("}sheet"):
            continue
        name = sheet.get("name") or ""
        rid = sheet.get(f"{{{_REL_NS}}}id") or sheet.get(f"{{{_STRICT_REL}}}id") or ""
        part = targets.get(rid)
        if contract.sheet_role(name) is not None and part is not None and book.has(part):
            yield name, part


# --- one sheet: declared dimension and real extent, streamed -------------------------------------

_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.\-]*:)?(row|c|dimension)\b([^>]*)>")
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*["']([^"']*)["']""")
_REF_ATTR = re.compile(rb"""(?:^|\s)ref\s*=\s*["']([^"']*)["']""")
_CELL_REF = re.compile(rb"\$?([A-Za-z]+)\$?([0-9]+)")
MAX_TAG = 1 * MB
"""Longer than any real tag of a sheet; a longer one would make the scan quadratic."""


def _column_number(letters: bytes) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + char - 64
    return number


def _cell_position(ref: bytes) -> tuple[int, int] | None:
    """(row, column), 1-based, of ``B7``; numbers past Excel's limits stay past them (no overflow)."""
    match = _CELL_REF.fullmatch(ref.strip())
    if match is None:
        return None
    letters, digits = match.groups()
    row = int(digits) if len(digits) <= 9 else 10**9
    column = _column_number(letters) if len(letters) <= 6 else 10**9
    return row, column


def _tags(handle: IO[bytes]) -> Iterator[tuple[bool, bytes, bytes]]:
    """(closing, name, attributes) of every row, c and dimension tag, inflating chunk by chunk."""
    pending = b""
    while chunk := handle.read(CHUNK):
        buffer = pending + chunk
        last_open = buffer.rfind(b"<")
        if last_open == -1 or buffer.find(b">", last_open) != -1:
            body, pending = buffer, b""
        else:  # the last tag goes on in the next chunk
            body, pending = buffer[:last_open], buffer[last_open:]
            if len(pending) > MAX_TAG:
                raise ValueError("a tag longer than 1 MB")
        for match in _TAG.finditer(body):
            yield match.group(1) == b"/", match.group(2), match.group(3)


_NS = rb"(?:[A-Za-z_][\w.\-]*:)?"
_ROW_OPEN = re.compile(rb"<" + _NS + rb"row\b")
_CELL_OPEN = re.compile(rb"<" + _NS + rb"c\b")
_ROW_REF = re.compile(rb"<" + _NS + rb"""row\b[^>]*?\sr\s*=\s*["']0*(\d{1,9})["']""")
_CELL_REF_ATTR = re.compile(rb"<" + _NS + rb"""c\b[^>]*?\sr\s*=\s*["']\$?([A-Za-z]{1,3})\$?0*(\d{1,9})["']""")
_DIMENSION = re.compile(rb"<" + _NS + rb"dimension\b([^>]*)>")
QUICK_SHEET_BYTES = 2 * MB
"""A sheet part up to this size is first scanned whole with a few regular expressions (see
``_quickly_cleared``); a filled KPI sheet is a few tens of kB."""


def _quickly_cleared(check: _Checker, book: Archive, sheet: str, part: str) -> bool:
    """True when a small sheet's every row and cell names its reference and all are within limits.

    That is every sheet Excel, LibreOffice, openpyxl or xlsxwriter writes, and deciding it with a few
    scans in C costs a tenth of the tag-by-tag walk of ``_check_sheet``, which decides everything
    else (r-less cells, a far cell, too many cells) and words the reason. The declared dimension is
    checked either way.
    """
    try:
        data = book.head(part, QUICK_SHEET_BYTES + 1)
    except Exception:  # a damaged part: the walk reports it
        return False
    if len(data) > QUICK_SHEET_BYTES:
        return False
    rows = _ROW_REF.findall(data)
    cells = _CELL_REF_ATTR.findall(data)
    if len(rows) != len(_ROW_OPEN.findall(data)) or len(cells) != len(_CELL_OPEN.findall(data)):
        return False
    limits = check.limits
    far_row = max([int(r) for r in rows] + [int(digits) for _, digits in cells], default=0)
    far_column = max((_column_number(letters) for letters in {c for c, _ in cells}), default=0)
    if far_row > limits.max_rows or far_column > limits.max_columns:
        return False
    if len(cells) > limits.max_rows * limits.max_columns:
        return False
    for attrs in _DIMENSION.findall(data):
        _check_dimension(check, sheet, attrs)
    return True


def _check_sheet(check: _Checker, book: Archive, sheet: str, part: str) -> None:
    if _quickly_cleared(check, book, sheet, part):
        return
    limits = check.limits
    max_cells = limits.max_rows * limits.max_columns
    row = column = cells = 0
    far_row = far_column = 0
    far_ref = ""

    def over() -> bool:
        return far_row > limits.max_rows or far_column > limits.max_columns or cells > max_cells

    try:
        with book.open(part) as handle:
            for closing, name, attrs in _tags(handle):
                if closing:
                    continue
                if name == b"dimension":
                    _check_dimension(check, sheet, attrs)
                    continue
                found = _R_ATTR.search(attrs)
                value = found.group(1) if found else None
                if name == b"row":
                    row = int(value) if value and value.isdigit() and len(value) <= 9 else row + 1
                    column = 0
                    if row > far_row:
                        far_row, far_ref = row, f"{row}:{row}"
                else:
                    cells += 1
                    position = _cell_position(value) if value is not None else None
                    if position is None:
                        column += 1
                        position = (row, column)
                    else:
                        column = position[1]
                    if position[0] > far_row or position[1] > far_column:
                        far_row, far_column = max(far_row, position[0]), max(far_column, position[1])
                        far_ref = (value or b"").decode("ascii", "replace")[:20] or f"R{row}C{column}"
                if over():
                    break
    except _Reject:
        raise
    except Exception as exc:  # a bad CRC, a broken deflate stream, an absurd tag
        raise check.reject(ZipDamaged, sheet=sheet, detail=f"{part}: {type(exc).__name__}: {exc}") from exc
    if over():
        raise check.reject(
            SheetExtentTooLarge,
            sheet=sheet,
            cell=far_ref,
            cell_ref=far_ref,
            rows=f"{far_row:,}",
            columns=f"{far_column:,}",
            cells=f"{cells:,}",
            max_rows=f"{limits.max_rows:,}",
            max_columns=f"{limits.max_columns:,}",
        )


def _check_dimension(check: _Checker, sheet: str, attrs: bytes) -> None:
    """The ``<dimension ref=...>`` a sheet declares; readers size their grids by it."""
    found = _REF_ATTR.search(attrs)
    if found is None:
        return
    ref = found.group(1).decode("ascii", "replace")
    corners = [_cell_position(part) for part in found.group(1).split(b":")]
    if not corners or any(corner is None for corner in corners):
        return  # not a range: the readers ignore it, and the extent scan still bounds the sheet
    rows = max(corner[0] for corner in corners if corner)
    columns = max(corner[1] for corner in corners if corner)
    limits = check.limits
    if rows > limits.max_rows or columns > limits.max_columns:
        raise check.reject(
            SheetDimensionTooLarge,
            sheet=sheet,
            cell=ref[:40],
            ref=ref[:40],
            rows=f"{rows:,}",
            columns=f"{columns:,}",
            max_rows=f"{limits.max_rows:,}",
            max_columns=f"{limits.max_columns:,}",
        )


# --- exceptions a parser still raises ------------------------------------------------------------


def problem_for_exception(exc: BaseException, file: str) -> Problem:
    """A problem with a reason for an exception raised while reading ``file``.

    Used by the pipeline's last line of defence and meant for a calamine-based reader too: calamine
    reports an encrypted workbook as ``PasswordError`` and unsafe or broken XML as ``XmlError``.
    """
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, DefusedXmlException | ParseError):  # openpyxl wraps them in a ValueError
        exc = cause
    kind = type(exc).__name__
    detail = str(exc)[:300] or kind
    try:
        import python_calamine
    except ImportError:  # pragma: no cover - calamine is optional for this mapping
        python_calamine = None
    if python_calamine is not None:
        if isinstance(exc, python_calamine.PasswordError):
            return WorkbookEncrypted(file=file)
        if isinstance(exc, python_calamine.XmlError):
            return XmlInvalid(file=file, params={"detail": f"{kind}: {detail}"})
        if isinstance(exc, python_calamine.ZipError):
            return ZipDamaged(file=file, params={"detail": f"{kind}: {detail}"})
    if isinstance(exc, DefusedXmlException):
        return XmlDeclaresEntities(file=file, params={"member": "?"})
    if isinstance(exc, ParseError):
        return XmlInvalid(file=file, params={"detail": f"{kind}: {detail}"})
    if isinstance(exc, zipfile.BadZipFile | zlib.error):
        return ZipDamaged(file=file, params={"detail": f"{kind}: {detail}"})
    if isinstance(exc, FileNotFoundError):
        return FileVanished(file=file, params={"detail": kind})
    return ReadCrashed(file=file, params={"kind": kind, "detail": detail})
