"""The next round's template from a division's earlier submission.

Every round the planning unit sends the same KPIs again: codes, names, units, weights, methods,
directions and levels are kept as the division agreed them; results, verified results, statuses,
notes and reallocations belong to the round that is over and are cleared.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kpibatch.problems import Problem
from kpibatch.read import read_submission
from kpibatch.template.writer import TemplateSpec


class PreviousUnreadable(Exception):
    """The earlier submission could not be read far enough to take its KPIs from it."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        super().__init__(f"cannot take the KPIs from {path.name}")
        self.problems = problems


def next_round_spec(
    previous: Path,
    *,
    round_: int,
    fiscal_year: int | None = None,
    division: str | None = None,
    short_name: str | None = None,
) -> tuple[TemplateSpec, list[Problem]]:
    """The template for ``round_`` and the problems found in ``previous`` (shown, not fatal).

    A previous file with problems still gives its KPIs: the division fixes them in the new template,
    and ``kpibatch validate`` will name them again there.
    """
    read = read_submission(previous)
    sub = read.submission
    if sub is None:
        raise PreviousUnreadable(previous, read.problems)
    kpis = tuple(
        dataclasses.replace(row, result=None, verified_result=None, status=None, note=None, cells={})
        for row in sub.kpis
    )
    spec = TemplateSpec(
        division=division or sub.division,
        short_name=short_name or sub.short_name,
        fiscal_year=fiscal_year or sub.fiscal_year,
        round=round_,
        kpis=kpis,
    )
    return spec, read.problems
