"""The overview sheet read back: the table of divisions, the native bar chart, the colour scale and
the footer naming every source file with its SHA-256."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import kpi, write_submission
from write_helpers import (
    GENERATED_AT,
    examples_workbook,
    load,
    run_report,
    sheet_xml,
    squash,
    zip_names,
    zip_text,
)

from kpibatch.write.overview import (
    CHART_SHEET,
    FIRST_ROW,
    NAME,
    STATUS_REJECTED,
    STATUS_SUPERSEDED,
    STATUS_USED,
)

FIRST = FIRST_ROW + 1


@pytest.fixture(scope="module")
def seed_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Path]:
    examples = examples_workbook(tmp_path_factory)
    return load(examples.workbook), examples.workbook, examples.inbox


def test_overview_is_the_first_sheet_with_year_and_round_in_its_title(seed_report: tuple[Any, Path, Path]):
    book, _, _ = seed_report
    ws = book.worksheets[0]
    assert ws.title == NAME
    assert "ประจำปีงบประมาณ พ.ศ. 2563 รอบ 12 เดือน" in squash(ws["A1"].value)
    assert squash(ws["A2"].value).startswith("หน่วยงาน 6 แห่ง")


def test_overview_table_has_totals_ranks_counts_and_weakest_kpi(
    seed_report: tuple[Any, Path, Path], seed: list[dict]
):
    book, _, _ = seed_report
    ws = book.worksheets[0]
    table = [tuple(c.value for c in row) for row in ws.iter_rows(min_row=FIRST, max_row=FIRST + 5, max_col=8)]
    assert [r[0] for r in table] == [d["division"] for d in seed]
    assert [r[1] for r in table] == [d["printed_total"] for d in seed]
    # ties share a rank (1, 1, 1) and the next rank skips: 5.0 x3, 4.9, 4.8, 4.55
    assert [r[2] for r in table] == [1, 1, 6, 1, 5, 4]
    for row, golden in zip(table, seed, strict=True):
        top = golden["kpis"]
        assert row[3] == sum(1 for k in top if k["status"] is None)
        assert row[4] == sum(1 for k in top if k["status"] is not None)
    finance = table[4]
    assert finance[5].startswith("4.3 ร้อยละความสำเร็จในการเบิกจ่ายงบประมาณ") and finance[6] == 1
    assert ws.cell(FIRST, 2).number_format == "0.0000"
    assert ws.freeze_panes == f"A{FIRST}"


def test_weakest_kpi_says_every_kpi_scored_5_when_none_is_weaker(seed_report: tuple[Any, Path, Path]):
    book, _, _ = seed_report
    ws = book.worksheets[0]
    table = [tuple(c.value for c in row) for row in ws.iter_rows(min_row=FIRST, max_row=FIRST + 5, max_col=8)]
    # the secretariat, the assessment division and the bankruptcy division scored 5 on every KPI
    for row in (table[0], table[1], table[3]):
        assert row[5] == "ทุกตัวชี้วัดได้ 5 คะแนน" and row[6] == 5, row
    assert table[2][5].startswith("2.5 ")  # a division with a weakest KPI still names it


def test_overview_has_a_native_bar_chart_of_the_totals(seed_report: tuple[Any, Path, Path]):
    _, path, _ = seed_report
    charts = [n for n in zip_names(path) if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
    assert len(charts) == 1
    chart = zip_text(path, charts[0])
    assert '<c:barDir val="bar"/>' in chart
    assert f"<c:f>{NAME}!$B${FIRST}:$B${FIRST + 5}</c:f>" in chart  # the totals
    assert f"<c:f>{NAME}!$A${FIRST}:$A${FIRST + 5}</c:f>" in chart  # the divisions
    # on a chart sheet of its own, so it prints on a page of its own (not under the table's headings)
    assert "<drawing " in sheet_xml(path, CHART_SHEET) and "<drawing " not in sheet_xml(path, NAME)


def test_totals_have_a_colour_scale(seed_report: tuple[Any, Path, Path]):
    book, _, _ = seed_report
    ws = book.worksheets[0]
    rules = [(str(rng.sqref), rule) for rng in ws.conditional_formatting for rule in rng.rules]
    assert [(ref, rule.type) for ref, rule in rules] == [(f"B{FIRST}:B{FIRST + 5}", "colorScale")]
    assert [float(v.val) for v in rules[0][1].colorScale.cfvo] == [1, 3, 5]


def test_footer_names_every_source_file_with_its_sha256(seed_report: tuple[Any, Path, Path]):
    book, _, inbox = seed_report
    ws = book.worksheets[0]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("2020-10-15T09:30:00+07:00" in t and "15 ตุลาคม 2563 เวลา 09:30 น." in t for t in texts)
    cells = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row}
    for path in sorted(inbox.glob("*.xlsx")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        row = next(r for (r, col), v in cells.items() if col == 1 and v == path.name)
        assert cells[(row, 2)] == STATUS_USED
        assert cells[(row, 4)] == digest


def test_footer_lists_superseded_and_rejected_files_too(tmp_path: Path):
    inbox = tmp_path / "in"
    old = write_submission(
        inbox / "a_old.xlsx", [kpi("1", 100, method="score", result=3)], division="กองเดียว"
    )
    new = write_submission(
        inbox / "b_new.xlsx", [kpi("1", 100, method="score", result=4)], division="กองเดียว"
    )
    os.utime(old, (1_600_000_000, 1_600_000_000))
    os.utime(new, (1_600_000_100, 1_600_000_100))
    bad = write_submission(inbox / "c_bad.xlsx", [kpi("1", 90, method="score", result=4)], division="กองผิด")
    _, path = run_report(inbox, tmp_path / "out")
    ws = load(path).worksheets[0]
    cells = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row}
    status = {v: cells[(r, 2)] for (r, col), v in cells.items() if col == 1 and str(v).endswith(".xlsx")}
    assert status == {
        "a_old.xlsx": STATUS_SUPERSEDED,
        "b_new.xlsx": STATUS_USED,
        "c_bad.xlsx": STATUS_REJECTED,
    }
    row = next(r for (r, col), v in cells.items() if col == 1 and v == "c_bad.xlsx")
    assert cells[(row, 4)] == hashlib.sha256(bad.read_bytes()).hexdigest()
    assert squash(ws["A2"].value).startswith(
        "หน่วยงาน 1 แห่ง · ไฟล์ที่ได้รับ 3 ไฟล์ · ไม่ผ่านการตรวจ 1 ไฟล์ · ถูกแทนที่ 1 ไฟล์"
    )


def test_generated_time_is_the_run_time(seed_report: tuple[Any, Path, Path]):
    book, _, _ = seed_report
    assert book.properties.created.replace(tzinfo=None) == GENERATED_AT.replace(tzinfo=None)


def test_a_division_with_nothing_assessed_has_no_total_rank_or_weakest_kpi(tmp_path: Path):
    inbox = tmp_path / "in"
    write_submission(inbox / "a.xlsx", [kpi("1", 100, "หนึ่ง", status="ไม่ประเมิน")], division="กองว่าง")
    write_submission(inbox / "b.xlsx", [kpi("1", 100, "หนึ่ง", method="score", result=3)], division="กองปกติ")
    _, path = run_report(inbox, tmp_path / "out")
    ws = load(path).worksheets[0]
    table = [tuple(c.value for c in row) for row in ws.iter_rows(min_row=FIRST, max_row=FIRST + 1, max_col=7)]
    assert table == [
        ("กองว่าง", "-", "-", 0, 1, None, None),
        ("กองปกติ", 3, 1, 1, 0, "1 หนึ่ง", 3),
    ]
