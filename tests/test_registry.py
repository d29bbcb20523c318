"""The division registry (issue 16 item 1): parsing, Thai-aware matching, its own check, and what a
run does with a division it does not list."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from helpers import simple_kpis, write_submission

from kpibatch.config import Settings, load_settings
from kpibatch.pipeline import run_batch
from kpibatch.registry import expected_names, load_registry, parse_toml

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = """
[[division]]
name = "กองบริหารการคลัง"
short_name = "กบค."
aliases = ["กองคลัง ๒"]
reporter = ["report@finance.example.go.th"]
head = ["Head <head@finance.example.go.th>"]

[[division]]
name = "กองทดสอบระบบ"
reporter = ["tester@example.go.th"]
"""


def test_a_name_matches_after_thai_aware_normalisation_or_by_alias_or_short_name() -> None:
    registry = parse_toml(REGISTRY, "divisions.toml")
    assert not registry.problems
    finance = registry.divisions[0]
    # SARA AM typed as NIKHAHIT + SARA AA, a zero-width space, extra spaces
    assert registry.match("กองบริหารการคล\u0e31ง") is finance
    assert registry.match(" กอง\u200bบริหาร การคลัง ") is finance
    assert registry.match("กองคลัง 2") is finance  # alias, Arabic digit for the Thai one
    assert registry.match("กบค.") is finance
    assert registry.match("กองอื่น") is None
    assert finance.contacts == ("report@finance.example.go.th", "head@finance.example.go.th")
    assert registry.match("ก\u0e4d\u0e32") is None  # no division is "กำ"
    weird = parse_toml('[[division]]\nname = "กองน\u0e4d\u0e32ทาง"\n', "x.toml")
    assert weird.match("กองนำทาง") is weird.divisions[0]


def test_registry_check_names_the_line_of_each_problem() -> None:
    text = """[[division]]
name = "กองเอ"
aliases = ["กองบี"]
reporter = ["not-an-address"]

[[division]]
name = "กองบี"
head = ["ok@example.go.th", "bad@@example.go.th"]

[[division]]
short_name = "ไม่มีชื่อ"
"""
    registry = parse_toml(text, "divisions.toml")
    found = {(p.code, p.where) for p in registry.problems}
    assert found == {
        ("registry-bad-email", "line 4"),
        ("registry-duplicate-name", "line 7"),  # the name line of the second
        ("registry-bad-email", "line 8"),
        ("registry-name-missing", "line 10"),
    }
    messages = " ".join(p.message for p in registry.problems)
    assert "ไม่ใช่ที่อยู่อีเมล" in messages and "is not an e-mail address" in messages
    assert "ซ้ำกับ" in messages and "is also used by" in messages
    assert registry.divisions[1].head == ("ok@example.go.th",)  # a bad address is never kept


def test_an_xlsx_registry_names_the_cell(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["name", "short_name", "aliases", "reporter", "head"])
    ws.append(["กองเอ", "กอ.", "กองเอเดิม; กองเอใหม่", "a@example.go.th", "h@example.go.th"])
    ws.append(["กองบี", "", "กองเอใหม่", "b@example", ""])
    path = tmp_path / "divisions.xlsx"
    wb.save(path)
    registry = load_registry(path)
    assert registry.divisions[0].aliases == ("กองเอเดิม", "กองเอใหม่")
    assert {(p.code, p.where) for p in registry.problems} == {
        ("registry-duplicate-name", "C3"),
        ("registry-bad-email", "D3"),
    }


def test_divisions_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kpibatch.cli import main

    assert main(["divisions", "check", "--registry", str(ROOT / "deploy/divisions.toml.example")]) == 0
    assert "the registry is sound: 7 divisions" in capsys.readouterr().out
    bad = tmp_path / "divisions.toml"
    bad.write_text('[[division]]\nname = "กองเอ"\nreporter = ["x"]\n', encoding="utf-8")
    assert main(["divisions", "check", "--registry", str(bad)]) == 3
    out = capsys.readouterr().out
    assert "divisions.toml › line 3" in out and "not an e-mail address" in out
    assert main(["divisions", "check", "--registry", str(tmp_path / "absent.toml")]) == 2


def test_registry_path_from_toml_and_environment(tmp_path: Path) -> None:
    # strict_divisions is a top-level key: in TOML it comes before the first table
    (tmp_path / "k.toml").write_text(
        'strict_divisions = true\n[divisions]\nregistry = "d.toml"\n', encoding="utf-8"
    )
    settings = load_settings(tmp_path / "k.toml", environ={})
    assert settings.divisions_registry == Path("d.toml") and settings.strict_divisions is True
    env = load_settings(environ={"KPIBATCH_DIVISIONS_REGISTRY": "e.toml"}, cwd=tmp_path)
    assert env.divisions_registry == Path("e.toml")


@pytest.fixture
def inbox(tmp_path: Path) -> tuple[list[Path], Path]:
    registry = tmp_path / "divisions.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    kpis = simple_kpis({"1": 5}, {"1": 100})
    known = write_submission(tmp_path / "in" / "known.xlsx", kpis, division="กองคลัง ๒")
    rows = [("fiscal_year", 2563), ("round", 12), ("division", "กองที่ไม่มีในทะเบียน")]
    unknown = write_submission(tmp_path / "in" / "unknown.xlsx", kpis, division_rows=rows)
    return [known, unknown], registry


def test_an_unknown_division_is_a_warning_naming_its_cell(inbox, tmp_path: Path) -> None:
    files, registry = inbox
    settings = replace(Settings(), divisions_registry=registry, jobs=1)
    report = run_batch(files, tmp_path / "out", settings)
    known, unknown = report.outcomes
    assert known.accepted and not known.problems
    assert unknown.accepted
    [problem] = unknown.problems
    assert problem.code == "division-unknown" and problem.severity == "warning"
    assert (problem.file, problem.sheet, problem.cell) == ("unknown.xlsx", "Division", "B3")
    assert "ไม่พบหน่วยงาน" in problem.message_th and "not in the division registry" in problem.message_en


def test_with_strict_divisions_an_unknown_division_is_rejected(inbox, tmp_path: Path) -> None:
    files, registry = inbox
    settings = replace(Settings(), divisions_registry=registry, strict_divisions=True, jobs=1)
    report = run_batch(files, tmp_path / "out", settings)
    assert [o.accepted for o in report.outcomes] == [True, False]
    [problem] = report.outcomes[1].errors
    assert problem.code == "division-unknown-rejected" and problem.cell == "B3"
    assert [d.division for d in report.outputs[0].group.divisions] == ["กองคลัง ๒"]


def test_registry_replaces_expected_divisions_which_still_works_with_a_note(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = replace(Settings(), expected_divisions=("กองเอ", "กองบี"))
    with caplog.at_level(logging.WARNING, logger="kpibatch.registry"):
        assert expected_names(old.divisions) == ("กองเอ", "กองบี")
    assert "deprecated" in caplog.text and "เลิกใช้" in caplog.text
    registry = tmp_path / "divisions.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    new = replace(old, divisions_registry=registry)
    # a division that submitted under its alias is listed under that name, so it is not missing
    assert expected_names(new.divisions, ["กองคลัง 2"]) == ("กองคลัง 2", "กองทดสอบระบบ")
