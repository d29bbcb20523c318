"""Scoring methods for one KPI: ``threshold``, ``milestone`` and ``score``, in one registry.

``METHODS`` lists each method once: its name, the labels a workbook may write for it, its Thai name in
the report, the check of its inputs (``validate`` reports what it finds) and its scoring function.
Another method is one more ``Method`` in that list, and its labels one more line of the template
contract (``contract.METHODS``, which the reader below this stage matches labels with).

``threshold`` is piecewise-linear through the defined (level, value) points, as the KPI manual's
"ช่วงปรับเกณฑ์การให้คะแนน" describes: between two consecutive defined levels k < m a result scores
k + (m − k)·(result − v_k)/(v_m − v_k). Gapped criteria (15.3.3's 0/-/1/-/2) interpolate across the
gap; descending values mean lower is better.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any

from kpibatch import contract
from kpibatch.model import KpiRow
from kpibatch.problems import LevelsMissing, Problem, ResultOutOfRange
from kpibatch.score.rounding import q4

MAX_SCORE = Decimal(5)


def defined_levels(levels: Sequence[Decimal | None]) -> list[tuple[int, Decimal]]:
    """The (level, value) points that are defined, level numbers 1..5."""
    return [(k, v) for k, v in enumerate(levels, start=1) if v is not None]


def levels_descend(levels: Sequence[Decimal | None]) -> bool | None:
    """True when lower is better, False when higher is better, None when the levels do not say."""
    points = defined_levels(levels)
    if len(points) < 2:
        return None
    return points[-1][1] < points[0][1]


def monotonicity_break(levels: Sequence[Decimal | None]) -> tuple[int, int | None, int | None] | None:
    """The first level that breaks strict monotonicity, as (level, previous level, next level).

    The direction is the one most steps take, and of the two levels around a break the one whose
    removal puts the rest in order is named, so a single mistyped level is the one reported
    (``level 3 is not between levels 2 and 4``) rather than its neighbour.
    """
    points = defined_levels(levels)
    if len(points) < 2:
        return None
    steps = [b[1] - a[1] for a, b in pairwise(points)]
    rising = sum(1 for s in steps if s > 0) >= sum(1 for s in steps if s < 0)

    def ordered(values: list[Decimal]) -> bool:
        pairs = pairwise(values)
        return all(a < b for a, b in pairs) if rising else all(a > b for a, b in pairs)

    values = [v for _, v in points]
    for i in range(1, len(points)):
        if ordered(values[i - 1 : i + 1]):
            continue
        culprit = i
        if not ordered(values[:i] + values[i + 1 :]) and ordered(values[: i - 1] + values[i:]):
            culprit = i - 1
        before = points[culprit - 1][0] if culprit > 0 else None
        after = points[culprit + 1][0] if culprit + 1 < len(points) else None
        return points[culprit][0], before, after
    return None


def threshold_score(
    result: Decimal,
    levels: Sequence[Decimal | None],
    *,
    lower_is_better: bool | None = None,
    floor: Decimal = Decimal(0),
) -> Decimal:
    """Score a result against 5-level criteria, unrounded.

    At or beyond the best defined level's value it scores that level; worse than the first defined
    level's value it scores ``floor`` (0, or 1 when the run says so). ``lower_is_better`` is needed
    only when a single level is defined; otherwise the levels' order decides.
    """
    points = defined_levels(levels)
    if not points:
        raise ValueError("threshold scoring needs at least one defined level")
    descend = levels_descend(levels)
    if descend is None:
        descend = bool(lower_is_better)
    sign = Decimal(-1) if descend else Decimal(1)
    goodness = [(k, sign * v) for k, v in points]
    r = sign * result
    best_k, best_v = goodness[-1]
    first_v = goodness[0][1]
    if r >= best_v:
        return Decimal(best_k)
    if r < first_v:
        return floor
    for (k, v), (m, w) in pairwise(goodness):
        if v <= r < w:
            return Decimal(k) + Decimal(m - k) * (r - v) / (w - v)
    raise AssertionError("levels are not strictly monotone")  # validate() rejects such rows first


def level_score(result: Decimal) -> Decimal:
    """``milestone`` and ``score``: the result is the level reached, or the score itself (0..5)."""
    if not Decimal(0) <= result <= MAX_SCORE:
        raise ValueError(f"result {result} is outside 0..5")
    return result


InputProblem = tuple[type[Problem], str, dict[str, Any]]
"""What a method's check found: the kind of problem, the cell it names, its parameters."""


@dataclass(frozen=True)
class Method:
    """One scoring method: how workbooks name it, how its inputs are checked, how it scores."""

    name: str
    aliases: tuple[str, ...]
    """Labels a workbook's method column may hold (matched without case or spaces)."""
    label_th: str
    """The method's name on the report's division sheets."""
    check: Callable[[KpiRow, str], list[InputProblem]]
    """Problems with an assessed row's inputs for this method (``validate`` reports them)."""
    score: Callable[[Decimal, Sequence[Decimal | None], bool | None, Decimal], Decimal]
    """(result, levels, lower_is_better, floor) -> the unrounded score."""


def _check_levels(row: KpiRow, method: str) -> list[InputProblem]:
    if row.has_levels:
        return []
    return [(LevelsMissing, row.cells.get("level1", row.cells.get("code", "")), {"kpi": row.code})]


def _check_level_result(row: KpiRow, method: str) -> list[InputProblem]:
    found: list[InputProblem] = []
    for column, value in (("result", row.result), ("verified_result", row.verified_result)):
        if value is not None and not Decimal(0) <= value <= MAX_SCORE:
            params = {"kpi": row.code, "value": format(value.normalize(), "f"), "method": method}
            found.append((ResultOutOfRange, row.cells.get(column, ""), params))
    return found


def _threshold(
    result: Decimal, levels: Sequence[Decimal | None], lower: bool | None, floor: Decimal
) -> Decimal:
    return threshold_score(result, levels, lower_is_better=lower, floor=floor)


def _level(result: Decimal, levels: Sequence[Decimal | None], lower: bool | None, floor: Decimal) -> Decimal:
    return level_score(result)


METHODS: Mapping[str, Method] = {
    method.name: method
    for method in (
        Method(
            "threshold",
            contract.METHODS["threshold"],
            "เทียบเกณฑ์",
            _check_levels,
            _threshold,
        ),
        Method(
            "milestone",
            contract.METHODS["milestone"],
            "ระดับขั้น",
            _check_level_result,
            _level,
        ),
        Method("score", contract.METHODS["score"], "คะแนน", _check_level_result, _level),
    )
}


def check_inputs(row: KpiRow, method: str) -> list[InputProblem]:
    """What the method's own check finds in an assessed row."""
    return METHODS[method].check(row, method)


def score_kpi(
    method: str,
    result: Decimal,
    levels: Sequence[Decimal | None],
    *,
    lower_is_better: bool | None = None,
    floor: Decimal = Decimal(0),
) -> Decimal:
    """Score one assessed leaf KPI, rounded half-up to 4 places."""
    found = METHODS.get(method)
    if found is None:
        raise ValueError(f"unknown method {method!r}")
    return q4(found.score(result, levels, lower_is_better, floor))


def effective_method(method: str | None, levels: Sequence[Decimal | None]) -> str | None:
    """The method a row is scored by: as written, or ``threshold`` when only levels are given."""
    if method:
        return method
    return "threshold" if any(v is not None for v in levels) else None
