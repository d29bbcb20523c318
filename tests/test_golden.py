"""Golden test: the six shipped examples reproduce the seed summary (fiscal year 2563, 12 months).

Expected values come from tests/golden/seed_divisions_2563.json, the seed document as data; outputs are
checked by reading values back (results.json and the workbook with openpyxl), never by bytes.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from conftest import EXAMPLES, GOLDEN, ROOT

from kpibatch.config import Settings
from kpibatch.pipeline import inbox_files, run_batch

PRINTED_TOTALS = [5.0, 5.0, 4.55, 5.0, 4.8, 4.9]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("out")
    return run_batch(inbox_files(EXAMPLES), out, Settings())


def test_seed_copy_matches_shared_when_present() -> None:
    shared = ROOT.parent / "shared" / "seed_divisions_2563.json"
    if not shared.exists():
        pytest.skip("../shared is not beside this checkout")
    assert json.loads(shared.read_text(encoding="utf-8")) == json.loads(
        (GOLDEN / "seed_divisions_2563.json").read_text(encoding="utf-8")
    )


def test_six_printed_totals(report, seed) -> None:
    assert [s["printed_total"] for s in seed] == PRINTED_TOTALS
    [output] = report.outputs
    totals = {d.division: d.total for d in output.group.divisions}
    for division in seed:
        assert totals[division["division"]] == Decimal(str(division["printed_total"])).quantize(
            Decimal("0.0001")
        )
    assert report.exit_code == 0 and not report.rejected


def test_every_kpi_score_status_and_weight_as_printed(report, seed) -> None:
    [output] = report.outputs
    data = json.loads(output.results.read_text(encoding="utf-8"))
    assert (data["fiscal_year"], data["round"]) == (2563, 12)
    by_name = {d["division"]: d for d in data["divisions"]}
    for division in seed:
        got = {k["code"]: k for k in by_name[division["division"]]["kpis"]}
        assert list(got) == [k["code"] for k in division["kpis"]]
        for expected in division["kpis"]:
            kpi = got[expected["code"]]
            assert kpi["score"] == expected["score"], (division["division"], expected["code"])
            assert kpi["status"] == expected["status"]
            assert kpi["weight"] == expected["original_weight"]
            assert kpi["effective_weight"] == expected["effective_weight"], (
                division["division"],
                expected["code"],
            )
        moves = [(m["from"], m["to"], m["weight"]) for m in by_name[division["division"]]["reallocations"]]
        assert moves == [(m["from"], m["to"], m["weight"]) for m in division["reallocations"]]


def test_totals_re_add_from_the_printed_numbers(report) -> None:
    [output] = report.outputs
    for score in output.group.divisions:
        pairs = [(k.effective_weight, k.score) for k in score.top_level if k.score is not None]
        base = sum(w for w, _ in pairs)
        assert base == 100
        assert (sum(w * s for w, s in pairs) / base).quantize(Decimal("0.0001")) == score.total


def test_workbook_reads_back_with_the_totals(report, seed) -> None:
    [output] = report.outputs
    wb = openpyxl.load_workbook(output.workbook)
    found = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            labels = [
                i for i, v in enumerate(row) if isinstance(v, str) and v.startswith("คะแนนที่ได้รับตามคำรับรองฯ")
            ]
            if labels:
                found[ws.title] = next(v for v in row[labels[0] + 1 :] if isinstance(v, float | int))
    assert sorted(found.values()) == sorted(PRINTED_TOTALS)


@pytest.mark.skipif(
    shutil.which("soffice") is None and shutil.which("libreoffice") is None,
    reason="LibreOffice (soffice) is not installed here: the script recalculates the filled templates",
)
def test_examples_are_regenerated_by_the_script(tmp_path: Path) -> None:
    """The committed examples hold the same cells (formulas and their calculated values) as what
    scripts/make_examples.py builds today."""
    shared = ROOT.parent / "shared" / "seed_divisions_2563.json"
    seed = shared if shared.exists() else GOLDEN / "seed_divisions_2563.json"
    import subprocess
    import sys

    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "make_examples.py"),
            "--seed",
            str(seed),
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    for committed in sorted(EXAMPLES.glob("*.xlsx")):
        for data_only in (False, True):
            fresh = openpyxl.load_workbook(tmp_path / committed.name, data_only=data_only)
            old = openpyxl.load_workbook(committed, data_only=data_only)
            assert fresh.sheetnames == old.sheetnames
            for name in old.sheetnames:
                assert [list(r) for r in old[name].iter_rows(values_only=True)] == [
                    list(r) for r in fresh[name].iter_rows(values_only=True)
                ], (committed.name, name, data_only)
