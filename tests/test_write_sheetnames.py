"""Sheet names: Excel's 31 characters, no ``[]:*?/\\``, unique, Thai cut between whole characters;
the division's full name always inside its sheet."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from helpers import kpi, write_submission
from hypothesis import given
from hypothesis import strategies as st
from write_helpers import load, run_report

from kpibatch.write.sheetnames import ELLIPSIS, MAX_LEN, SheetNamer, clean_sheet_name, shorten

LONG = "กองพัฒนาระบบการบังคับคดีและประเมินราคาทรัพย์สิน"
FORBIDDEN = set("[]:*?/\\")


def valid(name: str) -> bool:
    return (
        0 < len(name) <= MAX_LEN
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


def test_the_workbook_refuses_the_names_excel_refuses(tmp_path: Path) -> None:
    """SafeWorkbook checks names with a set instead of xlsxwriter's loop over every sheet: the same rules."""
    import pytest
    from xlsxwriter.exceptions import DuplicateWorksheetName, InvalidWorksheetName

    from kpibatch.safety import SafeWorkbook

    workbook = SafeWorkbook(str(tmp_path / "names.xlsx"))
    workbook.add_worksheet("กองคลัง")
    workbook.add_worksheet()  # xlsxwriter's default name, Sheet2
    workbook.add_worksheet("ก" * MAX_LEN)
    for name in ["กองคลัง", "SHEET2", "a/b", "a:b", "[x]", "q?", "'quoted", "ก" * (MAX_LEN + 1), "😀" * 16]:
        with pytest.raises((DuplicateWorksheetName, InvalidWorksheetName)):
            workbook.add_worksheet(name)
    workbook.add_worksheet("😀" * 15)  # 30 UTF-16 units, as Excel counts
    workbook.close()
    assert load(tmp_path / "names.xlsx").sheetnames == ["กองคลัง", "Sheet2", "ก" * MAX_LEN, "😀" * 15]
