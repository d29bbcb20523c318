"""A division's scores: every KPI (leaves by method, parents by weighted mean) and the weighted total.

Rounding is applied where the printed sheet shows a number: each KPI score is rounded half-up to 4
places, and parents and the total are computed from those rounded scores, then rounded again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kpibatch.model import DivisionScore, KpiRow, KpiScore, Submission
from kpibatch.problems import (
    ChildOfNotAssessed,
    ChildWeightsSum,
    NoAssessedChildren,
    NothingAssessed,
    ParentValueIgnored,
    Problem,
    ResultMissing,
    WeightUnallocated,
)
from kpibatch.score import hierarchy, reallocation
from kpibatch.score.methods import effective_method, score_kpi
from kpibatch.score.rounding import weighted_mean

NO_ASSESSED_CHILD_STATUS = "ไม่มีตัวชี้วัดย่อยที่ประเมินในรอบนี้"


@dataclass(frozen=True)
class ScoreOptions:
    """Run options that change scores."""

    floor: Decimal = Decimal(0)
    """Score of a result worse than level 1 (0 by default; some agreements use 1)."""


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def score_division(sub: Submission, options: ScoreOptions | None = None) -> DivisionScore:
    """Score a validated submission. Pure: the same submission always gives the same scores."""
    options = options or ScoreOptions()
    rows = {row.code: row for row in sub.kpis}
    parent_of = hierarchy.parents(rows)
    kids = hierarchy.children(parent_of)
    assessed = hierarchy.assessed_flags(rows, parent_of)
    effective = reallocation.effective_weights(rows, assessed, sub.reallocations)
    warnings: list[Problem] = []

    def warn(kind: type[Problem], row: KpiRow, column: str = "code", **params: object) -> None:
        cell = row.cells.get(column) or row.cells.get("code", "")
        warnings.append(kind(file=sub.source.name, sheet=sub.sheets.kpis, cell=cell, params=params))

    scores: dict[str, Decimal | None] = {}
    self_scores: dict[str, Decimal | None] = {}
    for code in sorted(rows, key=lambda c: hierarchy.depth(c, parent_of), reverse=True):
        row = rows[code]
        if kids[code]:
            if row.result is not None or row.has_levels:
                warn(ParentValueIgnored, row, "result", kpi=code)
            if assessed[code]:
                pairs = [(effective[c], scores[c]) for c in kids[code] if assessed[c]]
                scores[code] = weighted_mean(pairs)  # type: ignore[arg-type]
            else:
                scores[code] = None
                if row.status is None and hierarchy.blocking_ancestor(code, rows, parent_of) is None:
                    warn(NoAssessedChildren, row, kpi=code)
            continue
        if not assessed[code]:
            scores[code] = None
            blocker = hierarchy.blocking_ancestor(code, rows, parent_of)
            if blocker is not None and row.status is None and row.scored_result is not None:
                warn(ChildOfNotAssessed, row, "result", kpi=code, parent=blocker)
            continue
        scores[code] = _leaf_score(row, row.scored_result, options, warn)
        if sub.has_verified_results and row.verified_result is not None and row.result is not None:
            self_scores[code] = _leaf_score(row, row.result, options, None)

    top = [c for c in rows if parent_of[c] is None]
    base = sum((effective[c] for c in top if assessed[c]), Decimal(0))  # type: ignore[misc]
    for code, left in sorted(reallocation.unallocated(rows, assessed, sub.reallocations, parent_of).items()):
        parent = parent_of[code]
        siblings_base = (
            base
            if parent is None
            else sum(
                (effective[c] for c in kids[parent] if assessed[c]),
                Decimal(0),  # type: ignore[misc]
            )
        )
        warn(WeightUnallocated, rows[code], "weight", kpi=code, weight=_fmt(left), base=_fmt(siblings_base))

    for code in hierarchy.natural_order(rows):
        if kids[code]:
            warnings += _child_weights_warning(sub, rows[code], [rows[c] for c in kids[code]])

    total = weighted_mean([(effective[c], scores[c]) for c in top if assessed[c]])  # type: ignore[misc]
    if total is None:
        warnings.append(NothingAssessed(file=sub.source.name, sheet=sub.sheets.kpis))

    kpis = []
    for code in hierarchy.natural_order(rows):
        row = rows[code]
        blocker = hierarchy.blocking_ancestor(code, rows, parent_of)
        status = row.status
        if not assessed[code] and status is None:
            status = rows[blocker].status if blocker else NO_ASSESSED_CHILD_STATUS
        kpis.append(
            KpiScore(
                code=code,
                name=row.name,
                parent=parent_of[code],
                depth=hierarchy.depth(code, parent_of),
                weight=row.weight if row.weight is not None else Decimal(0),
                effective_weight=effective[code],
                score=scores[code],
                status=status if not assessed[code] else None,
                result=row.scored_result if not kids[code] else None,
                unit=row.unit,
                method=effective_method(row.method, row.levels) if not kids[code] else None,
                levels=row.levels,
                self_result=row.result if row.verified_result is not None else None,
                self_score=self_scores.get(code),
                note=row.note,
                has_children=bool(kids[code]),
                verified_result=row.verified_result if not kids[code] else None,
                contacts=row.contacts,
            )
        )
    return DivisionScore(submission=sub, kpis=tuple(kpis), total=total, warnings=tuple(warnings))


CHILD_WEIGHT_TOLERANCE = Decimal("0.01")


def _child_weights_warning(sub: Submission, parent: KpiRow, children: list[KpiRow]) -> list[Problem]:
    """A warning when the children's weights add up to neither the parent's weight, nor 1, nor 100.

    The manual writes composite KPIs both ways (1 = 50 split 10/5/5/10/15/5, or 0.4/0.3/0.3); any
    other sum still scores, as proportions, but one child typed 25 instead of 15 would go unseen.
    """
    weights = [c.weight for c in children]
    if parent.weight is None or any(w is None for w in weights):
        return []  # a missing weight is the validator's error
    total = sum(weights, Decimal(0))  # type: ignore[arg-type]
    expected = (parent.weight, Decimal(1), Decimal(100))
    if any(abs(total - e) <= CHILD_WEIGHT_TOLERANCE for e in expected):
        return []
    first, last = children[0].cells.get("weight", ""), children[-1].cells.get("weight", "")
    return [
        ChildWeightsSum(
            file=sub.source.name,
            sheet=sub.sheets.kpis,
            cell=f"{first}:{last}" if first != last else first,
            params={"kpi": parent.code, "total": _fmt(total), "weight": _fmt(parent.weight)},
        )
    ]


def _leaf_score(row: KpiRow, result: Decimal | None, options: ScoreOptions, warn: object) -> Decimal:
    if result is None:
        if callable(warn):
            warn(ResultMissing, row, "result", kpi=row.code)
        return Decimal("0.0000")
    method = effective_method(row.method, row.levels)
    assert method is not None  # validate() rejects assessed leaves without a method
    lower = {"lower": True, "higher": False}.get(row.direction or "")
    return score_kpi(method, result, row.levels, lower_is_better=lower, floor=options.floor)
