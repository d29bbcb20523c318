"""The workbook written row by row (xlsxwriter's ``constant_memory`` mode) reads back exactly as the
workbook main wrote at commit a85b223, before it did: the same values, merges, row heights, column
widths, formats, comments and print set-up, for the shipped examples (in Arabic and in Thai digits)
and the golden inbox.

tests/golden/readback_main_a85b223.json.gz is ``readback.readback`` of the workbooks that commit
wrote from these inboxes at ``write_helpers.GENERATED_AT`` (it wrote every cell in memory and set the
row heights last). A deliberate change to the report's look regenerates it: run this file with
``KPIBATCH_WRITE_READBACK=1`` and review the difference.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, GOLDEN
from readback import readback
from write_helpers import run_report, zip_names

import kpibatch.write

EXPECTED = GOLDEN / "readback_main_a85b223.json.gz"
CASES = {
    "examples": (EXAMPLES, {}),
    "examples_thai_digits": (EXAMPLES, {"thai_digits": True}),
    "golden_inbox": (GOLDEN / "inbox", {}),
}


def _stored() -> dict[str, Any]:
    with gzip.open(EXPECTED, "rt", encoding="utf-8") as stored:
        return json.loads(stored.read())


def _differences(expected: Any, got: Any, where: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(got, dict):
        found = []
        for key in sorted(expected.keys() | got.keys()):
            if key not in got or key not in expected:
                found.append(f"{where}/{key}: {expected.get(key)!r} != {got.get(key)!r}")
            else:
                found += _differences(expected[key], got[key], f"{where}/{key}")
        return found
    return [] if expected == got else [f"{where}: {expected!r} != {got!r}"]


@pytest.mark.parametrize("row_by_row", [True, False], ids=["row_by_row", "in_memory"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_workbook_reads_back_as_before(
    case: str, row_by_row: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row by row is what a large report gets (``ROW_BY_ROW_FROM`` divisions and more)."""
    if row_by_row:
        monkeypatch.setattr(kpibatch.write, "ROW_BY_ROW_FROM", 0)
    source, settings = CASES[case]
    shutil.copytree(source, tmp_path / "inbox")
    _, path = run_report(tmp_path / "inbox", tmp_path / "out", **settings)
    got = json.loads(json.dumps(readback(path)))  # tuples as lists, as stored
    # written row by row, the strings are inline, not in a shared table
    assert ("xl/sharedStrings.xml" not in zip_names(path)) == row_by_row
    if os.environ.get("KPIBATCH_WRITE_READBACK"):
        stored = _stored() if EXPECTED.exists() else {}
        stored[case] = got
        text = json.dumps(stored, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        with gzip.open(EXPECTED, "wt", encoding="utf-8", compresslevel=9) as out:
            out.write(text)
    expected = _stored()[case]
    assert _differences(expected, got)[:20] == []
