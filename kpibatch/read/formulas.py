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

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

Cell = tuple[int, int]
"""(row, column), both 0-based."""

_DEFAULT_WORKBOOK = "xl/workbook.xml"
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


def _scan(stream: IO[bytes]) -> dict[Cell, str]:
    found: dict[Cell, str] = {}
    shared: dict[str, str] = {}  # shared-formula index -> the master cell's text
    waiting: dict[str, list[Cell]] = {}  # dependents seen before their master (not in Excel's files)
    row = -1
    col = -1
    for event, element in iterparse(stream, events=("start", "end")):
        tag = _local(element.tag)
        if tag == "row":
            if event == "start":  # ``r`` is optional on rows too: a row without it follows the last
                number = element.get("r", "")
                row, col = (int(number) - 1 if number.isdigit() else row + 1), -1
            else:
                element.clear()  # the row's cells are done; keep memory flat on big sheets
            continue
        if tag != "c" or event != "end":
            continue
        ref = _CELL_REF.fullmatch(element.get("r", ""))
        if ref:
            row, col = int(ref.group(2)) - 1, _column_index(ref.group(1))
        else:  # ``r`` is optional: the cell follows the previous one
            col += 1
        formula = value = None
        for child in element:
            name = _local(child.tag)
            if name == "f":
                formula = child
            elif name == "v":
                value = child
        if formula is None:
            continue
        text = formula.text or ""
        index = formula.get("si")
        if formula.get("t") == "shared" and index is not None:
            if text:
                shared[index] = text
                for cell in waiting.pop(index, []):
                    found[cell] = f"={text}"
            elif index in shared:
                text = shared[index]
        cached = value is not None and (bool(value.text) or element.get("t") in _CACHED_TEXT_TYPES)
        if cached:
            continue
        if text:
            found[(row, col)] = f"={text}"
        elif index is not None:
            waiting.setdefault(index, []).append((row, col))
            found[(row, col)] = "="
    return found


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
    except (zipfile.BadZipFile, KeyError, ParseError, DefusedXmlException, OSError, EOFError):
        return {}
