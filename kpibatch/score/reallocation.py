"""Reallocation: weight of KPIs not assessed this round moves onto assessed ones.

Effective weight = original weight + what moved in, for an assessed KPI; a KPI not assessed has none.
Weight that no row moves drops out of the total's denominator (and the scorer warns about it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

from kpibatch.model import KpiRow, Reallocation


def moved_out(moves: Sequence[Reallocation]) -> dict[str, Decimal]:
    """Total weight each source gives away."""
    total: dict[str, Decimal] = defaultdict(Decimal)
    for move in moves:
        total[move.source] += move.weight
    return dict(total)


def effective_weights(
    rows: Mapping[str, KpiRow], assessed: Mapping[str, bool], moves: Sequence[Reallocation]
) -> dict[str, Decimal | None]:
    weights: dict[str, Decimal | None] = {
        code: (row.weight if assessed[code] and row.weight is not None else None)
        for code, row in rows.items()
    }
    for move in moves:
        current = weights.get(move.target)
        if current is not None:
            weights[move.target] = current + move.weight
    return weights


def unallocated(
    rows: Mapping[str, KpiRow],
    assessed: Mapping[str, bool],
    moves: Sequence[Reallocation],
    parent_of: Mapping[str, str | None],
) -> dict[str, Decimal]:
    """Weight of each not-assessed KPI that no row moves, for KPIs whose siblings still count.

    A KPI under a parent that is itself not assessed is skipped: its whole parent drops out and the
    parent carries the warning.
    """
    out = moved_out(moves)
    left: dict[str, Decimal] = {}
    for code, row in rows.items():
        parent = parent_of[code]
        if assessed[code] or row.weight is None or (parent is not None and not assessed[parent]):
            continue
        rest = row.weight - out.get(code, Decimal(0))
        if rest > 0:
            left[code] = rest
    return left
