"""Scoring methods with the KPI manual's own criteria (seed document 003), and their properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kpibatch.score.methods import monotonicity_break, score_kpi, threshold_score
from kpibatch.score.rounding import q4, weighted_mean


def levels(*values: float | None) -> tuple[Decimal | None, ...]:
    return tuple(None if v is None else Decimal(str(v)) for v in values)


KPI7 = levels(74, 77, 80, 83, 86)  # ตัวชี้วัดที่ 7: +/- ร้อยละ 3 ต่อ 1 คะแนน
KPI9_2 = levels(92, 93, 94, 95, 96)  # ตัวชี้วัด 9.2
KPI15_3_2 = levels(3, 4, 5, 6, 7)  # 15.3.2: หมวด 1-7
KPI15_3_3 = levels(0, None, 1, None, 2)  # 15.3.3: gapped 0 / - / 1 / - / 2
LOWER = levels(5, 4, 3, 2, 1)  # a rate where lower is better


@pytest.mark.parametrize(
    ("result", "score"),
    [
        ("86", "5.0000"),
        ("90", "5.0000"),
        ("83", "4.0000"),
        ("80", "3.0000"),
        ("74", "1.0000"),
        ("73.99", "0.0000"),
        ("78.5", "2.5000"),
        ("84", "4.3333"),
        ("85", "4.6667"),
        ("74.0001", "1.0000"),
    ],
)
def test_kpi7_threshold(result: str, score: str) -> None:
    assert score_kpi("threshold", Decimal(result), KPI7) == Decimal(score)


@pytest.mark.parametrize(
    ("result", "score"),
    [("96", "5.0000"), ("95.5", "4.5000"), ("92", "1.0000"), ("91.9", "0.0000"), ("93.25", "2.2500")],
)
def test_kpi9_2_one_point_steps(result: str, score: str) -> None:
    assert score_kpi("threshold", Decimal(result), KPI9_2) == Decimal(score)


@pytest.mark.parametrize(
    ("result", "score"), [("7", "5"), ("5", "3"), ("3", "1"), ("2", "0"), ("6.5", "4.5")]
)
def test_kpi15_3_2_counts(result: str, score: str) -> None:
    assert score_kpi("threshold", Decimal(result), KPI15_3_2) == Decimal(score)


@pytest.mark.parametrize(
    ("result", "score"),
    [("0", "1"), ("1", "3"), ("2", "5"), ("0.5", "2"), ("1.5", "4"), ("1.25", "3.5"), ("-1", "0")],
)
def test_kpi15_3_3_gapped_levels_interpolate_across_the_gap(result: str, score: str) -> None:
    assert score_kpi("threshold", Decimal(result), KPI15_3_3) == Decimal(score)


@pytest.mark.parametrize(
    ("result", "score"), [("0.5", "5"), ("1", "5"), ("1.5", "4.5"), ("3", "3"), ("5", "1"), ("5.01", "0")]
)
def test_lower_is_better(result: str, score: str) -> None:
    assert score_kpi("threshold", Decimal(result), LOWER) == Decimal(score)


def test_floor_option_scores_one_below_level_one() -> None:
    assert score_kpi("threshold", Decimal(10), KPI7, floor=Decimal(1)) == Decimal(1)
    assert score_kpi("threshold", Decimal(10), KPI7) == Decimal(0)


def test_single_level_needs_direction() -> None:
    only5 = levels(None, None, None, None, 100)
    assert score_kpi("threshold", Decimal(100), only5) == 5
    assert score_kpi("threshold", Decimal(99), only5) == 0
    only1_lower = levels(10, None, None, None, None)
    assert score_kpi("threshold", Decimal(5), only1_lower, lower_is_better=True) == 1


@pytest.mark.parametrize("method", ["milestone", "score"])
def test_level_methods(method: str) -> None:
    assert score_kpi(method, Decimal("3.5"), levels(None, None, None, None, None)) == Decimal("3.5")
    with pytest.raises(ValueError):
        score_kpi(method, Decimal("5.5"), levels(None, None, None, None, None))


def test_rounding_is_half_up_not_bankers() -> None:
    assert q4(Decimal("2.00005")) == Decimal("2.0001")
    assert q4(Decimal("2.00015")) == Decimal("2.0002")
    assert q4(Decimal("4.33335")) == Decimal("4.3334")
    # (84 - 83) / 3 -> 4.33333... and 1/3 of a point: rounded half-up, not truncated
    assert score_kpi("threshold", Decimal("84.5"), KPI7) == Decimal("4.5000")


def test_weighted_mean_is_from_rounded_inputs() -> None:
    pairs = [(Decimal(4), Decimal("4.3333")), (Decimal(4), Decimal("4.6667")), (Decimal(2), Decimal(5))]
    assert weighted_mean(pairs) == Decimal("4.6000")
    assert weighted_mean([]) is None


@pytest.mark.parametrize(
    ("values", "broken"),
    [
        ((80, 85, 70, 95, 100), (3, 2, 4)),
        ((5, 4, 3, 2, 1), None),
        ((0, None, 1, None, 2), None),
        ((1, 1, 2, 3, 4), (2, 1, 3)),
        ((60, 70, 80, 90, 85), (5, 4, None)),
    ],
)
def test_monotonicity_names_the_mistyped_level(values: tuple, broken: tuple | None) -> None:
    assert monotonicity_break(levels(*values)) == broken


# --- properties ----------------------------------------------------------------------------------

finite = st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def criteria(draw: st.DrawFn) -> tuple[Decimal | None, ...]:
    """Strictly monotone levels, some undefined, ascending or descending."""
    defined = draw(st.lists(st.booleans(), min_size=5, max_size=5).filter(any))
    count = sum(defined)
    values = sorted(draw(st.lists(finite, min_size=count, max_size=count, unique=True)))
    if draw(st.booleans()):
        values.reverse()
    it = iter(values)
    return tuple(next(it) if d else None for d in defined)


@given(criteria(), finite)
def test_threshold_score_is_within_0_and_5(crit: tuple, result: Decimal) -> None:
    score = score_kpi("threshold", result, crit, lower_is_better=False)
    assert Decimal(0) <= score <= Decimal(5)


@given(criteria(), finite, finite)
def test_threshold_score_is_monotone_in_the_result(crit: tuple, a: Decimal, b: Decimal) -> None:
    assume(a != b)
    lo, hi = sorted((a, b))
    values = [v for v in crit if v is not None]
    descending = len(values) >= 2 and values[-1] < values[0]
    s_lo = threshold_score(lo, crit, lower_is_better=False)
    s_hi = threshold_score(hi, crit, lower_is_better=False)
    if descending:
        assert s_lo >= s_hi
    else:
        assert s_lo <= s_hi


@given(criteria())
def test_each_defined_level_value_scores_its_level(crit: tuple) -> None:
    for k, value in enumerate(crit, start=1):
        if value is not None:
            assert threshold_score(value, crit, lower_is_better=False) == k
