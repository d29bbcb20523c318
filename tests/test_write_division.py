"""Division sheets read back with openpyxl: the seed document's six summaries number for number,
the reallocation sentences, the planning officer's columns, natural order and verified results."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from helpers import KPI_COLUMNS, kpi, write_submission
from write_helpers import examples_workbook, load, rows, run_report, squash

from kpibatch.write.division import FIRST_KPI_ROW, HEADINGS

SEED_TITLE = "สรุปผลคะแนน ตามคำรับรองการปฏิบัติราชการ ประจำปีงบประมาณ พ.ศ. 2563 รอบ 12 เดือน"
SEED_TOTAL = "คะแนนที่ได้รับตามคำรับรองฯ ประจำปีงบประมาณ พ.ศ. 2563"
FIRST = FIRST_KPI_ROW + 1  # openpyxl counts rows from 1


@pytest.fixture(scope="module")
def seed_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    path = examples_workbook(tmp_path_factory).workbook
    return load(path), path


def division_sheet(book: Any, index: int) -> Any:
    return book.worksheets[1 + index]  # the overview comes first


@pytest.mark.parametrize("index", range(6))
def test_division_sheet_reproduces_the_seed_summary(
    seed_book: tuple[Any, Path], seed: list[dict], index: int
):
    book, _ = seed_book
    golden = seed[index]
    ws = division_sheet(book, index)
    assert squash(ws["A1"].value) == SEED_TITLE
    assert (ws["A3"].value, ws["B3"].value) == ("ตัวชี้วัด", golden["division"])
    assert (ws["B4"].value, ws["C4"].value, ws["D4"].value) == ("รายละเอียดตัวชี้วัด", "คะแนนที่ทำได้", "น้ำหนัก")

    body = rows(ws, FIRST, FIRST + len(golden["kpis"]) - 1, 4)
    assert [r[0] for r in body] == [k["code"] for k in golden["kpis"]]
    for (code, name, score, weight), expected in zip(body, golden["kpis"], strict=True):
        assert name == expected["name"], code
        if expected["status"] is not None:
            assert (score, weight) == (expected["status"], None), code
        else:
            assert (score, weight) == (expected["score"], expected["effective_weight"]), code
            assert isinstance(score, (int, float)), code

    total = FIRST + len(golden["kpis"])
    assert squash(ws.cell(total, 1).value) == SEED_TOTAL
    assert ws.cell(total, 3).value == golden["printed_total"]
    assert ws.cell(total, 4).value == 100
    assert ws.cell(total, 3).number_format == "0.0000"
    assert ws.cell(FIRST, 3).number_format == "0.0000"
    assert f"A{total}:B{total}" in {str(r) for r in ws.merged_cells.ranges}


# ``ตัวชี้วัด ข้อ 2.4 <name> จะนำน้ำหนัก 10 ใส่ไว้ในข้อ 2.2 <name> (5) และนำไปใส่ไว้ในข้อ 2.3 <name> (5)``;
# one of the seed's divisions reads จะนำหน้าหลัก, a typo of the original for จะนำน้ำหนัก.
NOTE = re.compile(
    r"^ตัวชี้วัด ข้อ (?P<source>[\d.]+) (?P<name>.*?) ?"
    r"จะนำ(?:น้ำหนัก|หน้าหลัก) (?P<total>[\d.]+) ใส่ไว้ในข้อ (?P<rest>.*)$"
)
TARGET = re.compile(r"^(?P<code>[\d.]+) (?P<name>.*?)(?: \((?P<weight>[\d.]+)\))?$")


def parse_note(note: str) -> tuple[str, str, str, list[tuple[str, str, str | None]]]:
    match = NOTE.match(note)
    assert match, note
    targets = []
    for part in match["rest"].split(" และนำไปใส่ไว้ในข้อ "):
        target = TARGET.match(part.strip())
        assert target, part
        targets.append((target["code"], target["name"], target["weight"]))
    return match["source"], match["name"], match["total"], targets


def sentence(source: str, total: str, targets: list[tuple[str, str | None]], names: dict[str, str]) -> str:
    """The seed's wording, written out here independently of the package's template."""
    text = (
        f"ตัวชี้วัด ข้อ {source} {names[source]} จะนำน้ำหนัก {total} ใส่ไว้ในข้อ {targets[0][0]} {names[targets[0][0]]}"
    )
    if len(targets) > 1:
        text += f" ({targets[0][1]})"
        text += "".join(f" และนำไปใส่ไว้ในข้อ {code} {names[code]} ({weight})" for code, weight in targets[1:])
    return text


def no_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_reallocation_sentences_follow_the_seed_for_all_six_divisions(
    seed_book: tuple[Any, Path], seed: list[dict]
):
    book, _ = seed_book
    exact = 0
    for index, golden in enumerate(seed):
        ws = division_sheet(book, index)
        names = {k["code"]: k["name"] for k in golden["kpis"]}
        first = FIRST + len(golden["kpis"]) + 2  # the total row, then a blank row
        written = [ws.cell(first + i, 1).value for i in range(len(golden["notes_th"]))]
        assert ws.cell(first + len(golden["notes_th"]), 1).value is None, golden["division"]
        for note, cell in zip(golden["notes_th"], written, strict=True):
            source, source_name, total, targets = parse_note(note)
            expected = sentence(source, total, [(code, weight) for code, _, weight in targets], names)
            assert cell == expected, golden["division"]
            # where the seed's sentence names the KPIs as the table does, it is ours to the letter
            named_alike = no_space(source_name) == no_space(names[source]) and all(
                no_space(name) == no_space(names[code]) for code, name, _ in targets
            )
            if named_alike:
                assert no_space(cell) == no_space(note.replace("จะนำหน้าหลัก", "จะนำน้ำหนัก"))
                exact += 1
    assert exact >= 3


def test_the_split_move_of_the_hr_division_is_one_sentence(seed_book: tuple[Any, Path], seed: list[dict]):
    book, _ = seed_book
    index = next(i for i, d in enumerate(seed) if d["division"] == "กองบริหารทรัพยากรบุคคล")
    ws = division_sheet(book, index)
    first = FIRST + len(seed[index]["kpis"]) + 2
    text = ws.cell(first, 1).value
    assert text.startswith("ตัวชี้วัด ข้อ 2.4 ระดับคะแนนในการสำรวจความผูกพันของบุคลากรที่มีต่อองค์กร จะนำน้ำหนัก 10")
    assert " (5) และนำไปใส่ไว้ในข้อ 2.3 " in text and text.endswith("(5)")
    assert ws.cell(first + 1, 1).value.startswith("ตัวชี้วัด ข้อ 7.1 ")


def test_planning_officer_columns_show_what_each_score_came_from(
    seed_book: tuple[Any, Path], seed: list[dict]
):
    book, _ = seed_book
    index = next(i for i, d in enumerate(seed) if d["division"] == "กองบริหารทรัพยากรบุคคล")
    ws = division_sheet(book, index)
    headings = {ws.cell(4, c).value: c for c in range(5, ws.max_column + 1)}
    for key in ("result", "unit", "method", "level1", "level5", "original_weight", "weighted", "warnings"):
        assert HEADINGS[key] in headings, key
    row = FIRST + [k["code"] for k in seed[index]["kpis"]].index("2.5")
    # 2.5 scored 2 on a milestone; 2.2 received 5 of 2.4's weight (5 -> 10)
    assert ws.cell(row, headings[HEADINGS["result"]]).value == 2
    assert ws.cell(row, headings[HEADINGS["method"]]).value == "ระดับขั้น"
    assert ws.cell(row, headings[HEADINGS["weighted"]]).value == pytest.approx(0.1)
    row_22 = FIRST + [k["code"] for k in seed[index]["kpis"]].index("2.2")
    assert ws.cell(row_22, 4).value == 10
    assert ws.cell(row_22, headings[HEADINGS["original_weight"]]).value == 5
    total = FIRST + len(seed[index]["kpis"])
    assert ws.cell(total, headings[HEADINGS["weighted"]]).value == pytest.approx(4.55)
    assert ws.cell(total, headings[HEADINGS["original_weight"]]).value == 100
    # the officer's columns are outside the print area, which is the summary alone
    assert ws.print_area.endswith(f"$A$1:$D${total + 1 + len(seed[index]['notes_th'])}")


def test_kpis_in_natural_order_children_indented_and_warnings_shown(tmp_path: Path):
    kpis = [
        kpi("2.10", 10, "สิบ", method="score", result=3),
        kpi("2.9", 10, "เก้า", method="score", result=4),
        kpi("2.1", 30, "หนึ่ง", method="score"),  # no result: scores 0 with a warning
        kpi("15", 50, "หลัก"),
        kpi("15.1", 1, "ย่อย", method="score", result=5),
        kpi("15.1.2", 1, "ย่อยย่อย 2", method="score", result=4),
        kpi("15.1.1", 1, "ย่อยย่อย 1", method="score", result=2),
        kpi("15.2", 1, "ย่อย 2", method="score", result=1),
    ]
    write_submission(tmp_path / "in" / "a.xlsx", kpis, division="กองทดสอบลำดับ", short_name="ทดสอบ")
    _, path = run_report(tmp_path / "in", tmp_path / "out")
    ws = load(path)["ทดสอบ"]
    body = rows(ws, FIRST, FIRST + len(kpis) - 1, 3)
    assert [r[0] for r in body] == ["2.1", "2.9", "2.10", "15", "15.1", "15.1.1", "15.1.2", "15.2"]
    indents = [ws.cell(FIRST + i, 2).alignment.indent for i in range(len(kpis))]
    assert indents == [0, 0, 0, 0, 1, 2, 2, 1]
    assert ws.cell(FIRST + 3, 2).font.b  # a parent is bold
    # 15.1 = (2*1 + 4*1) / 2 = 3; 15 = (3*1 + 1*1) / 2 = 2
    assert (ws.cell(FIRST + 4, 3).value, ws.cell(FIRST + 3, 3).value) == (3, 2)
    warnings_col = next(c for c in range(5, ws.max_column + 1) if ws.cell(4, c).value == HEADINGS["warnings"])
    assert "ไม่ได้รายงานผล" in ws.cell(FIRST, warnings_col).value
    weighted_col = next(c for c in range(5, ws.max_column + 1) if ws.cell(4, c).value == HEADINGS["weighted"])
    assert ws.cell(FIRST + 4, weighted_col).value is None  # sub-KPIs carry no share of the total


def test_verified_results_show_the_self_assessed_score_beside_the_verified_one(tmp_path: Path):
    columns = (*KPI_COLUMNS, "verified_result")
    kpis = [
        kpi("1.1", 60, "ความพึงพอใจ", method="score", result=5, verified_result=4),
        kpi("1.2", 40, "ความสำเร็จ", method="score", result=3),
    ]
    write_submission(tmp_path / "in" / "v.xlsx", kpis, short_name="ตรวจ", columns=columns)
    write_submission(
        tmp_path / "in" / "w.xlsx",
        [*kpis[1:], kpi("1.3", 60, "อื่น", method="score", result=2)],
        division="กองไม่มีผลตรวจ",
        short_name="ไม่ตรวจ",
    )
    _, path = run_report(tmp_path / "in", tmp_path / "out")
    book = load(path)
    ws = book["ตรวจ"]
    assert [ws.cell(4, c).value for c in range(2, 6)] == [
        "รายละเอียดตัวชี้วัด",
        "คะแนนที่ทำได้",
        HEADINGS["self_score"],
        "น้ำหนัก",
    ]
    assert rows(ws, FIRST, FIRST + 1, 5) == [
        ("1.1", "ความพึงพอใจ", 4, 5, 60),
        ("1.2", "ความสำเร็จ", 3, None, 40),
    ]
    assert ws.cell(FIRST, 4).number_format == "0.0000"
    results = {ws.cell(4, c).value: ws.cell(FIRST, c).value for c in range(6, ws.max_column + 1)}
    assert (results[HEADINGS["verified_result"]], results[HEADINGS["self_result"]]) == (4, 5)
    assert ws.print_area.split("!")[1].startswith("$A$1:$E$")
    other = book["ไม่ตรวจ"]
    assert HEADINGS["self_score"] not in [other.cell(4, c).value for c in range(1, other.max_column + 1)]


def test_thai_digits_are_a_number_format_and_the_cells_stay_numeric(tmp_path: Path):
    shutil.copytree(EXAMPLES, tmp_path / "in")
    _, path = run_report(tmp_path / "in", tmp_path / "out", thai_digits=True)
    book = load(path)
    ws = book.worksheets[1]
    assert squash(ws["A1"].value) == "สรุปผลคะแนน ตามคำรับรองการปฏิบัติราชการ ประจำปีงบประมาณ พ.ศ. ๒๕๖๓ รอบ ๑๒ เดือน"
    assert ws.cell(FIRST, 1).value == "๑.๑"
    assert ws.cell(FIRST, 3).value == 5 and ws.cell(FIRST, 3).data_type == "n"
    assert ws.cell(FIRST, 3).number_format == "[$-D00041E]0.0000"
    assert ws.cell(FIRST, 4).number_format == "[$-D00041E]#,##0"
    sentence = ws.cell(FIRST + 21 + 2, 1).value
    assert sentence.startswith("ตัวชี้วัด ข้อ ๒.๑ ระดับความสำเร็จในการจัดทำแผนต้นทุนต่อหน่วย จะนำน้ำหนัก ๕ ใส่ไว้ในข้อ ๒.๕ ")
    overview = book.worksheets[0]
    numeric = [c for row in overview.iter_rows() for c in row if c.data_type == "n" and c.value is not None]
    assert numeric and all(c.number_format.startswith("[$-D00041E]") for c in numeric)
