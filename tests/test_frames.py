"""The cross-division stage as pandas frames: totals and ranks, weakest KPIs, the comparison matrix
and the trend across rounds, with every score still a ``Decimal``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLES
from helpers import kpi, write_submission

import kpibatch
from kpibatch import frames
from kpibatch.consolidate import OverviewRow, comparison_cells, consolidate, overview_rows
from kpibatch.pipeline import check_file, inbox_files
from kpibatch.score import ScoreOptions


@pytest.fixture(scope="module")
def group():
    [group] = consolidate([check_file(path, ScoreOptions()) for path in inbox_files(EXAMPLES)])
    return group


def test_division_frame_totals_ranks_and_weakest_kpi(group) -> None:
    table = frames.division_frame(group.divisions)
    assert table["total"].dtype == object and all(isinstance(t, Decimal) for t in table["total"])
    assert table["total"].tolist() == [Decimal(t) for t in ("5", "5", "4.55", "5", "4.8", "4.9")]
    assert table["rank"].tolist() == [1, 1, 6, 1, 5, 4]
    codes, scores = table["weakest_code"], table["weakest_score"]
    weakest = dict(zip(table["division"], zip(codes, scores, strict=True), strict=True))
    assert weakest["กองบริหารการคลัง"] == ("4.3", Decimal("1"))
    assert weakest["กองบริหารทรัพยากรบุคคล"] == ("2.5", Decimal("2"))
    two = frames.weakest_kpis(frames.kpi_frame(group.divisions), per_division=2)
    hr = two[two["division"] == "กองบริหารทรัพยากรบุคคล"]
    assert hr["code"].tolist() == ["2.5", "5.1"]


def test_competition_ranks_compare_the_decimals_themselves() -> None:
    """Totals a float cannot tell apart still rank apart; equal totals share a rank; none, no rank."""
    totals = pd.Series([Decimal("4.00000000000000001"), Decimal("4"), None, Decimal("5"), Decimal("5")])
    assert float(totals[0]) == float(totals[1])
    assert frames.competition_ranks(totals).tolist() == [3, 4, pd.NA, 1, 1]


def test_comparison_matrix_is_a_pivot_of_shared_kpis(group) -> None:
    kpis = frames.kpi_frame(group.divisions)
    matrix = frames.comparison_matrix(kpis)
    assert matrix.index.tolist() == [d.division for d in group.divisions]
    cells = comparison_cells(group)
    assert matrix.columns.tolist() == list(dict.fromkeys(c.key for c in cells))
    for cell in cells:
        assert matrix.at[cell.division, cell.key] == cell.score or (
            cell.score is None and matrix.at[cell.division, cell.key] is None
        )
    satisfaction = frames.kpi_key("1.1", "ร้อยละความพึงพอใจของผู้รับบริการ")
    assert matrix[satisfaction].tolist() == [Decimal(5)] * 6
    assert all(isinstance(v, Decimal) for v in matrix[satisfaction])
    # "แนวทาง แก้ไข" and "แนวทางแก้ไข": one KPI, shared by all six
    meeting = [k for k in matrix.columns if k.startswith("4.2 ")]
    assert len(meeting) == 1 and matrix[meeting[0]].notna().all()
    # a KPI that two divisions share and four do not have: NaN for the four
    assert matrix.isna().any().any()


def test_trend_across_rounds_from_the_ledger(tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    for round_, (a, b) in ((6, (2, 3)), (9, (4, 5))):
        write_submission(
            inbox / f"a{round_}.xlsx",
            [kpi("1", 100, method="score", result=a)],
            round_=round_,
            division="กองเอ",
        )
        write_submission(
            inbox / f"b{round_}.xlsx",
            [kpi("1", 100, method="score", result=b)],
            round_=round_,
            division="กองบี",
        )
        kpibatch.run(inbox, out, stability_delay=0)
    write_submission(
        inbox / "a9-again.xlsx", [kpi("1", 100, method="score", result=5)], round_=9, division="กอง เอ"
    )
    kpibatch.run(inbox, out, stability_delay=0)
    history = kpibatch.load(out / "ledger.sqlite3").divisions
    table = frames.trend(history)
    assert table.columns.tolist() == [(2563, 6), (2563, 9)]
    # the resubmission, typed with a space, is the same division (its Thai-aware key) and counts
    assert sorted(table.index) == sorted(["กอง เอ", "กองบี"])
    assert table.loc["กอง เอ"].tolist() == [Decimal(2), Decimal(5)]
    assert table.loc["กองบี"].tolist() == [Decimal(3), Decimal(5)]
    assert all(isinstance(v, Decimal) for v in table.to_numpy().ravel())


def test_division_frame_equals_the_workbook_overview_rows(group) -> None:
    """The workbook's overview (plain Python on the run path) and the division frame agree."""
    table = frames.division_frame(group.divisions)
    table["rank"] = table["rank"].astype(object).where(table["rank"].notna(), None)
    assert [OverviewRow(**row) for row in table.to_dict("records")] == overview_rows(group)


def test_a_run_does_not_import_pandas(tmp_path: Path) -> None:
    """pandas costs a run more than half a second to import: only the library, export and analysis
    load it (docs/decisions/0004-decimal-scoring-and-pandas.md)."""
    shutil.copytree(EXAMPLES, tmp_path / "in")
    args = ["run", "--inbox", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "-q"]
    code = f"import sys; from kpibatch.cli import main; print(main({args!r}), 'pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-2:] == ["0", "False"]
