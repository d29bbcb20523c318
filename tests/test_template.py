"""The generated template, read back with openpyxl: what a person sees and what the reader needs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kpibatch import contract
from kpibatch.config import Settings
from kpibatch.model import KpiRow
from kpibatch.read.formulas import uncached_formulas
from kpibatch.template import TemplateSpec, write_template
from kpibatch.template.layout import (
    DIRECTION_CHOICES,
    DIVISION_SHEET,
    INSTRUCTIONS_SHEET,
    KPI_COLUMNS,
    KPI_SHEET,
    METHOD_CHOICES,
    REALLOCATION_SHEET,
    STATUS_CHOICES,
)
from kpibatch.template.writer import weight_check_text

FONT = Settings().font_name


def _write(path: Path, spec: TemplateSpec) -> Path:
    return write_template(path, spec, font_name=FONT, font_size=16)


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    path = _write(tmp_path_factory.mktemp("template") / "blank.xlsx", TemplateSpec())
    return openpyxl.load_workbook(path)


def _validations(ws: Any) -> dict[str, Any]:
    """First cell of each validated range -> the validation."""
    found = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            found[rng.coord.split(":")[0]] = dv
    return found


def _list_items(dv: Any) -> list[str]:
    return dv.formula1.strip('"').split(",")


def test_sheets_in_order_instructions_first(blank: openpyxl.Workbook) -> None:
    assert blank.sheetnames == [INSTRUCTIONS_SHEET, DIVISION_SHEET, KPI_SHEET, REALLOCATION_SHEET]
    assert [contract.sheet_role(n) for n in blank.sheetnames] == [None, "division", "kpis", "reallocations"]
    assert blank.active.title == INSTRUCTIONS_SHEET


def test_every_header_and_key_is_one_the_reader_knows(blank: openpyxl.Workbook) -> None:
    kpis = blank[KPI_SHEET]
    headers = [kpis.cell(4, c + 1).value for c in range(len(KPI_COLUMNS))]
    assert [contract.kpi_column(h) for h in headers] == [c.key for c in KPI_COLUMNS]
    assert "verified_result" in [c.key for c in KPI_COLUMNS]
    assert all(" / " in h for h in headers), "bilingual: Thai / English"
    assert contract.kpi_column(kpis.cell(4, len(KPI_COLUMNS) + 1).value) is None  # the hidden helper
    division = blank[DIVISION_SHEET]
    keys = [contract.division_key(division.cell(r, 1).value) for r in range(1, 7)]
    assert keys == [None, None, "division", "short_name", "fiscal_year", "round"]
    realloc = blank[REALLOCATION_SHEET]
    assert [contract.reallocation_column(realloc.cell(2, c).value) for c in range(1, 5)] == [
        "from",
        "to",
        "weight",
        "reason",
    ]


def test_drop_downs_offer_only_what_the_reader_understands(blank: openpyxl.Workbook) -> None:
    dv = _validations(blank[KPI_SHEET])
    assert dv["E5"].type == "list" and str(dv["E5"].sqref) == "E5:E204"
    assert {contract.method_name(item) for item in _list_items(dv["E5"])} == set(METHOD_CHOICES)
    assert {contract.direction_name(item) for item in _list_items(dv["F5"])} == set(DIRECTION_CHOICES)
    assert _list_items(dv["N5"]) == list(STATUS_CHOICES)
    assert not dv["N5"].showErrorMessage, "any status text is allowed; the list only suggests"
    assert dv["E5"].showErrorMessage and dv["E5"].errorStyle in (None, "stop")
    division = _validations(blank[DIVISION_SHEET])
    assert _list_items(division["B6"]) == ["6", "9", "12"]
    assert (division["B5"].type, division["B5"].formula1, division["B5"].formula2) == (
        "whole",
        "2500",
        "2700",
    )
    realloc = _validations(blank[REALLOCATION_SHEET])
    assert realloc["A3"].type == "list" and realloc["A3"].formula1 == "KPIs!$A$5:$A$204"
    assert realloc["B3"].formula1 == "KPIs!$A$5:$A$204"


def test_weights_levels_and_results_take_numbers_only(blank: openpyxl.Workbook) -> None:
    """Custom rules, so that Thai digits typed as text pass (tests/test_template_validation.py
    calculates them); numbers keep their bounds."""
    dv = _validations(blank[KPI_SHEET])
    assert dv["D5"].type == "custom" and str(dv["D5"].sqref) == "D5:D204"
    assert "AND(D5>=0,D5<=100)" in dv["D5"].formula1 and "๒" in dv["D5"].formula1
    assert dv["G5"].type == "custom" and str(dv["G5"].sqref) == "G5:K204"
    assert dv["L5"].type == "custom" and dv["M5"].type == "custom"
    assert "C3>0" in _validations(blank[REALLOCATION_SHEET])["C3"].formula1
    assert dv["A5"].type == "custom" and "COUNTIF" in dv["A5"].formula1  # a code used twice


def test_only_input_cells_are_unlocked_and_no_sheet_has_a_password(blank: openpyxl.Workbook) -> None:
    for ws in blank.worksheets:
        assert ws.protection.sheet, ws.title
        assert not ws.protection.password, ws.title
    kpis = blank[KPI_SHEET]
    inputs = [*range(1, 16), *range(20, 24)]  # A to O, and the contact columns T to W
    assert all(not kpis.cell(r, c).protection.locked for r in (5, 204) for c in inputs)
    assert all(kpis.cell(r, c).protection.locked for r in (1, 2, 4) for c in inputs)
    assert kpis["P5"].protection.locked and kpis["P5"].protection.hidden
    division = blank[DIVISION_SHEET]
    # the division's details, then who reported and who certified the figures
    assert [division.cell(r, 2).protection.locked for r in range(3, 13)] == [False] * 10
    assert division["A3"].protection.locked and division["C3"].protection.locked
    realloc = blank[REALLOCATION_SHEET]
    assert not realloc["A3"].protection.locked and realloc["A2"].protection.locked


def test_frozen_headers_thai_font_and_hidden_helper_column(blank: openpyxl.Workbook) -> None:
    kpis = blank[KPI_SHEET]
    assert kpis.freeze_panes == "C5"
    assert blank[REALLOCATION_SHEET].freeze_panes == "A3"
    for cell in (kpis["A4"], kpis["B5"], kpis["D2"], blank[DIVISION_SHEET]["B3"]):
        assert cell.font.name == FONT
    assert kpis.column_dimensions["P"].hidden
    assert kpis["A5"].number_format == "@", "codes are text so that 2.10 stays 2.10"


def test_version_is_a_hidden_defined_name(blank: openpyxl.Workbook) -> None:
    name = blank.defined_names[contract.TEMPLATE_VERSION_NAME]
    assert name.hidden
    assert name.attr_text == str(contract.CONTRACT_VERSION)


def test_weight_check_turns_red_unless_the_top_level_is_100(blank: openpyxl.Workbook) -> None:
    kpis = blank[KPI_SHEET]
    # the weights and codes as the reader reads them (hidden columns S and R), on top-level rows (P)
    assert kpis["D2"].value == "=SUMPRODUCT($S$5:$S$204,$P$5:$P$204)"
    assert 'LEFT($R5,LEN($R$5:$R$204)+1)=$R$5:$R$204&"."' in kpis["P5"].value
    assert kpis["S5"].value.startswith("=IF(ISNUMBER($D5),") and "$A5" in kpis["Q5"].value
    rules = {
        (str(rng.sqref), rule.formula[0]): rule.dxf.fill.bgColor.rgb
        for rng in kpis.conditional_formatting
        for rule in rng.rules
    }
    assert rules == {
        ("D2:E2", "ABS($D$2-100)>0.01"): "FFFFC7CE",  # red
        ("D2:E2", "NOT(ABS($D$2-100)>0.01)"): "FFC6EFCE",  # green
    }


@pytest.mark.parametrize(
    ("total", "text"),
    [
        ("97", "ขาด 3 / 3 short"),
        ("100", "ครบ 100 / OK"),
        ("100.004", "ครบ 100 / OK"),
        ("102.5", "เกิน 2.5 / 2.5 over"),
        ("0", "ขาด 100 / 100 short"),
    ],
)
def test_weight_check_text(total: str, text: str) -> None:
    assert weight_check_text(Decimal(total)) == text


def _row(code: str, weight: str | None, **fields: Any) -> KpiRow:
    return KpiRow(
        code=code, name=f"ตัวชี้วัด {code}", weight=None if weight is None else Decimal(weight), row=0, **fields
    )


def test_cached_check_values_count_only_top_level_kpis(tmp_path: Path) -> None:
    kpis = (
        _row("1", "40"),
        _row("1.1", "4"),
        _row("1.2", "6"),
        _row("2.1", "30"),
        _row("3.1", "27", status="รายงานรอบ ๑๒ เดือน"),
        _row("4.1", None),
    )
    path = _write(tmp_path / "t.xlsx", TemplateSpec(kpis=kpis))
    ws = openpyxl.load_workbook(path, data_only=True)[KPI_SHEET]
    assert [ws.cell(r, 16).value for r in range(5, 12)] == [1, 0, 0, 1, 1, 1, 0]
    assert ws["D2"].value == 97
    assert ws["E2"].value == "ขาด 3 / 3 short"
    # Excel, LibreOffice and a script that copies cached values all see the same numbers.
    assert uncached_formulas(path.read_bytes(), KPI_SHEET) == {}


def test_prefilled_values_are_data_never_formulas(tmp_path: Path) -> None:
    hostile = '=HYPERLINK("http://example.com","x")'
    spec = TemplateSpec(
        division=hostile,
        short_name="@SUM(1)",
        fiscal_year=2564,
        round=6,
        kpis=(_row("1", "100", unit="+1", note="=1+1", method="score", direction="higher"),),
    )
    path = _write(tmp_path / "t.xlsx", spec)
    wb = openpyxl.load_workbook(path)
    division = wb[DIVISION_SHEET]
    assert (division["B3"].value, division["B3"].data_type) == (hostile, "s")
    assert (division["B4"].value, division["B4"].data_type) == ("@SUM(1)", "s")
    assert (division["B5"].value, division["B6"].value) == (2564, 6)
    kpis = wb[KPI_SHEET]
    assert (kpis["C5"].value, kpis["C5"].data_type) == ("+1", "s")
    assert (kpis["O5"].value, kpis["O5"].data_type) == ("=1+1", "s")
    assert kpis["E5"].value == METHOD_CHOICES["score"]
    assert kpis["F5"].value == DIRECTION_CHOICES["higher"]


def test_instructions_thai_first_then_english_with_a_filled_example(blank: openpyxl.Workbook) -> None:
    ws = blank[INSTRUCTIONS_SHEET]
    column_a = [ws.cell(r, 1).value for r in range(1, ws.max_row + 1)]
    thai = column_a.index("คำแนะนำ (ภาษาไทย)")
    english = column_a.index("Instructions (English)")
    assert thai < english
    header = next(r for r, v in enumerate(column_a, start=1) if v == KPI_COLUMNS[0].header)
    assert header > english
    headers = [ws.cell(header, c + 1).value for c in range(len(KPI_COLUMNS))]
    assert [contract.kpi_column(h) for h in headers] == [c.key for c in KPI_COLUMNS]
    example = [ws.cell(header + 1, c + 1).value for c in range(len(KPI_COLUMNS))]
    assert example[0] == "1.1" and example[3] == 10 and example[11] == 92.5
    assert contract.method_name(example[4]) == "threshold"
