"""Formula cells that have no cached value, found by scanning a sheet's XML inside the workbook zip.

A workbook written or re-saved by a script (openpyxl) keeps its formulas but no calculated values;
every value reader then sees a blank where Excel would show a number. Which formula cells are in that
state is read here straight from the sheet XML, so the answer does not depend on the library that
reads the values. The XML is parsed as a stream with defusedxml (no entities, no external
references), so a hostile or very large file costs no more memory than one row at a time.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from typing import IO
from xml.etree.ElementTree import Element, ParseError
from xml.sax import SAXException

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from defusedxml.expatreader import DefusedExpatParser

Cell = tuple[int, int]
"""(row, column), both 0-based."""

_DEFAULT_WORKBOOK = "xl/workbook.xml"
_CHUNK = 1 << 16
_CELL_REF = re.compile(r"([A-Za-z]{1,3})(\d+)")
_CACHED_TEXT_TYPES = {"str", "inlineStr"}
"""A formula whose result is the empty string is stored as ``t="str"`` with an empty ``<v>``."""


def _local(tag: str) -> str:
    """Element or attribute name without its namespace (transitional and strict OOXML differ)."""
    return tag.rsplit("}", 1)[-1]


def _attr(element: Element, name: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _parse(stream: IO[bytes]) -> Iterator[Element]:
    for _event, element in iterparse(stream, events=("end",)):
        yield element


def _relationships(book: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part) for ``part``, targets resolved to zip member names."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels_name not in book.namelist():
        return {}
    found: dict[str, tuple[str, str]] = {}
    with book.open(rels_name) as stream:
        for element in _parse(stream):
            if _local(element.tag) != "Relationship":
                continue
            target = element.get("Target", "")
            resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            found[element.get("Id", "")] = (element.get("Type", ""), posixpath.normpath(resolved))
    return found


def _workbook_part(book: zipfile.ZipFile) -> str:
    for kind, target in _relationships(book, "").values():
        if kind.endswith("/officeDocument"):
            return target
    return _DEFAULT_WORKBOOK


def sheet_part(book: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The zip member that holds the worksheet named ``sheet_name``, or None."""
    workbook = _workbook_part(book)
    rels = _relationships(book, workbook)
    with book.open(workbook) as stream:
        for element in _parse(stream):
            if _local(element.tag) == "sheet" and element.get("name") == sheet_name:
                rel = rels.get(_attr(element, "id") or "")
                return rel[1] if rel else None
    return None


def _column_index(letters: str) -> int:
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - ord("A") + 1
    return index - 1


class _Scanner(DefusedExpatParser):
    """Expat callbacks straight on the sheet XML, behind defusedxml's guards (no DTD, no entities,
    no external references); the SAX layer is bypassed because a filled template has thousands of
    cells and element objects for each would cost more than reading the values."""

    def __init__(self) -> None:
        super().__init__(forbid_dtd=True)
        self.found: dict[Cell, str] = {}
        self._shared: dict[str, str] = {}  # shared-formula index -> the master cell's text
        self._waiting: dict[str, list[Cell]] = {}  # dependents met before their master
        self._row = -1
        self._col = -1
        self._in_cell = False
        self._cell_type: str | None = None
        self._formula: list[str] | None = None
        self._shared_index: str | None = None
        self._value: list[str] | None = None
        self._collect: list[str] | None = None

    def reset(self) -> None:
        super().reset()  # installs the guards on a fresh expat parser
        parser = self._parser
        # one text event per formula instead of one per entity and line (&quot; splits the text):
        # a filled template's helper formulas are long and quote-heavy
        parser.buffer_text = True
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        tag = name.rpartition(":")[2]
        if tag == "c":
            ref = _CELL_REF.fullmatch(attrs.get("r", ""))
            if ref:
                self._row, self._col = int(ref.group(2)) - 1, _column_index(ref.group(1))
            else:  # ``r`` is optional: the cell follows the previous one
                self._col += 1
            self._in_cell = True
            self._cell_type = attrs.get("t")
            self._formula = self._value = self._shared_index = None
        elif tag == "row":
            number = attrs.get("r", "")
            self._row = int(number) - 1 if number.isdigit() else self._row + 1
            self._col = -1
        elif self._in_cell and tag == "f":
            self._formula = self._collect = []
            if attrs.get("t") == "shared":
                self._shared_index = attrs.get("si")
        elif self._in_cell and tag == "v":
            self._value = self._collect = []

    def _text(self, data: str) -> None:
        if self._collect is not None:
            self._collect.append(data)

    def _end(self, name: str) -> None:
        tag = name.rpartition(":")[2]
        if tag in ("f", "v"):
            self._collect = None
        elif tag == "c":
            self._in_cell = False
            if self._formula is not None:
                self._finish_cell("".join(self._formula))

    def _finish_cell(self, text: str) -> None:
        cell = (self._row, self._col)
        index = self._shared_index
        if index is not None:
            if text:
                self._shared[index] = text
                for waiting in self._waiting.pop(index, []):
                    self.found[waiting] = f"={text}"
            else:
                text = self._shared.get(index, "")
        cached = self._value is not None and (any(self._value) or self._cell_type in _CACHED_TEXT_TYPES)
        if cached:
            return
        if text:
            self.found[cell] = f"={text}"
        elif index is not None:
            self._waiting.setdefault(index, []).append(cell)
            self.found[cell] = "="


def _scan(stream: IO[bytes]) -> dict[Cell, str]:
    scanner = _Scanner()
    while chunk := stream.read(_CHUNK):
        scanner.feed(chunk)
    scanner.close()
    return scanner.found


_SCAN_ERRORS = (ParseError, SAXException, DefusedXmlException)


def formulas_in_xml(xml: str) -> dict[Cell, str]:
    """The same scan over a sheet's XML that a reader already took out of the zip.

    Empty when the XML cannot be parsed: whether the file is readable is the value reader's call.
    """
    try:
        return _scan(io.BytesIO(xml.encode("utf-8")))
    except _SCAN_ERRORS:
        return {}


def uncached_formulas(data: bytes, sheet_name: str) -> dict[Cell, str]:
    """{(row0, col0): "=formula"} for the formula cells of ``sheet_name`` that have no cached value.

    Returns an empty mapping when the sheet cannot be found or its XML cannot be parsed: whether the
    file is readable at all is the value reader's decision, and it reports that itself.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            part = sheet_part(book, sheet_name)
            if part is None or part not in book.namelist():
                return {}
            with book.open(part) as stream:
                return _scan(stream)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, *_SCAN_ERRORS):
        return {}
