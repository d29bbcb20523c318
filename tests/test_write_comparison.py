"""The KPI comparison: comparison_cells, and the division × KPI matrix read back with openpyxl."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from helpers import kpi, write_submission
from write_helpers import examples_workbook, load, run_report

from kpibatch.config import Settings
from kpibatch.consolidate import comparison_cells, consolidate
from kpibatch.pipeline import check_files
from kpibatch.write.comparison import FIRST_ROW, HEADING_ROW, NAME, NONE_SHARED, NOT_ASSESSED

FIRST = FIRST_ROW + 1
HEADING = HEADING_ROW + 1


def key(code: str, name: str) -> tuple[str, str]:
    return code, re.sub(r"\s+", "", name)


@pytest.fixture(scope="module")
def seed_book(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load(examples_workbook(tmp_path_factory).workbook)


def shared_in(seed: list[dict]) -> dict[tuple[str, str], list[int]]:
    """(code, name without spaces) -> the seed divisions that have that KPI, when two or more do."""
    found: dict[tuple[str, str], list[int]] = {}
    for index, division in enumerate(seed):
        for k in division["kpis"]:
            found.setdefault(key(k["code"], k["name"]), []).append(index)
    return {k: v for k, v in found.items() if len(v) >= 2}


def test_comparison_cells_keep_kpis_shared_by_code_and_name(seed: list[dict]):
    outcomes = list(check_files(sorted(EXAMPLES.glob("*.xlsx")), Settings().checking))
    (group,) = consolidate(outcomes)
    cells = comparison_cells(group)
    expected = shared_in(seed)
    got = Counter(key(c.code, c.name) for c in cells)
    assert {k: len(v) for k, v in expected.items()} == dict(got)
    paper = [c for c in cells if c.code == "4.3"]
    assert sorted({c.division for c in paper}) == sorted(seed[i]["division"] for i in (0, 2, 3, 5))
    codes = [c.code for c in cells]
    assert codes == sorted(codes, key=lambda c: tuple(int(p) for p in c.split(".")))
    not_assessed = [c for c in cells if c.code == "7.1"]
    assert all(c.score is None for c in not_assessed)
    assert {c.status for c in not_assessed} == {"รายงานรอบ ๑๒ เดือน"}


def test_matrix_has_a_row_per_division_a_column_per_shared_kpi_and_a_colour_scale(
    seed_book: Any, seed: list[dict]
):
    ws = seed_book[NAME]
    expected = shared_in(seed)
    labels = [ws.cell(HEADING, c).value for c in range(2, 2 + len(expected))]
    assert [label.split()[0] for label in labels] == sorted(
        (code for code, _ in expected), key=lambda c: tuple(int(p) for p in c.split("."))
    )
    assert "2.2 ก" in labels and "2.2 ข" in labels  # two different KPIs numbered 2.2
    assert [ws.cell(FIRST + i, 1).value for i in range(6)] == [d["division"] for d in seed]
    column = {label: 2 + i for i, label in enumerate(labels)}
    satisfaction = [ws.cell(FIRST + i, column["1.1"]).value for i in range(6)]
    assert satisfaction == [5, 5, 5, 5, 5, 5]
    paper = [ws.cell(FIRST + i, column["4.3"]).value for i in range(6)]
    assert paper == [5, None, 5, 5, None, 5]
    standard = ws.cell(FIRST, column["7.1"])
    assert standard.value == NOT_ASSESSED and standard.comment.text == "รายงานรอบ ๑๒ เดือน"
    # as legible as the scores beside it: the same size, not the small grey of footnotes
    score_font = ws.cell(FIRST, column["1.1"]).font
    assert standard.font.sz == score_font.sz == 16
    assert standard.font.color == score_font.color  # the default text colour, not MUTED grey
    assert ws.cell(FIRST, column["1.1"]).number_format == "0.0000"
    rules = [(str(rng.sqref), rule.type) for rng in ws.conditional_formatting for rule in rng.rules]
    last = ws.cell(HEADING, 1 + len(expected)).column_letter
    assert rules == [(f"B{FIRST}:{last}{FIRST + 5}", "colorScale")]


def test_legend_names_each_kpi_with_mean_lowest_and_highest(tmp_path: Path):
    inbox = tmp_path / "in"
    for n, score in enumerate((2, 3, 5)):
        write_submission(
            inbox / f"{n}.xlsx",
            [
                kpi("1.1", 50, "ความพึงพอใจ", method="score", result=score),
                kpi("1.2", 50, f"เฉพาะ {n}", method="score", result=1),
            ],
            division=f"กอง {n}",
        )
    _, path = run_report(inbox, tmp_path / "out")
    ws = load(path)[NAME]
    assert ws.cell(HEADING, 2).value == "1.1" and ws.cell(HEADING, 3).value is None  # 1.2 differs by name
    legend = next(r for r in range(FIRST, ws.max_row + 1) if ws.cell(r, 1).value == "ตัวชี้วัด")
    row = [c.value for c in ws[legend + 1]]
    assert row[0] == "1.1 ความพึงพอใจ"
    numbers = [v for v in row[1:] if v is not None]
    assert numbers == [3, 3, pytest.approx(3.3333), 2, 5]


def test_no_shared_kpi_says_so(tmp_path: Path):
    write_submission(
        tmp_path / "in" / "a.xlsx", [kpi("1", 100, "หนึ่ง", method="score", result=3)], division="ก"
    )
    write_submission(
        tmp_path / "in" / "b.xlsx", [kpi("1", 100, "อื่น", method="score", result=3)], division="ข"
    )
    _, path = run_report(tmp_path / "in", tmp_path / "out")
    ws = load(path)[NAME]
    assert ws.cell(HEADING, 1).value == NONE_SHARED
