"""``kpibatch template``: options, refusals, and the next round's template made from an earlier file."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from helpers import Percent, kpi, write_submission

from kpibatch import contract
from kpibatch.cli import main
from kpibatch.read import read_submission
from kpibatch.template.layout import DIVISION_SHEET, KPI_SHEET

LEVELS = {"level1": 80, "level2": 85, "level3": 90, "level4": 95, "level5": 100}
NOT_ASSESSED = "รายงานรอบ ๑๒ เดือน"
HOSTILE_NAME = '=HYPERLINK("http://example.com","x")'


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_blank_template_with_prefilled_division(tmp_path: Path) -> None:
    target = tmp_path / "t.xlsx"
    code, text = _run(
        "template",
        "--out",
        str(target),
        "--division",
        "กองทดสอบ",
        "--short-name",
        "กท.",
        "--fiscal-year",
        "๒๕๖๔",
        "--round",
        "๙",
    )
    assert code == 0
    assert f"template: {target}" in text
    ws = openpyxl.load_workbook(target)[DIVISION_SHEET]
    assert [ws.cell(r, 2).value for r in range(3, 7)] == ["กองทดสอบ", "กท.", 2564, 9]
    read = read_submission(target)
    assert read.submission is not None
    assert (read.submission.division, read.submission.fiscal_year, read.submission.round) == (
        "กองทดสอบ",
        2564,
        9,
    )
    assert not [p for p in read.problems if p.severity == "error"]


def test_common_era_year_becomes_buddhist_era(tmp_path: Path) -> None:
    target = tmp_path / "t.xlsx"
    assert _run("template", "--out", str(target), "--fiscal-year", "2021")[0] == 0
    assert openpyxl.load_workbook(target)[DIVISION_SHEET]["B5"].value == 2564


@pytest.mark.parametrize(
    "argv",
    [
        ["--out", "{tmp}/t.xls"],
        ["--out", "{tmp}/exists.xlsx"],
        ["--out", "{tmp}/t.xlsx", "--from", "{tmp}/missing.xlsx", "--round", "6"],
        ["--out", "{tmp}/t.xlsx", "--from", "{tmp}/exists.xlsx"],
    ],
    ids=["not-xlsx", "exists-without-force", "from-missing", "from-without-round"],
)
def test_usage_errors_exit_2_and_write_nothing(tmp_path: Path, argv: list[str]) -> None:
    write_submission(tmp_path / "exists.xlsx", [kpi("1", 100, method="score", result=3)])
    before = (tmp_path / "exists.xlsx").read_bytes()
    code, _ = _run("template", *(a.format(tmp=tmp_path) for a in argv))
    assert code == 2
    assert not (tmp_path / "t.xlsx").exists() and not (tmp_path / "t.xls").exists()
    assert (tmp_path / "exists.xlsx").read_bytes() == before


@pytest.mark.parametrize("option", [["--round", "7"], ["--fiscal-year", "63"]])
def test_bad_option_values_are_refused_by_the_parser(tmp_path: Path, option: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _run("template", "--out", str(tmp_path / "t.xlsx"), *option)
    assert exc.value.code == 2


def test_force_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "t.xlsx"
    target.write_bytes(b"old")
    assert _run("template", "--out", str(target), "--force")[0] == 0
    assert openpyxl.load_workbook(target).sheetnames[1] == DIVISION_SHEET


def _previous(path: Path) -> Path:
    write_submission(
        path,
        [
            kpi("1", 40, "ด้านคุณภาพ"),
            kpi("1.1", 4, method="threshold", direction="มาก", unit="ร้อยละ", result=92.5, **LEVELS),
            kpi("1.2", 6, method="milestone", result=4, note="ส่งหลักฐานแล้ว"),
            kpi(
                "2.1",
                30,
                method="threshold",
                result=Percent(0.875),
                **{k: Percent(v / 100) for k, v in LEVELS.items()},
            ),
            kpi("3.1", 30, "placeholder", method="score", status=NOT_ASSESSED),
        ],
        division="กองเดิม",
        short_name="กด.",
        fiscal_year=2563,
        round_=6,
        reallocations=[{"from": "3.1", "to": "2.1", "weight": 30, "reason": "ไม่ได้ประเมิน"}],
    )
    # A name that looks like a formula, typed as text (openpyxl would store "=..." as a formula).
    wb = openpyxl.load_workbook(path)
    cell = wb["KPIs"]["B6"]
    cell.value, cell.data_type = HOSTILE_NAME, "s"
    wb.save(path)
    return path


def test_next_round_keeps_definitions_and_clears_results(tmp_path: Path) -> None:
    previous = _previous(tmp_path / "round6.xlsx")
    target = tmp_path / "round9.xlsx"
    code, text = _run("template", "--from", str(previous), "--round", "9", "--out", str(target))
    assert code == 0, text
    assert "5 KPIs taken from round6.xlsx for round 9" in text

    before = read_submission(previous).submission
    after = read_submission(target).submission
    assert before is not None and after is not None
    assert (after.division, after.short_name, after.fiscal_year, after.round) == ("กองเดิม", "กด.", 2563, 9)
    kept = ("code", "name", "unit", "weight", "method", "direction", "levels")
    assert [tuple(getattr(k, f) for f in kept) for k in after.kpis] == [
        tuple(getattr(k, f) for f in kept) for k in before.kpis
    ]
    assert after.kpis[3].levels == tuple(
        Decimal(v) for v in (80, 85, 90, 95, 100)
    )  # percent cells -> 80..100
    assert all(k.result is None and k.status is None and k.note is None for k in after.kpis)
    assert after.reallocations == ()

    wb = openpyxl.load_workbook(target)
    name = wb[KPI_SHEET]["B9"]
    assert (name.value, name.data_type) == (HOSTILE_NAME, "s"), "a name that looks like a formula stays text"
    assert wb.defined_names[contract.TEMPLATE_VERSION_NAME].attr_text == str(contract.CONTRACT_VERSION)
    # The top-level weights of the previous round make 100, so the check starts green.
    values = openpyxl.load_workbook(target, data_only=True)[KPI_SHEET]
    assert (values["D2"].value, values["E2"].value) == (100, "ครบ 100 / OK")


def test_next_round_can_change_year_and_names(tmp_path: Path) -> None:
    previous = _previous(tmp_path / "round12.xlsx")
    target = tmp_path / "next.xlsx"
    argv = ["--from", str(previous), "--round", "6", "--fiscal-year", "2564", "--division", "กองใหม่"]
    assert _run("template", "--out", str(target), *argv)[0] == 0
    after = read_submission(target).submission
    assert after is not None
    assert (after.division, after.short_name, after.fiscal_year, after.round) == ("กองใหม่", "กด.", 2564, 6)


def test_next_round_keeps_a_wrong_weight_sum_for_the_check_to_show(tmp_path: Path) -> None:
    previous = write_submission(
        tmp_path / "old.xlsx", [kpi("1", 50, method="score", result=3), kpi("2", 47, method="score")]
    )
    target = tmp_path / "new.xlsx"
    code, text = _run("template", "--from", str(previous), "--round", "6", "--out", str(target))
    assert code == 0
    assert "problems found while reading" not in text  # the sum is validate's business, not the reader's
    values = openpyxl.load_workbook(target, data_only=True)[KPI_SHEET]
    assert (values["D2"].value, values["E2"].value) == (97, "ขาด 3 / 3 short")


def test_next_round_lists_what_could_not_be_read_and_leaves_it_blank(tmp_path: Path) -> None:
    previous = write_submission(
        tmp_path / "old.xlsx", [kpi("1", "๕๐,๕", method="score", result=3), kpi("2", 50, method="score")]
    )
    target = tmp_path / "new.xlsx"
    code, text = _run("template", "--from", str(previous), "--round", "6", "--out", str(target))
    assert code == 0
    assert "old.xlsx: problems found while reading it" in text
    assert "[number-invalid] old.xlsx › KPIs › D2" in text
    ws = openpyxl.load_workbook(target)[KPI_SHEET]
    assert (ws["A5"].value, ws["D5"].value, ws["D6"].value) == ("1", None, 50)


def test_next_round_from_an_unreadable_file_exits_3(tmp_path: Path) -> None:
    previous = write_submission(
        tmp_path / "old.xlsx", [kpi("1", 100)], sheet_names=("Division", "KPI", "Reallocations")
    )
    target = tmp_path / "new.xlsx"
    code, text = _run("template", "--from", str(previous), "--round", "6", "--out", str(target))
    assert code == 3
    assert "[sheet-missing] old.xlsx › KPI" in text
    assert not target.exists()


def test_next_round_keeps_a_markup_like_name_as_text(tmp_path: Path) -> None:
    """xlsxwriter copies a string shaped ``<r>…</r>`` into the workbook as markup; a KPI name typed
    that way must reach the next round's template as the text it was."""
    import zipfile

    typed = "<r><t>x</t></r><si><t>injected</t></si><r><t>z</t></r>"
    previous = write_submission(
        tmp_path / "round6.xlsx",
        [kpi("1", 60, typed, method="score", result=4), kpi("2", 40, method="score", result=3)],
        round_=6,
    )
    target = tmp_path / "round9.xlsx"
    code, text = _run("template", "--from", str(previous), "--round", "9", "--out", str(target))
    assert code == 0, text
    after = read_submission(target).submission
    assert after is not None and after.kpis[0].name == typed
    with zipfile.ZipFile(target) as z:
        assert "<si><t>injected" not in z.read("xl/sharedStrings.xml").decode()
