"""Semantic checks on a submission: weights, criteria, methods and reallocations.

The reader reports what cannot be read; this module reports what was read but cannot be scored. Both
collect every problem in the file, and ``kpibatch validate`` and ``kpibatch run`` use the same checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from kpibatch.model import KpiRow, Submission
from kpibatch.problems import (
    CodeDuplicate,
    DirectionMismatch,
    LevelsNotMonotone,
    MethodMissing,
    NameMissing,
    NoKpis,
    Problem,
    ReallocationAcrossLevels,
    ReallocationFromAssessed,
    ReallocationToNotAssessed,
    ReallocationTooMuch,
    ReallocationUnknownCode,
    ReallocationWeightInvalid,
    ResultsEmpty,
    WeightMissing,
    WeightNegative,
    WeightSum,
)
from kpibatch.score import hierarchy, reallocation
from kpibatch.score.methods import check_inputs, effective_method, levels_descend, monotonicity_break

WEIGHT_TOTAL = Decimal(100)
WEIGHT_TOLERANCE = Decimal("0.01")


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def validate(sub: Submission, already: Iterable[Problem] = ()) -> list[Problem]:
    """Every semantic problem in ``sub``. ``already`` are the reader's problems (not repeated)."""
    reported = {(p.sheet, p.cell) for p in already}
    problems: list[Problem] = []
    kpi_sheet = sub.sheets.kpis

    def add(kind: type[Problem], cell: str, sheet: str = kpi_sheet, **params: object) -> None:
        problems.append(kind(file=sub.source.name, sheet=sheet, cell=cell, params=params))

    if not sub.kpis:
        add(NoKpis, "")
    rows: dict[str, KpiRow] = {}
    for row in sub.kpis:
        if row.code in rows:
            add(CodeDuplicate, row.cells.get("code", ""), value=row.code, first_row=rows[row.code].row)
            continue
        rows[row.code] = row

    parent_of = hierarchy.parents(rows)
    kids = hierarchy.children(parent_of)
    assessed = hierarchy.assessed_flags(rows, parent_of)

    for code, row in rows.items():
        if not row.name:
            add(NameMissing, row.cells.get("name", ""), kpi=code)
        weight_cell = row.cells.get("weight", "")
        if row.weight is None:
            if (kpi_sheet, weight_cell) not in reported:
                add(WeightMissing, weight_cell, kpi=code)
        elif row.weight < 0:
            add(WeightNegative, weight_cell, kpi=code, value=_fmt(row.weight))
        if not kids[code]:
            _check_criteria(row, assessed[code], add)

    top = [rows[c] for c in rows if parent_of[c] is None]
    if top and all(r.weight is not None for r in top):
        total = sum((r.weight for r in top), Decimal(0))  # type: ignore[misc]
        gap = total - WEIGHT_TOTAL
        if abs(gap) > WEIGHT_TOLERANCE:
            short = gap < 0
            add(
                WeightSum,
                f"{top[0].cells.get('weight', '')}:{top[-1].cells.get('weight', '')}",
                total=_fmt(total),
                gap_th=f"{'ขาด' if short else 'เกิน'} {_fmt(abs(gap))}",
                gap_en=f"{_fmt(abs(gap))} {'short' if short else 'over'}",
            )

    leaves = [row for code, row in rows.items() if assessed[code] and not kids[code]]
    unreadable = any((kpi_sheet, row.cells.get(k, "")) in reported for row in leaves for k in _RESULTS)
    if leaves and not unreadable and all(row.scored_result is None for row in leaves):
        add(ResultsEmpty, _result_cells(leaves), cells=_result_cells(leaves))

    problems += _check_reallocations(sub, rows, parent_of, assessed)
    return problems


_RESULTS = ("result", "verified_result")


def _result_cells(leaves: list[KpiRow]) -> str:
    """The result column's cells of ``leaves`` (``L5:L40``), or their code cells without one."""
    column = "result" if "result" in leaves[0].cells else "code"
    first, last = leaves[0].cells.get(column, ""), leaves[-1].cells.get(column, "")
    return f"{first}:{last}" if first != last else first


def _check_criteria(row: KpiRow, is_assessed: bool, add: object) -> None:
    assert callable(add)
    method = effective_method(row.method, row.levels)
    if row.has_levels:
        broken = monotonicity_break(row.levels)
        if broken is not None:
            level, before, after = broken
            add(
                LevelsNotMonotone,
                row.cells.get(f"level{level}", ""),
                kpi=row.code,
                level=level,
                value=_fmt(row.levels[level - 1]),  # type: ignore[arg-type]
                before=before if before is not None else "-",
                after=after if after is not None else "-",
            )
        descend = levels_descend(row.levels)
        mismatch = descend is not None and row.direction is not None and (row.direction == "lower") != descend
        if broken is None and mismatch:
            add(
                DirectionMismatch,
                row.cells.get("direction", ""),
                kpi=row.code,
                value=row.direction,
                levels_th="ลดลง (น้อยดี)" if descend else "เพิ่มขึ้น (มากดี)",
                levels_en="decrease (lower is better)" if descend else "increase (higher is better)",
            )
    if not is_assessed:
        return
    if method is None:
        add(MethodMissing, row.cells.get("method", row.cells.get("code", "")), kpi=row.code)
    else:
        for kind, cell, params in check_inputs(row, method):  # each method's own check (score.methods)
            add(kind, cell, **params)


def _check_reallocations(
    sub: Submission,
    rows: dict[str, KpiRow],
    parent_of: dict[str, str | None],
    assessed: dict[str, bool],
) -> list[Problem]:
    problems: list[Problem] = []
    sheet = sub.sheets.reallocations

    def add(kind: type[Problem], cell: str, **params: object) -> None:
        problems.append(kind(file=sub.source.name, sheet=sheet, cell=cell, params=params))

    for move in sub.reallocations:
        known = True
        for key, code in (("from", move.source), ("to", move.target)):
            if code not in rows:
                add(ReallocationUnknownCode, move.cells.get(key, ""), value=code)
                known = False
        if move.weight <= 0:
            add(ReallocationWeightInvalid, move.cells.get("weight", ""), value=_fmt(move.weight))
        if not known:
            continue
        if assessed[move.source]:
            add(ReallocationFromAssessed, move.cells.get("from", ""), value=move.source)
        if not assessed[move.target]:
            add(ReallocationToNotAssessed, move.cells.get("to", ""), value=move.target)
        if parent_of[move.source] != parent_of[move.target]:
            add(ReallocationAcrossLevels, move.cells.get("to", ""), source=move.source, target=move.target)

    out = reallocation.moved_out([m for m in sub.reallocations if m.source in rows])
    for code, moved in out.items():
        weight = rows[code].weight
        if weight is not None and moved > weight:
            last = [m for m in sub.reallocations if m.source == code][-1]
            add(
                ReallocationTooMuch,
                last.cells.get("weight", ""),
                value=code,
                moved=_fmt(moved),
                weight=_fmt(weight),
            )
    return problems
