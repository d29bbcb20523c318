"""Cheap checks before parsing: every hostile or broken file is rejected with its own reason, before
openpyxl or calamine ever sees it; good workbooks pass untouched."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from conftest import EXAMPLES, ROOT
from defusedxml import DefusedXmlException
from helpers import kpi, write_submission

from fuzz import corpus
from kpibatch.config import Settings
from kpibatch.pipeline import check_file, inbox_files, run_batch
from kpibatch.read.precheck import Limits, precheck, problem_for_exception
from kpibatch.score import ScoreOptions

SOURCE = (EXAMPLES / "01_secretariat.xlsx").read_bytes()


def put(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def codes(path: Path, limits: Limits | None = None) -> list[str]:
    return [p.code for p in precheck(path, limits)]


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.xlsx")), ids=lambda p: p.name)
def test_the_shipped_examples_pass(example: Path) -> None:
    assert precheck(example) == []


CASES: list[tuple[str, Callable[[], bytes], str]] = [
    ("empty.xlsx", corpus.empty, "file-empty"),
    ("csv_renamed.xlsx", corpus.csv_text, "not-a-workbook"),
    ("pdf_renamed.xlsx", corpus.pdf, "not-a-workbook"),
    ("page.xlsx", corpus.html, "not-a-workbook"),
    ("picture.xlsx", corpus.png, "not-a-workbook"),
    ("letter.xlsx", corpus.docx, "not-a-workbook"),
    ("sheet.ods", corpus.ods, "old-format"),
    ("binary.xlsb", corpus.xlsb, "old-format"),
    ("old.xls", corpus.old_xls, "old-format"),
    ("old_renamed.xlsx", corpus.old_xls, "old-format"),
    ("encrypted.xlsx", lambda: corpus.encrypted(SOURCE), "workbook-encrypted"),
    ("zip_encrypted.xlsx", lambda: corpus.zip_encrypted_flag(SOURCE), "workbook-encrypted"),
    ("truncated.xlsx", lambda: corpus.truncated(SOURCE), "zip-truncated"),
    ("crc.xlsx", lambda: corpus.crc_damaged(SOURCE), "zip-damaged"),
    ("members.xlsx", lambda: corpus.many_members(1001), "zip-too-many-members"),
    ("ratio.xlsx", lambda: corpus.ratio_bomb(SOURCE, 3), "zip-ratio-too-high"),
    ("laughs.xlsx", lambda: corpus.entity_expansion(SOURCE), "xml-entities"),
    ("xxe.xlsx", lambda: corpus.external_entity(SOURCE), "xml-entities"),
    ("dimension_bomb.xlsx", lambda: corpus.dimension_bomb(SOURCE), "sheet-dimension-too-large"),
    ("far_cell.xlsx", lambda: corpus.far_cell(SOURCE), "sheet-extent-too-large"),
    ("right_name_wrong_suffix.xls", lambda: SOURCE, "wrong-extension"),
]


@pytest.mark.parametrize(("name", "build", "code"), CASES, ids=[c[0] for c in CASES])
def test_each_case_is_rejected_with_its_reason(
    tmp_path: Path, name: str, build: Callable[[], bytes], code: str
) -> None:
    path = put(tmp_path, name, build())
    problems = precheck(path)
    assert [p.code for p in problems] == [code]
    [problem] = problems
    assert problem.file == name and problem.severity == "error"
    assert problem.message_th and problem.message_en and "{" not in problem.message
    assert problem.to_dict()["fix_th"] and problem.to_dict()["fix_en"]
    outcome = check_file(path, ScoreOptions())
    assert not outcome.accepted and outcome.source is None  # never opened: no bytes were hashed
    assert [p.code for p in outcome.problems] == [code]


def test_the_dimension_bomb_is_small_and_named_by_its_range(tmp_path: Path) -> None:
    data = corpus.dimension_bomb(SOURCE)
    assert len(data) < 100_000  # a filled template of some 50 kB
    path = put(tmp_path, "bomb.xlsx", data)
    [problem] = precheck(path)
    assert (problem.sheet, problem.cell) == ("KPIs", "A1:XFD1048576")
    assert "1,048,576 rows × 16,384 columns" in problem.message_en


def test_messages_say_what_the_file_really_is(tmp_path: Path) -> None:
    pdf = precheck(put(tmp_path, "a.xlsx", corpus.pdf()))[0]
    csv = precheck(put(tmp_path, "b.xlsx", corpus.csv_text()))[0]
    ods = precheck(put(tmp_path, "c.ods", corpus.ods()))[0]
    xls = precheck(put(tmp_path, "d.xls", corpus.old_xls()))[0]
    assert "PDF" in pdf.message_en and "CSV" in csv.message_en
    assert ".ods" in ods.message_en and ".xls" in xls.message_en and ".xlsx" in xls.to_dict()["fix_en"]
    encrypted = precheck(put(tmp_path, "e.xlsx", corpus.encrypted(SOURCE)))[0]
    assert "password" in encrypted.to_dict()["fix_en"] and "รหัสผ่าน" in encrypted.to_dict()["fix_th"]


def test_the_20_million_cell_file_is_rejected_from_its_directory(tmp_path: Path) -> None:
    path = put(tmp_path, "cells.xlsx", corpus.many_cells(2_000_000))
    assert codes(path, Limits(max_unzipped_bytes=20 * 1024 * 1024)) == ["zip-too-large", "zip-ratio-too-high"]
    # with the zip limits lifted, the streaming scan still stops at the first column past the limit
    lifted = Limits(max_unzipped_bytes=10**10, max_ratio=10**6)
    [problem] = precheck(path, lifted)
    assert problem.code == "sheet-extent-too-large" and problem.cell == "R1C257"


def test_extent_counts_rows_and_cells_without_references(tmp_path: Path) -> None:
    def rows_only(data: bytes) -> bytes:
        rows = b"<row><c><v>1</v></c></row>" * 30
        return data.replace(b"</sheetData>", rows + b"</sheetData>")

    with zipfile.ZipFile(io.BytesIO(SOURCE)) as book:
        written = book.read(corpus.kpi_sheet(SOURCE)).count(b"<row ")
    path = put(tmp_path, "rows.xlsx", corpus.edit_member(SOURCE, corpus.kpi_sheet(SOURCE), rows_only))
    # the rows declared and written, and 30 more without r=
    assert codes(path, Limits(max_rows=written + 30)) == []
    [problem] = precheck(path, Limits(max_rows=written + 29))
    last = written + 30
    assert (problem.code, problem.cell) == ("sheet-extent-too-large", f"{last}:{last}")


def test_namespace_prefixes_and_single_quotes_do_not_hide_a_far_cell(tmp_path: Path) -> None:
    def prefixed(data: bytes) -> bytes:
        return data.replace(
            b"</sheetData>", b"<x:row r='3'><x:c r='IW3'><x:v>1</x:v></x:c></x:row></sheetData>"
        )

    path = put(tmp_path, "prefixed.xlsx", corpus.edit_member(SOURCE, corpus.kpi_sheet(SOURCE), prefixed))
    [problem] = precheck(path)
    assert problem.code == "sheet-extent-too-large" and problem.cell == "IW3"


def test_a_decoy_attribute_does_not_hide_the_real_reference(tmp_path: Path) -> None:
    def decoy(data: bytes) -> bytes:
        cell = b'<row r="3"><c s:r="A3" r="XFD3"><v>1</v></c></row>'
        return data.replace(b"</sheetData>", cell + b"</sheetData>")

    path = put(tmp_path, "decoy.xlsx", corpus.edit_member(SOURCE, corpus.kpi_sheet(SOURCE), decoy))
    assert codes(path) == ["sheet-extent-too-large"]


def test_only_the_sheets_that_are_read_are_scanned(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(SOURCE))
    scratch = wb.create_sheet("working data")
    scratch["A1"], scratch["ZZ20000"] = "big", 1
    path = tmp_path / "extra_sheet.xlsx"
    wb.save(path)
    assert precheck(path) == []
    wb["KPIs"]["ZZ5"] = 1
    wb.save(path)
    assert [(p.code, p.sheet) for p in precheck(path)] == [("sheet-dimension-too-large", "KPIs")]


def test_limits_come_from_the_settings(tmp_path: Path) -> None:
    path = put(tmp_path, "ok.xlsx", SOURCE)
    settings = Settings(max_sheet_rows=10, max_sheet_columns=5, max_zip_members=5, max_file_mb=1)
    limits = Limits.from_settings(settings.limits)
    assert limits.max_rows == 10 and limits.max_file_bytes == 1024 * 1024
    assert codes(path, limits) == ["zip-too-many-members"]
    assert codes(path, dataclasses.replace(limits, max_members=1000)) == ["sheet-dimension-too-large"]
    assert codes(path, Limits(max_file_bytes=1000)) == ["file-too-large"]


def test_a_doctype_in_utf16_or_behind_a_long_comment_is_still_found(tmp_path: Path) -> None:
    def utf16(data: bytes) -> bytes:
        text = data.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
        text = text.replace("?>", '?>\n<!DOCTYPE sst [<!ENTITY x "y">]>', 1)
        return text.encode("utf-16")

    def padded(data: bytes) -> bytes:
        return data.replace(b"?>", b"?><!--" + b" " * 70_000 + b"--><!DOCTYPE x>", 1)

    path = put(tmp_path, "utf16.xlsx", corpus.edit_member(SOURCE, corpus.SHARED_STRINGS, utf16))
    assert codes(path) == ["xml-entities"]
    path = put(tmp_path, "padded.xlsx", corpus.edit_member(SOURCE, corpus.SHARED_STRINGS, padded))
    assert codes(path) == ["xml-invalid"]


def test_openpyxl_itself_refuses_entities_through_defusedxml(tmp_path: Path) -> None:
    """The second line of defence, had the precheck missed it: openpyxl parses with defusedxml."""
    assert openpyxl.DEFUSEDXML is True
    path = put(tmp_path, "laughs.xlsx", corpus.entity_expansion(SOURCE))
    with pytest.raises(ValueError) as raised:
        openpyxl.load_workbook(path, read_only=True)
    assert isinstance(raised.value.__cause__, DefusedXmlException)
    assert problem_for_exception(raised.value, path.name).code == "xml-entities"


def test_macros_are_ignored_with_a_warning_and_the_file_is_scored(tmp_path: Path) -> None:
    path = put(tmp_path, "with_macros.xlsm", corpus.with_macros(SOURCE))
    outcome = check_file(path, ScoreOptions())
    assert outcome.accepted
    [warning] = [p for p in outcome.problems if p.code == "macros-ignored"]
    assert warning.severity == "warning" and "never run" in warning.message_en
    assert outcome.score is not None and warning in outcome.score.warnings  # the division's warning too


def test_broken_xml_after_the_precheck_becomes_a_reasoned_rejection(tmp_path: Path) -> None:
    path = put(tmp_path, "malformed.xlsx", corpus.malformed_sheet(SOURCE))
    assert precheck(path) == []
    outcome = check_file(path, ScoreOptions())
    [problem] = outcome.errors
    assert problem.code == "xml-invalid" and "XmlError" in problem.message_en  # calamine's name for it
    assert problem.file == "malformed.xlsx"


@pytest.mark.parametrize(
    ("cell", "kind"),
    [
        (b'<c r="B5" s="2" t="s"><v>99999</v></c>', "IndexError"),
        (b'<c r="B5" s="2" t="n"><v>x</v></c>', "ValueError"),
        (b'<c r="B5" s="2" t="d"><v>x</v></c>', "ValueError"),
        (b'<c r="B5" s="99" t="n"><v>1</v></c>', "IndexError"),
    ],
)
def test_a_damaged_cell_ends_accepted_or_rejected_with_a_reason(
    tmp_path: Path, cell: bytes, kind: str
) -> None:
    """Cells that made openpyxl raise (``kind``); the calamine reader either reads past them or rejects
    the file with a reason, and never lets an exception out."""
    path = put(tmp_path, "bad_cell.xlsx", corpus.bad_cell(SOURCE, cell))
    assert precheck(path) == []
    outcome = check_file(path, ScoreOptions())
    for problem in outcome.errors:
        assert problem.code in {"read-failed", "file-unreadable", "xml-invalid", "number-invalid"}
        assert problem.file == "bad_cell.xlsx" and problem.message_th and problem.message_en
    assert outcome.accepted or outcome.errors


def test_calamine_errors_map_to_the_same_reasons(tmp_path: Path) -> None:
    calamine = pytest.importorskip("python_calamine", reason="python-calamine is in the test extra")
    path = put(tmp_path, "encrypted.xlsx", corpus.encrypted(SOURCE))
    with pytest.raises(calamine.CalamineError) as raised:
        calamine.CalamineWorkbook.from_path(str(path))
    assert problem_for_exception(raised.value, path.name).code == "workbook-encrypted"
    assert problem_for_exception(zipfile.BadZipFile("x"), "f").code == "zip-damaged"
    other = problem_for_exception(KeyError("xl/styles.xml"), "f")
    assert other.code == "read-failed" and other.params["kind"] == "KeyError"


def test_a_file_renamed_mid_run_is_reported_and_the_rest_scored(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_submission(inbox / "a.xlsx", [kpi("1", 100, method="score", result=4)], division="กองเอ")
    write_submission(inbox / "b.xlsx", [kpi("1", 100, method="score", result=3)], division="กองบี")
    files = inbox_files(inbox)
    (inbox / "b.xlsx").rename(inbox / "b_renamed.xlsx")  # someone renames it after the listing
    report = run_batch(files, tmp_path / "out", Settings())
    assert [o.name for o in report.accepted] == ["a.xlsx"]
    [gone] = report.rejected
    assert [p.code for p in gone.problems] == ["file-vanished"]
    assert (inbox / "b_renamed.xlsx").is_file()


def test_other_spreadsheets_in_the_inbox_are_listed_so_they_get_a_reason(tmp_path: Path) -> None:
    for name in ("a.xlsx", "b.xls", "c.ods", "d.csv", "e.xlsb", "notes.txt", "~$a.xlsx"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in inbox_files(tmp_path)] == ["a.xlsx", "b.xls", "c.ods", "d.csv", "e.xlsb"]


def test_the_run_refuses_to_start_when_openpyxl_would_not_use_defusedxml(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    write_submission(inbox / "f.xlsx", [kpi("1", 100, method="score", result=4)])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPIBATCH_", "OPENPYXL_"))}
    env["PYTHONPATH"] = str(ROOT)
    args = [sys.executable, "-m", "kpibatch", "run", "--inbox", "in", "--out", "out"]
    ok = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    env["OPENPYXL_DEFUSEDXML"] = "False"
    unsafe = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert unsafe.returncode == 1
    assert "defusedxml" in unsafe.stderr and "Traceback" not in unsafe.stderr


def _sheet(rows: list[str], dimension: str = "A1:C3") -> bytes:
    body = "".join(rows)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{body}</sheetData></worksheet>'
    ).encode()


SHEETS = {
    "named cells": _sheet(['<row r="1"><c r="A1"><v>1</v></c><c r="C1" s="2"/></row>', '<row r="3"/>']),
    "cells without r": _sheet(['<row r="1"><c><v>1</v></c><c><v>2</v></c></row>', "<row><c/></row>"]),
    "far cell": _sheet(['<row r="1"><c r="XFD1048576"><v>1</v></c></row>']),
    "far row": _sheet(['<row r="999999"><c r="A999999"/></row>']),
    "wide row": _sheet(['<row r="2"><c r="AAA2"/></row>']),
    "long letters": _sheet(['<row r="2"><c r="ABCD2"/></row>']),
    "leading zeros": _sheet(['<row r="0002"><c r="B0002"/></row>']),
    "dimension bomb": _sheet(['<row r="1"><c r="A1"/></row>'], dimension="A1:XFD1048576"),
    "prefixed": _sheet(['<x:row r="1"><x:c r="B1"/></x:row>']),
    "attribute order": _sheet(['<row spans="1:3" r="4"><c s="1" t="n" r="C4"><v>2</v></c></row>']),
}


@pytest.mark.parametrize("name", list(SHEETS))
def test_the_quick_scan_decides_as_the_tag_walk(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small sheets are first cleared by a few whole-part scans; whatever they clear, the walk over
    every tag clears too, and whatever they do not, the walk decides, with the same reasons."""
    import kpibatch.read.precheck as module

    limits = Limits(max_rows=5_000, max_columns=200)
    path = put(
        tmp_path, "s.xlsx", corpus.edit_member(SOURCE, corpus.kpi_sheet(SOURCE), lambda _: SHEETS[name])
    )
    quick = [p.to_dict() for p in precheck(path, limits)]
    with monkeypatch.context() as patched:
        walks: list[str] = []
        real = module._tags
        patched.setattr(module, "_tags", lambda handle: walks.append(name) or real(handle))
        assert [p.to_dict() for p in precheck(path, limits)] == quick
    named = name in ("named cells", "leading zeros", "prefixed", "attribute order", "dimension bomb")
    assert bool(walks) is not named  # every cell named and near: no tag-by-tag walk
    monkeypatch.setattr(module, "QUICK_SHEET_BYTES", -1)  # every sheet walked tag by tag
    walked = [p.to_dict() for p in precheck(path, limits)]
    assert quick == walked
    expected_clear = name in (
        "named cells",
        "cells without r",
        "leading zeros",
        "prefixed",
        "attribute order",
    )
    assert (quick == []) is expected_clear, quick
