"""Run the real pipeline into a folder and read the consolidated workbook back with openpyxl."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import openpyxl
import pytest
from conftest import EXAMPLES

from kpibatch.config import Settings
from kpibatch.pipeline import RunReport, run_batch

GENERATED_AT = dt.datetime(2020, 10, 15, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))
SETTINGS = Settings()


def run_report(inbox: Path, out: Path, **settings: Any) -> tuple[RunReport, Path]:
    """``kpibatch run`` on ``inbox`` at a fixed time; the one workbook it wrote."""
    files = sorted(p for p in inbox.iterdir() if p.suffix in (".xlsx", ".xlsm"))
    report = run_batch(files, out, replace(SETTINGS, **settings), now=lambda: GENERATED_AT)
    assert len(report.outputs) == 1, [o.folder for o in report.outputs]
    return report, report.outputs[0].workbook


class Examples(NamedTuple):
    inbox: Path
    workbook: Path


_EXAMPLES: list[Examples] = []


def examples_workbook(factory: pytest.TempPathFactory) -> Examples:
    """The workbook ``kpibatch run`` makes of the shipped examples, made once per test session;
    tests only read it."""
    if not _EXAMPLES:
        root = factory.mktemp("examples")
        shutil.copytree(EXAMPLES, root / "inbox")
        _, path = run_report(root / "inbox", root / "out")
        _EXAMPLES.append(Examples(root / "inbox", path))
    return _EXAMPLES[0]


def load(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def rows(ws: Any, first: int, last: int, width: int) -> list[tuple[Any, ...]]:
    return [tuple(c.value for c in row) for row in ws.iter_rows(min_row=first, max_row=last, max_col=width)]


def squash(text: str) -> str:
    """Text with every run of white space as one space (a wrapped cell may hold line breaks)."""
    return re.sub(r"\s+", " ", text).strip()


def sheet_xml(path: Path, sheet_name: str) -> str:
    """The XML of one worksheet inside the workbook file, found through workbook.xml's relations."""
    with zipfile.ZipFile(path) as book:
        workbook = book.read("xl/workbook.xml").decode("utf-8")
        rels = book.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        escaped = sheet_name.replace("&", "&amp;").replace("'", "&apos;").replace('"', "&quot;")
        rid = re.search(rf'<sheet name="{re.escape(escaped)}" sheetId="\d+" r:id="(rId\d+)"', workbook)
        assert rid, f"sheet {sheet_name} not in workbook.xml"
        target = re.search(rf'Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels)
        assert target
        return book.read("xl/" + target.group(1).lstrip("/").removeprefix("xl/")).decode("utf-8")


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as book:
        return book.namelist()


def zip_text(path: Path, member: str) -> str:
    with zipfile.ZipFile(path) as book:
        return book.read(member).decode("utf-8")
