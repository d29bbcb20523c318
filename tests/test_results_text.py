"""results.json's text: any group's data reads back equal, and each division sits on its own line."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

from conftest import EXAMPLES, GOLDEN
from helpers import kpi, write_submission
from hypothesis import given
from hypothesis import strategies as st

from kpibatch.config import Settings
from kpibatch.consolidate import consolidate
from kpibatch.pipeline import check_files, run_batch
from kpibatch.results import group_dict, results_chunks, write_results


def results_text(data: dict) -> str:
    """The pieces ``write_results`` writes, joined."""
    return "".join(results_chunks(data))


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
values = st.recursive(
    scalars, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20
)


@given(st.dictionaries(st.text(), values))
def test_any_document_reads_back_equal(data: dict) -> None:
    assert json.loads(results_text(data)) == data


def test_the_examples_one_division_per_line() -> None:
    [group] = consolidate(list(check_files(sorted(EXAMPLES.glob("*.xlsx")), Settings().checking)))
    data = group_dict(group, dt.datetime(2020, 10, 15))
    text = results_text(data)
    assert json.loads(text, parse_float=Decimal) == data
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and text.endswith("}\n")
    division_lines = [line for line in lines if line.startswith('    {"division": ')]
    assert [json.loads(line.rstrip(","))["division"] for line in division_lines] == [
        d["division"] for d in data["divisions"]
    ]
    assert "\\u0e" not in text


def test_results_json_holds_the_documented_schema(tmp_path: Path) -> None:
    """Every key docs/contract.md names, with the values the scorer computed."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for example in sorted(EXAMPLES.glob("*.xlsx"))[:2]:
        shutil.copy2(example, inbox / example.name)
    write_submission(inbox / "bad.xlsx", [kpi("1", 90, method="score", result=4)])
    children = [
        kpi("1", 60),
        kpi("1.1", 1, method="score", result=4),
        kpi("1.2", 1, method="score", result=2),
    ]
    write_submission(inbox / "nested.xlsx", [*children, kpi("2", 40, method="score", result=5)])
    when = dt.datetime(2020, 10, 15, 9, 30, tzinfo=dt.UTC)
    report = run_batch(sorted(inbox.glob("*.xlsx")), tmp_path / "out", Settings(), now=lambda: when)
    data = json.loads((tmp_path / "out" / "2563-r12" / "results.json").read_text(encoding="utf-8"))
    assert list(data) == ["fiscal_year", "round", "generated_at", "divisions", "superseded", "rejected"]
    assert (data["fiscal_year"], data["round"], data["generated_at"]) == (
        2563,
        12,
        "2020-10-15T09:30:00+00:00",
    )
    [output] = report.outputs
    for division, score in zip(data["divisions"], output.group.divisions, strict=True):
        assert list(division) == [
            "division", "short_name", "source_file", "sha256", "total", "warnings", "kpis", "reallocations",
            "reporter", "certifier",
        ]  # fmt: skip
        for got, kpi_score in zip(division["kpis"], score.kpis, strict=True):
            assert list(got) == [
                "code", "name", "parent", "status", "result", "verified_result", "scored", "score", "weight",
                "effective_weight", "contacts",
            ]  # fmt: skip
            assert got["parent"] == kpi_score.parent and got["code"] == kpi_score.code
            assert got["result"] == (float(kpi_score.result) if kpi_score.result is not None else None)
    nested = next(d for d in data["divisions"] if d["source_file"] == "nested.xlsx")
    assert [(k["code"], k["parent"], k["result"]) for k in nested["kpis"]] == [
        ("1", None, None),
        ("1.1", "1", 4.0),
        ("1.2", "1", 2.0),
        ("2", None, 5.0),
    ]
    assert [k["scored"] for k in nested["kpis"]] == [None, "result", "result", "result"]
    [rejected] = data["rejected"]
    assert rejected["file"] == "bad.xlsx"
    [error] = rejected["errors"]
    assert list(error) == ["sheet", "cell", "message", "code"]
    assert (error["sheet"], error["cell"], error["code"]) == ("KPIs", "D2:D2", "weight-sum")
    assert "90" in error["message"]


