"""Sheet names: Excel's 31 characters, no ``[]:*?/\\``, unique, Thai cut between whole characters;
the division's full name always inside its sheet."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from helpers import kpi, write_submission
from hypothesis import given, settings
from hypothesis import strategies as st
from write_helpers import load, run_report

from kpibatch.safety import utf16_len
from kpibatch.write.sheetnames import ELLIPSIS, MAX_LEN, SheetNamer, clean_sheet_name, shorten

LONG = "กองพัฒนาระบบการบังคับคดีและประเมินราคาทรัพย์สิน"
FORBIDDEN = set("[]:*?/\\")


def valid(name: str) -> bool:
    return (
        0 < utf16_len(name) <= MAX_LEN  # as Excel and xlsxwriter count: an emoji is two
        and not FORBIDDEN & set(name)
        and not name.startswith("'")
        and not name.endswith("'")
        and name == name.strip()
    )


def test_long_thai_name_is_cut_between_whole_characters():
    short = shorten(LONG)
    assert len(LONG) > MAX_LEN and len(short) <= MAX_LEN and short.endswith(ELLIPSIS)
    kept = short[: -len(ELLIPSIS)]
    assert LONG.startswith(kept)
    assert unicodedata.category(LONG[len(kept)]) != "Mn"  # no vowel or tone mark left behind
    assert shorten("สลก.") == "สลก."


def test_marks_stay_with_their_consonant_and_leading_vowels_with_theirs():
    # the 30th character is a tone mark: the cut moves before its consonant
    name = "ก" * 29 + "ก่" + "ขขขข"
    assert shorten(name) == "ก" * 29 + ELLIPSIS
    # a leading vowel (เ) cut off from the consonant after it is dropped too
    assert shorten("ก" * 29 + "เก" + "ขขขข") == "ก" * 29 + ELLIPSIS


def test_forbidden_characters_are_replaced():
    assert clean_sheet_name("กอง[ก]:ข*ค?ง/จ\\ฉ!") == "กอง ก ข ค ง จ ฉ"
    assert clean_sheet_name("'กอง'") == "กอง"
    assert clean_sheet_name("[]") == "Sheet"


def test_names_are_unique_ignoring_case_and_reserved_ones():
    namer = SheetNamer(["ภาพรวม"])
    assert namer.claim("ภาพรวม") == "ภาพรวม (2)"
    assert namer.claim("Finance") == "Finance"
    assert namer.claim("FINANCE") == "FINANCE (2)"
    assert namer.claim("history") == "history (2)"
    first, second = namer.claim(LONG), namer.claim(LONG)
    assert first != second and len(second) <= MAX_LEN and second.endswith("(2)")


@given(st.lists(st.text(min_size=0, max_size=60), min_size=1, max_size=8))
def test_any_names_become_valid_unique_sheet_names(names: list[str]):
    namer = SheetNamer(["ภาพรวม", "ปัญหา"])
    claimed = [namer.claim(name) for name in names]
    assert all(valid(name) for name in claimed)
    assert len({name.casefold() for name in claimed}) == len(claimed)
    assert not {"ภาพรวม", "ปัญหา"} & set(claimed)


def test_divisions_without_short_names_get_unique_sheets_with_the_full_name_inside(tmp_path: Path):
    inbox = tmp_path / "in"
    other = "กองพัฒนาระบบการบังคับคดีและประเมินราคาที่ดินและสิ่งปลูกสร้าง"
    for n, division in enumerate((LONG, other)):
        write_submission(inbox / f"{n}.xlsx", [kpi("1", 100, method="score", result=4)], division=division)
    write_submission(
        inbox / "2.xlsx", [kpi("1", 100, method="score", result=4)], division="กองภาพรวม", short_name="ภาพรวม"
    )
    _, path = run_report(inbox, tmp_path / "out")
    book = load(path)
    divisions = book.worksheets[1:4]
    names = [ws.title for ws in divisions]
    assert all(valid(name) for name in names) and len(set(names)) == 3
    assert names[2] == "ภาพรวม (2)"
    assert [ws["B3"].value for ws in divisions] == [LONG, other, "กองภาพรวม"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=6))
def test_xlsxwriter_takes_every_name_the_namer_gives(names: list[str]) -> None:
    """The names are checked here, before ``add_worksheet``: xlsxwriter raises on a name Excel
    refuses, and that would stop the report."""
    import xlsxwriter

    namer = SheetNamer(["ภาพรวม"])
    workbook = xlsxwriter.Workbook(None, {"in_memory": True})
    workbook.add_worksheet("ภาพรวม")
    for name in names:
        workbook.add_worksheet(namer.claim(name))


def test_a_name_of_emoji_is_cut_to_what_excel_holds(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    for n, short in enumerate(("😀" * 20, "กอง😀" * 8)):
        kpis = [kpi("1", 100, method="score", result=4)]
        write_submission(inbox / f"{n}.xlsx", kpis, division=f"กอง {n}", short_name=short)
    _, path = run_report(inbox, tmp_path / "out")
    names = [name for name in load(path).sheetnames if "😀" in name]
    assert len(names) == 2
    assert all(valid(name) and name.endswith(ELLIPSIS) for name in names)
    assert names[0] == "😀" * 15 + ELLIPSIS
