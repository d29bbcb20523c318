"""The few parts of an .xlsx package that python-calamine does not expose, read straight from the zip.

python-calamine gives cell values fast but no number formats, no defined names and no error cells (it
turns ``#DIV/0!`` into a blank). Those three matter here: a number formatted as a percentage means
100 times its value, the template records its contract version in a defined name, and a blank where
Excel shows an error would silently score 0. So this module reads ``workbook.xml`` (sheet paths and
defined names), ``styles.xml`` (which cell styles are percentages) and each sheet's XML, in which
only the tags of cells with a percent style or an error type are parsed (found by a plain substring
search first: most sheets have none). It parses with regular expressions instead of an XML tree
because the parts are machine-written and tree parsing costs more than reading the whole workbook
with calamine.
"""

from __future__ import annotations

import functools
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from html import unescape

from kpibatch.read.archive import Archive
from kpibatch.read.formulas import formulas_in_xml

Cell = tuple[int, int]

PERCENT_BUILTIN_FORMATS = frozenset({9, 10})
"""Built-in number formats ``0%`` and ``0.00%`` (ECMA-376 18.8.30)."""

_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TAG_BODY = r"""((?:[^>"']++|"[^"]*+"|'[^']*+')*+)>"""
"""A tag's attributes up to its ``>`` (quoted values may hold ``>``); possessive, so it never backtracks."""
_RELATIONSHIP = re.compile(r"<(?:[\w.-]+:)?Relationship\b" + _TAG_BODY)
_SHEET = re.compile(r"<(?:[\w.-]+:)?sheet\b" + _TAG_BODY)
_DEFINED_NAME = re.compile(  # not self-closing: an empty <definedName .../> has no text to take
    r"""<(?:[\w.-]+:)?definedName\b((?:[^>"'/]++|/(?!>)|"[^"]*+"|'[^']*+')*+)>"""
    r"(.*?)</(?:[\w.-]+:)?definedName>",
    re.DOTALL,
)
_NUM_FMT = re.compile(r"<(?:[\w.-]+:)?numFmt\b" + _TAG_BODY)
_NUM_FMT_ID = re.compile(r"""\bnumFmtId\s*=\s*["'](\d+)["']""")
_CELL_XFS = re.compile(r"<(?:[\w.-]+:)?cellXfs\b[^>]*>(.*?)</(?:[\w.-]+:)?cellXfs>", re.DOTALL)
_XF = re.compile(r"<(?:[\w.-]+:)?xf\b" + _TAG_BODY)
_ROW_OR_CELL = re.compile(r"<(?:[\w.-]+:)?(row|c)\b" + _TAG_BODY)
_CELL_END = re.compile(r"</(?:[\w.-]+:)?c>")
_VALUE = re.compile(r"<(?:[\w.-]+:)?v>([^<]*)</(?:[\w.-]+:)?v>")
_REF = re.compile(r"([A-Za-z]{1,3})(\d+)")


class PackageError(Exception):
    """A part the reader needs is missing or cannot be decoded."""


def attributes(tag_body: str) -> dict[str, str]:
    """``r="A1" s='3'`` -> ``{"r": "A1", "s": "3"}``; a namespace prefix is dropped (``r:id`` -> ``id``)."""
    found: dict[str, str] = {}
    for name, double, single in _ATTR.findall(tag_body):
        value = double if double or not single else single
        found[name.rsplit(":", 1)[-1]] = unescape(value) if "&" in value else value
    return found


def column_index(letters: str) -> int:
    """``A`` -> 0, ``AA`` -> 26."""
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index - 1


@dataclass
class SheetMarks:
    """What the sheet XML says that calamine's values do not."""

    percent: set[Cell] = field(default_factory=set)
    errors: dict[Cell, str] = field(default_factory=dict)
    """Cells holding an error value such as ``#DIV/0!`` (calamine reads them as blank)."""
    formulas: dict[Cell, str] = field(default_factory=dict)
    """Formula cells without a cached value (calamine reads them as blank); the sheet is scanned for
    them only when it holds a formula at all."""


