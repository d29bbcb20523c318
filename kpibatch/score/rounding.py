"""Money-grade rounding: Decimal, half-up, 4 places, so a person can re-add the printed sheet."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

PLACES = Decimal("0.0001")


def q4(value: Decimal) -> Decimal:
    """Round half-up to 4 decimal places (2.00005 -> 2.0001, never banker's rounding)."""
    return value.quantize(PLACES, rounding=ROUND_HALF_UP)


def weighted_mean(pairs: list[tuple[Decimal, Decimal]]) -> Decimal | None:
    """Σ(w·s)/Σw over (weight, score) pairs, rounded half-up to 4 places; None when Σw is 0."""
    total_weight = sum((w for w, _ in pairs), Decimal(0))
    if total_weight == 0:
        return None
    return q4(sum((w * s for w, s in pairs), Decimal(0)) / total_weight)
