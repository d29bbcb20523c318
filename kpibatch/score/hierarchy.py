"""KPI hierarchy by code: 15.1.2 sits under 15.1, which sits under 15, when those rows exist.

Which KPIs count as assessed also follows the tree: a leaf is assessed when its status is blank and no
ancestor is marked not assessed; a parent is assessed when its status is blank and at least one child
is assessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kpibatch.model import KpiRow
from kpibatch.text import code_key


def parents(codes: Iterable[str]) -> dict[str, str | None]:
    """Each code's parent: the longest other code in the sheet that it extends, or None."""
    present = set(codes)
    result: dict[str, str | None] = {}
    for code in present:
        parts = code.split(".")
        result[code] = next(
            (p for n in range(len(parts) - 1, 0, -1) if (p := ".".join(parts[:n])) in present), None
        )
    return result


def children(parent_of: Mapping[str, str | None]) -> dict[str, list[str]]:
    """Each code's children in natural order (codes without children map to an empty list)."""
    result: dict[str, list[str]] = {code: [] for code in parent_of}
    for code in sorted(parent_of, key=code_key):
        parent = parent_of[code]
        if parent is not None:
            result[parent].append(code)
    return result


def depth(code: str, parent_of: Mapping[str, str | None]) -> int:
    level = 0
    parent = parent_of[code]
    while parent is not None:
        level += 1
        parent = parent_of[parent]
    return level


def natural_order(codes: Iterable[str]) -> list[str]:
    """2.9 before 2.10, and every parent right before its children."""
    return sorted(codes, key=code_key)


def blocking_ancestor(
    code: str, rows: Mapping[str, KpiRow], parent_of: Mapping[str, str | None]
) -> str | None:
    """The nearest ancestor marked not assessed (it takes its whole subtree out), if any."""
    parent = parent_of[code]
    while parent is not None:
        if rows[parent].status is not None:
            return parent
        parent = parent_of[parent]
    return None


def assessed_flags(rows: Mapping[str, KpiRow], parent_of: Mapping[str, str | None]) -> dict[str, bool]:
    """Whether each KPI is assessed this round (see the module docstring)."""
    kids = children(parent_of)
    flags: dict[str, bool] = {}
    for code in sorted(rows, key=lambda c: depth(c, parent_of), reverse=True):
        own = rows[code].status is None and blocking_ancestor(code, rows, parent_of) is None
        flags[code] = own and (not kids[code] or any(flags[c] for c in kids[code]))
    return flags