class Package:
    """An .xlsx/.xlsm zip opened from bytes already in memory (parts the precheck inflated are not
    inflated again)."""

    def __init__(self, archive: Archive) -> None:
        self._zip = archive
        self._workbook_path = self._office_document()
        self._workbook_rels = self._relationships(self._workbook_path)
        workbook = self.text(self._workbook_path)
        self.defined_names = {
            attributes(attrs).get("name", ""): unescape(text).strip()
            for attrs, text in _DEFINED_NAME.findall(workbook)
        }
        self.defined_names.pop("", None)
        self._sheet_targets = self._sheets(workbook)
        self.percent_styles = self._percent_styles()

    def close(self) -> None:
        self._zip.close()

    def text(self, name: str) -> str:
        try:
            return self._zip.read(name).decode("utf-8")
        except KeyError as exc:
            raise PackageError(f"part {name} is missing") from exc
        except (UnicodeDecodeError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise PackageError(f"part {name} cannot be read: {exc}") from exc

    def _has(self, name: str) -> bool:
        return self._zip.has(name)

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, target path inside the package) for ``part``."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", name + ".rels")
        if not self._has(rels):
            return {}
        found: dict[str, tuple[str, str]] = {}
        for body in _RELATIONSHIP.findall(self.text(rels)):
            attrs = attributes(body)
            target = attrs.get("Target", "")
            path = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(folder, target))
            )
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), path)
        return found

    def _office_document(self) -> str:
        if self._has("xl/workbook.xml"):  # where every writer puts it; the root rels say so otherwise
            return "xl/workbook.xml"
        for kind, path in self._relationships("").values():
            if kind.endswith("/officeDocument"):
                return path
        return "xl/workbook.xml"

    def _sheets(self, workbook: str) -> dict[str, str]:
        rels = self._workbook_rels
        targets: dict[str, str] = {}
        for body in _SHEET.findall(workbook):
            attrs = attributes(body)
            rel = rels.get(attrs.get("id", ""))
            if rel is not None and "name" in attrs:
                targets[attrs["name"]] = rel[1]
        return targets

    def _percent_styles(self) -> frozenset[int]:
        """Indexes into ``cellXfs`` whose number format shows a percentage."""
        styles = next((p for k, p in self._workbook_rels.values() if k.endswith("/styles")), None)
        if styles is None or not self._has(styles):
            return frozenset()
        xml = self.text(styles)
        percent_formats = set(PERCENT_BUILTIN_FORMATS)
        for body in _NUM_FMT.findall(xml):
            attrs = attributes(body)
            if "%" in attrs.get("formatCode", "") and attrs.get("numFmtId", "").isdigit():
                percent_formats.add(int(attrs["numFmtId"]))
        block = _CELL_XFS.search(xml)
        if block is None:
            return frozenset()
        found = set()
        for index, body in enumerate(_XF.findall(block.group(1))):
            fmt = _NUM_FMT_ID.search(body)
            if fmt is not None and int(fmt.group(1)) in percent_formats:
                found.add(index)
        return frozenset(found)

    def sheet_xml(self, name: str) -> str | None:
        """The XML of sheet ``name``, or None when the package names no part for it."""
        path = self._sheet_targets.get(name)
        return None if path is None else self.text(path)

    def sheet_marks(self, name: str) -> SheetMarks:
        """Percent-formatted and error cells of sheet ``name``."""
        xml = self.sheet_xml(name)
        if xml is None:
            if self.percent_styles:
                raise PackageError(f"sheet {name} has no part in the package")
            return SheetMarks()
        marks = scan_cells(xml, self.percent_styles)
        if _FORMULA_TAG.search(xml) is not None:
            marks.formulas = formulas_in_xml(xml)
        return marks


_FORMULA_TAG = re.compile(r"<(?:\w+:)?f[\s>/]")


def scan_cells(xml: str, percent_styles: frozenset[int]) -> SheetMarks:
    """Percent-styled numbers and error cells of a sheet's XML.

    Only the tags of cells with a percent style or an error type are parsed, found by their
    attribute; if one of them has no ``r`` attribute (optional in the format), the whole sheet is
    walked tag by tag instead, to know where it is.
    """
    # str.find runs at memory speed; most sheets hold neither an error nor a percent-styled cell
    maybe_error = '"e"' in xml or "'e'" in xml
    if not maybe_error and not any(f'"{s}"' in xml or f"'{s}'" in xml for s in percent_styles):
        return SheetMarks()
    hint = _hint(percent_styles)
    marks = SheetMarks()
    pos = 0
    while True:
        found = hint.search(xml, pos)
        if found is None:
            return marks
        start = xml.rfind("<", 0, found.start())
        match = _ROW_OR_CELL.match(xml, start)
        pos = found.end() if match is None else max(match.end(), found.end())
        if match is None or match.group(1) != "c":
            continue
        attrs = attributes(match.group(2))
        ref = _REF.fullmatch(attrs.get("r", ""))
        if ref is None:
            return _walk_cells(xml, percent_styles)
        _mark(marks, xml, match, attrs, (int(ref.group(2)) - 1, column_index(ref.group(1))), percent_styles)


@functools.lru_cache(maxsize=64)
def _hint(percent_styles: frozenset[int]) -> re.Pattern[str]:
    """An error type or one of the percent styles, as an attribute."""
    styles = "|".join(str(s) for s in sorted(percent_styles))
    percent = rf"""|s\s*=\s*["'](?:{styles})["']""" if styles else ""
    return re.compile(r"""\b(?:t\s*=\s*["']e["']""" + percent + ")")


def _mark(
    marks: SheetMarks,
    xml: str,
    match: re.Match[str],
    attrs: dict[str, str],
    cell: Cell,
    percent_styles: frozenset[int],
) -> None:
    kind = attrs.get("t", "n")
    style = attrs.get("s", "0")
    has_value = not match.group(2).endswith("/")
    if kind == "n" and style.isdigit() and int(style) in percent_styles and has_value:
        marks.percent.add(cell)
    elif kind == "e" and has_value:
        end = _CELL_END.search(xml, match.end())
        content = xml[match.end() : end.start() if end else len(xml)]
        value = _VALUE.search(content)
        marks.errors[cell] = unescape(value.group(1)) if value else "#N/A"


def _walk_cells(xml: str, percent_styles: frozenset[int]) -> SheetMarks:
    """Every ``<row>`` and ``<c>`` tag in order: a row or cell without ``r`` follows the previous one."""
    marks = SheetMarks()
    row, col = -1, -1
    pos = 0
    while True:
        match = _ROW_OR_CELL.search(xml, pos)
        if match is None:
            return marks
        tag, body = match.groups()
        pos = match.end()
        attrs = attributes(body)
        if tag == "row":
            ref = attrs.get("r", "")
            row = int(ref) - 1 if ref.isdigit() else row + 1
            col = -1
            continue
        ref = _REF.fullmatch(attrs.get("r", ""))
        if ref is not None:
            row, col = int(ref.group(2)) - 1, column_index(ref.group(1))
        else:
            col += 1
        _mark(marks, xml, match, attrs, (row, col), percent_styles)
