"""A division's scores end to end from a real workbook: hierarchy, composites, reallocation, warnings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from helpers import Percent, kpi, write_submission
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpibatch.model import KpiRow, Reallocation, SourceFile, Submission
from kpibatch.pipeline import check_file
from kpibatch.score import ScoreOptions, score_division


def scores_of(path: Path) -> dict[str, object]:
    outcome = check_file(path, ScoreOptions())
    assert outcome.accepted, [p.render() for p in outcome.problems]
    assert outcome.score is not None
    return {k.code: k for k in outcome.score.kpis} | {"total": outcome.score.total}


def kpi15(tmp_path: Path, **overrides: object) -> Path:
    """KPI 15 of the manual: 15.1 (12: 15.1.1 8, 15.1.2 2, 15.1.3 2), 15.2 (4), 15.3 (4: 1/1/2)."""
    rows = [
        kpi("7", 80, method="threshold", level1=74, level2=77, level3=80, level4=83, level5=86, result=86),
        kpi("15", 20),
        kpi("15.1", 12),
        kpi("15.1.1", 8, level1=60, level2=70, level3=80, level4=90, level5=100, result=85),
        kpi("15.1.2", 2, method="milestone", result=4),
        kpi("15.1.3", 2, level1=60, level2=70, level3=80, level4=90, level5=100, result=Percent(0.95)),
        kpi("15.2", 4, method="score", result="๓.๕"),
        kpi("15.3", 4),
        kpi("15.3.1", 1, level1=3, level2=6, level3=9, level4=12, level5=15, result=15),
        kpi("15.3.2", 1, level1=3, level2=4, level3=5, level4=6, level5=7, result=6),
        kpi("15.3.3", 2, level1=0, level2="-", level3=1, level4="-", level5=2, result=1),
    ]
    for row in rows:
        row.update(overrides.get(row["code"], {}))  # type: ignore[arg-type]
    return write_submission(tmp_path / "kpi15.xlsx", rows)


def test_composite_kpi15_is_the_weighted_mean_of_its_children(tmp_path: Path) -> None:
    got = scores_of(kpi15(tmp_path))
    assert got["15.1.1"].score == Decimal("3.5000")
    assert got["15.1.2"].score == Decimal("4.0000")
    assert got["15.1.3"].score == Decimal("4.5000")
    # Σ W·SM / Σ W with the children's weights: (8·3.5 + 2·4 + 2·4.5) / 12
    assert got["15.1"].score == Decimal("3.7500")
    assert got["15.2"].score == Decimal("3.5000")  # "๓.๕" typed in Thai digits
    assert [got[c].score for c in ("15.3.1", "15.3.2", "15.3.3")] == [5, 4, 3]
    assert got["15.3"].score == Decimal("3.7500")  # (1·5 + 1·4 + 2·3) / 4
    assert got["15"].score == Decimal("3.7000")  # (12·3.75 + 4·3.5 + 4·3.75) / 20
    assert got["total"] == Decimal("4.7400")  # (80·5 + 20·3.7) / 100


def test_rounded_scores_feed_parents(tmp_path: Path) -> None:
    rows = [
        kpi("1", 100),
        kpi("1.1", 1, level1=74, level2=77, level3=80, level4=83, level5=86, result=84),  # 4.3333
        kpi("1.2", 1, level1=74, level2=77, level3=80, level4=83, level5=86, result=85),  # 4.6667
        kpi("1.3", 1, level1=74, level2=77, level3=80, level4=83, level5=86, result=84),  # 4.3333
    ]
    got = scores_of(write_submission(tmp_path / "r.xlsx", rows))
    # from rounded children: (4.3333 + 4.6667 + 4.3333) / 3 = 4.44443.. -> 4.4444
    assert got["1"].score == Decimal("4.4444")
    assert got["total"] == Decimal("4.4444")


def test_reallocation_moves_weight_and_total_uses_effective_weights(tmp_path: Path) -> None:
    rows = [
        kpi("1.1", 50, method="score", result=5),
        kpi("1.2", 30, method="score", result=2),
        kpi("1.3", 20, status="รายงานรอบ ๑๒ เดือน"),
    ]
    path = write_submission(
        tmp_path / "m.xlsx", rows, reallocations=[{"from": "1.3", "to": "1.2", "weight": 20}]
    )
    got = scores_of(path)
    assert got["1.2"].effective_weight == Decimal(50)
    assert got["1.3"].effective_weight is None and got["1.3"].score is None
    assert got["1.3"].status == "รายงานรอบ ๑๒ เดือน"
    assert got["total"] == Decimal("3.5000")


def test_unallocated_weight_drops_out_with_a_warning(tmp_path: Path) -> None:
    rows = [
        kpi("1", 60, method="score", result=5),
        kpi("2", 30, method="score", result=2),
        kpi("3", 10, status="สำรวจปีละ ๑ ครั้ง"),
    ]
    outcome = check_file(write_submission(tmp_path / "u.xlsx", rows), ScoreOptions())
    assert outcome.score is not None
    assert outcome.score.total == Decimal("4.0000")  # (60·5 + 30·2) / 90
    codes = [p.code for p in outcome.problems]
    assert codes == ["weight-unallocated"]
    warning = outcome.problems[0]
    assert warning.cell == "D4" and warning.sheet == "KPIs"
    assert "10" in warning.message_en and "90" in warning.message_en


def test_missing_result_scores_zero_with_a_warning(tmp_path: Path) -> None:
    rows = [
        kpi("1", 50, method="score", result=5),
        kpi("2", 50, level1=1, level2=2, level3=3, level4=4, level5=5),
    ]
    outcome = check_file(write_submission(tmp_path / "w.xlsx", rows), ScoreOptions())
    assert outcome.score is not None
    assert outcome.score.total == Decimal("2.5000")
    [warning] = outcome.problems
    assert warning.code == "result-missing" and warning.cell == "L3"
    assert "ไม่ได้รายงาน" in warning.message_th


def test_parent_marked_not_assessed_takes_its_children_out(tmp_path: Path) -> None:
    rows = [
        kpi("1", 80, method="score", result=4),
        kpi("2", 20, status="รายงานรอบ ๑๒ เดือน"),
        kpi("2.1", 0.5, method="score", result=5),
        kpi("2.2", 0.5, method="score"),
    ]
    path = write_submission(tmp_path / "p.xlsx", rows, reallocations=[{"from": "2", "to": "1", "weight": 20}])
    outcome = check_file(path, ScoreOptions())
    assert outcome.score is not None
    got = {k.code: k for k in outcome.score.kpis}
    assert got["2.1"].score is None and got["2.1"].status == "รายงานรอบ ๑๒ เดือน"
    assert outcome.score.total == Decimal("4.0000")
    assert [p.code for p in outcome.problems] == ["child-of-not-assessed"]


def test_verified_result_is_scored_and_self_score_kept(tmp_path: Path) -> None:
    columns = ("code", "name", "weight", "method", "result", "verified_result", "status")
    rows = [kpi("1", 60, method="score", result=5, verified_result=4), kpi("2", 40, method="score", result=3)]
    outcome = check_file(write_submission(tmp_path / "v.xlsx", rows, columns=columns), ScoreOptions())
    assert outcome.score is not None
    first = outcome.score.kpis[0]
    assert first.score == Decimal(4) and first.self_score == Decimal(5)
    assert outcome.score.total == Decimal("3.6000")


# --- properties: reallocation conserves the assessed weight --------------------------------------


def _submission(weights: list[int], assessed: list[bool], moves: list[tuple[int, int, int]]) -> Submission:
    rows = tuple(
        KpiRow(
            code=str(i + 1),
            name=f"k{i + 1}",
            weight=Decimal(w),
            row=i + 2,
            method="score",
            result=Decimal(3),
            status=None if a else "ไม่ประเมิน",
            cells={},
        )
        for i, (w, a) in enumerate(zip(weights, assessed, strict=True))
    )
    realloc = tuple(
        Reallocation(source=str(s + 1), target=str(t + 1), weight=Decimal(w), row=n + 2)
        for n, (s, t, w) in enumerate(moves)
    )
    source = SourceFile(name="x.xlsx", path="x.xlsx", sha256="0", mtime=0, size=0)
    return Submission(
        source=source, division="d", fiscal_year=2563, round=12, kpis=rows, reallocations=realloc
    )


@st.composite
def divisions(draw: st.DrawFn) -> tuple[list[int], list[bool], list[tuple[int, int, int]]]:
    n = draw(st.integers(min_value=2, max_value=12))
    weights = draw(st.lists(st.integers(min_value=1, max_value=30), min_size=n, max_size=n))
    assessed = draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(any))
    sources = [i for i in range(n) if not assessed[i]]
    targets = [i for i in range(n) if assessed[i]]
    moves = []
    for s in sources:
        left = weights[s]
        for t in draw(st.lists(st.sampled_from(targets), max_size=3)):
            w = draw(st.integers(min_value=0, max_value=left))
            if w:
                moves.append((s, t, w))
                left -= w
    return weights, assessed, moves


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(divisions())
def test_reallocation_conserves_assessed_weight(case: tuple) -> None:
    weights, assessed, moves = case
    result = score_division(_submission(weights, assessed, moves))
    effective = sum(k.effective_weight for k in result.kpis if k.effective_weight is not None)
    kept = sum(w for w, a in zip(weights, assessed, strict=True) if a)
    assert effective == kept + sum(w for _, _, w in moves)
    assert all((k.effective_weight is None) == (not assessed[int(k.code) - 1]) for k in result.kpis)
    assert result.total == Decimal("3.0000")


@pytest.mark.parametrize("floor", [0, 1])
def test_floor_option_reaches_the_division(tmp_path: Path, floor: int) -> None:
    rows = [kpi("1", 100, level1=74, level2=77, level3=80, level4=83, level5=86, result=50)]
    outcome = check_file(write_submission(tmp_path / "f.xlsx", rows), ScoreOptions(floor=Decimal(floor)))
    assert outcome.score is not None and outcome.score.total == Decimal(floor)
