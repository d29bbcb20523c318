"""The consolidated workbook through xlsxwriter's documented interface: no internal module or
underscore name of a library imported, and the documented ``constant_memory`` option changing
nothing a reader sees."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT
from readback import readback
from write_helpers import zip_names

from kpibatch.config import Settings
from kpibatch.consolidate import consolidate
from kpibatch.pipeline import check_files
from kpibatch.write import write_report

NOW = dt.datetime(2020, 10, 15, 9, 30, tzinfo=dt.UTC)
PUBLIC_XLSXWRITER = {"xlsxwriter", "xlsxwriter.exceptions", "xlsxwriter.utility"}
"""The modules xlsxwriter's documentation names (``utility`` for its cell-notation helpers)."""


def imports() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((ROOT / "kpibatch").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found += [(path.name, node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(path.name, alias.name, "") for alias in node.names]
    return found


def test_no_internal_module_or_underscore_name_of_a_library_is_imported() -> None:
    ours = [(f, m, n) for f, m, n in imports() if not m.startswith(("kpibatch", "__future__"))]
    private = [
        (f, m, n) for f, m, n in ours if n.startswith("_") or any(p.startswith("_") for p in m.split("."))
    ]
    internal = [(f, m, n) for f, m, n in ours if m.startswith("xlsxwriter") and m not in PUBLIC_XLSXWRITER]
    assert private == [] and internal == []


def test_no_generic_write_of_a_cell() -> None:
    """``Worksheet.write`` (and ``write_row``, ``write_column``) chooses the kind of cell from the
    value, and xlsxwriter before 3.3.1 makes ``{=...}`` an array formula whatever the options:
    kpibatch says what each cell is (``write_text``, ``write_number``, ``write_blank``)."""
    found = []
    for path in sorted((ROOT / "kpibatch").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("write", "write_row", "write_column")
                and len(node.args) >= 3  # row, column, value: a worksheet's, not a sheet writer's
            ):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_row_by_row_or_all_in_memory_the_workbook_reads_back_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large report is written row by row, or in memory where the process may not hold a file
    open per sheet; nothing a reader sees changes."""
    import kpibatch.write

    [group] = consolidate(
        list(check_files(sorted(EXAMPLES.glob("*.xlsx")), Settings().checking, for_report=True))
    )
    monkeypatch.setattr(kpibatch.write, "ROW_BY_ROW_FROM", 0)
    a = write_report(group, tmp_path / "rows.xlsx", Settings().style, NOW)
    monkeypatch.setattr(kpibatch.write, "allow_open_files", lambda count: False)
    b = write_report(group, tmp_path / "memory.xlsx", Settings().style, NOW)
    assert "xl/sharedStrings.xml" not in zip_names(a)  # strings inline: the rows were streamed
    assert "xl/sharedStrings.xml" in zip_names(b)
    assert readback(a) == readback(b)
