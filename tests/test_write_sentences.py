"""The Thai reallocation sentences rendered from the package's jinja2 template."""

from __future__ import annotations

from pathlib import Path

from helpers import kpi, write_submission

from kpibatch.read import read_submission
from kpibatch.text import to_thai_digits
from kpibatch.write.sentences import reallocation_sentences

KPIS = [
    kpi("1", 40, "หนึ่ง", method="score", result=4),
    kpi("2", 30, "สอง", method="score", result=4),
    kpi("3", 20, "สาม", method="score", result=4),
    kpi("4", 10, "สี่", status="สำรวจปีละ ๑ ครั้ง"),
]


def sentences(tmp_path: Path, moves: list[dict], **kwargs: object) -> list[str]:
    path = write_submission(tmp_path / "s.xlsx", KPIS, reallocations=moves)
    read = read_submission(path)
    assert read.ok, read.problems
    return reallocation_sentences(read.submission, **kwargs)  # type: ignore[arg-type]


def test_a_move_over_three_kpis_is_one_sentence(tmp_path: Path):
    moves = [{"from": "4", "to": t, "weight": w} for t, w in (("1", 5), ("2", 2.5), ("3", 2.5))]
    assert sentences(tmp_path, moves) == [
        "ตัวชี้วัด ข้อ 4 สี่ จะนำน้ำหนัก 10 ใส่ไว้ในข้อ 1 หนึ่ง (5) นำไปใส่ไว้ในข้อ 2 สอง (2.5) และนำไปใส่ไว้ในข้อ 3 สาม (2.5)"
    ]


def test_rows_with_the_same_source_and_target_add_up(tmp_path: Path):
    moves = [{"from": "4", "to": "1", "weight": 4}, {"from": "4", "to": "1", "weight": 6}]
    assert sentences(tmp_path, moves) == ["ตัวชี้วัด ข้อ 4 สี่ จะนำน้ำหนัก 10 ใส่ไว้ในข้อ 1 หนึ่ง"]


def test_codes_and_weights_in_thai_digits_names_as_typed(tmp_path: Path):
    moves = [{"from": "4", "to": "2", "weight": 10}]
    assert sentences(tmp_path, moves, digits=to_thai_digits) == ["ตัวชี้วัด ข้อ ๔ สี่ จะนำน้ำหนัก ๑๐ ใส่ไว้ในข้อ ๒ สอง"]


def test_no_reallocation_no_sentence(tmp_path: Path):
    assert sentences(tmp_path, []) == []
