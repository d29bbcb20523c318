"""The shipped examples walk the division's path: each is the workbook ``kpibatch template`` writes,
filled in and saved by a spreadsheet program (formulas with calculated values), not a look-alike."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from conftest import EXAMPLES

from kpibatch import contract
from kpibatch.cli import main
from kpibatch.read.formulas import uncached_formulas
from kpibatch.template.layout import KPI_CHECK_ROW, KPI_COLUMN_INDEX, KPI_HEADER_ROW, KPI_SHEET

FILES = sorted(EXAMPLES.glob("*.xlsx"))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("template") / "kpi_template.xlsx"
    assert main(["template", "--out", str(path)], out=io.StringIO()) == 0
    return openpyxl.load_workbook(path)


def test_six_examples() -> None:
    assert len(FILES) == 6


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_example_is_the_generated_template_filled_in(template: openpyxl.Workbook, path: Path) -> None:
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == template.sheetnames
    version = book.defined_names[contract.TEMPLATE_VERSION_NAME]
    assert version.attr_text == str(contract.CONTRACT_VERSION)
    kpis, blank = book[KPI_SHEET], template[KPI_SHEET]
    header = KPI_HEADER_ROW + 1
    assert [c.value for c in kpis[header]] == [c.value for c in blank[header]]
    assert len(kpis.data_validations.dataValidation) == len(blank.data_validations.dataValidation)
    assert all(ws.protection.sheet for ws in book.worksheets)
    # the check and the helper formulas are the template's, and were calculated when it was saved
    check = KPI_CHECK_ROW + 1, KPI_COLUMN_INDEX["weight"] + 1
    assert kpis.cell(*check).value == blank.cell(*check).value
    for sheet in book.sheetnames:
        assert uncached_formulas(path.read_bytes(), sheet) == {}, sheet
    values = openpyxl.load_workbook(path, data_only=True)[KPI_SHEET]
    assert (values.cell(*check).value, values.cell(check[0], check[1] + 1).value) == (100, "ครบ 100 / OK")
    # typed, not generated: the committee's column is left blank, as a division leaves it
    verified = KPI_COLUMN_INDEX["verified_result"] + 1
    assert all(values.cell(r, verified).value is None for r in range(header + 1, values.max_row + 1))