def test_written_in_pieces_the_file_is_the_text(tmp_path: Path) -> None:
    [group] = consolidate(list(check_files(sorted(EXAMPLES.glob("*.xlsx")), Settings().checking)))
    data = group_dict(group, dt.datetime(2020, 10, 15))
    write_results(tmp_path / "results.json", data)
    assert (tmp_path / "results.json").read_text(encoding="utf-8") == results_text(data)


def test_results_json_is_the_text_the_workers_encoded_before(tmp_path: Path) -> None:
    """results.json is encoded in the main process from the scores; for the same inputs its text is
    the file kpibatch wrote when the workers encoded each division (commit 306ab89), plus only the
    keys added since on purpose (each KPI's ``verified_result`` and ``scored``; the examples' bytes,
    hence ``sha256``, when they were rebuilt from the template): the shipped examples plus a division
    with markup-like names and warnings, a deep one and a rejected file. The file was regenerated
    after checking that, with those keys left out, it equals 306ab89's output value for value; and
    again when numbers became the scorer's Decimal digits (``4.5500``, was the float's ``4.55``), after
    checking that it reads back value for value equal to the file of floats."""
    files = [*sorted(EXAMPLES.glob("*.xlsx")), *sorted((GOLDEN / "inbox").glob("*.xlsx"))]
    when = dt.datetime(2020, 10, 15, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    report = run_batch(files, tmp_path / "out", Settings(), now=lambda: when)
    [output] = report.outputs
    expected = (GOLDEN / "results_2563_r12.json").read_text(encoding="utf-8")
    assert output.results.read_text(encoding="utf-8") == expected


def test_the_ledger_stores_each_division_as_results_json_shows_it(tmp_path: Path) -> None:
    from batchkit import results, rows, settings_for

    from kpibatch.batch.runner import run_inbox

    odd = [
        kpi("1", 60, 'ชื่อมี "อัญประกาศ" และ \\ กับ \u2028', method="score", result=4),
        kpi("2", 40, method="score", result=3),
    ]
    settings = settings_for(tmp_path / "batch")
    for path in sorted(EXAMPLES.glob("*.xlsx")):
        shutil.copy(path, settings.inbox / path.name)
    write_submission(settings.inbox / "odd.xlsx", odd, division="กอง\tแปลก")
    run_inbox(settings)
    stored = {row.file_name: json.loads(row.scores) for row in rows(settings) if row.status == "accepted"}
    shown = {d["source_file"]: d for d in results(settings.out)["divisions"]}
    assert len(shown) == 7 and stored == shown


exact_scalars = (
    st.none() | st.integers() | st.text() | st.decimals(allow_nan=False, allow_infinity=False, places=None)
)
exact_values = st.recursive(
    exact_scalars, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20
)


def _same(a: object, b: object) -> bool:
    """Equal, and each Decimal with the same digits (``4.5500`` is not ``4.55``)."""
    if isinstance(a, Decimal):
        if isinstance(b, int):  # no point, no exponent (5, -0): JSON reads an integer, of equal value
            return a == b and "." not in str(a) and "E" not in str(a)
        return isinstance(b, Decimal) and str(a) == str(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return a == b and type(a) is type(b)


@given(st.dictionaries(st.text(), exact_values))
def test_decimals_are_written_with_their_own_digits(data: dict) -> None:
    """Text that looks like the encoder's stand-ins (a NUL, digits) stays text."""
    data = {
        **data,
        "nul": "\x00 4.5 \x00",
        "total": Decimal("4.5500"),
        "big": Decimal("12345678901234567890.123"),
    }
    text = results_text(data)
    assert '"total": 4.5500' in text and '"big": 12345678901234567890.123' in text
    assert _same(data, json.loads(text, parse_float=Decimal))
