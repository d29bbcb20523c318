"""All divisions of one fiscal year and round together: supersession, totals, ranks, comparisons.

A group is what one consolidated workbook and one ``results.json`` show. Two files for the same
division, year and round: the most recently modified one counts and the other is listed as superseded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from kpibatch.model import DivisionScore, SourceFile
from kpibatch.problems import Problem, Superseded
from kpibatch.text import code_key, normalize_label

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class FileOutcome:
    """What became of one input file."""

    path: Path
    source: SourceFile | None
    score: DivisionScore | None
    problems: list[Problem] = field(default_factory=list)
    group: tuple[int, int] | None = None

    @property
    def accepted(self) -> bool:
        return self.score is not None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


@dataclass
class Group:
    fiscal_year: int
    round: int
    divisions: list[DivisionScore] = field(default_factory=list)
    accepted: list[FileOutcome] = field(default_factory=list)
    superseded: list[tuple[FileOutcome, FileOutcome]] = field(default_factory=list)
    rejected: list[FileOutcome] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.fiscal_year}-r{self.round}"

    def problems(self) -> list[Problem]:
        """Every error and warning of the group, superseded files included, for the issues sheet."""
        found: list[Problem] = []
        for outcome in self.accepted:
            found += outcome.problems
        for old, new in self.superseded:
            found.append(_superseded(old, new))
            found += old.problems
        for outcome in self.rejected:
            found += outcome.problems
        return found


def _superseded(old: FileOutcome, new: FileOutcome) -> Problem:
    assert new.score is not None
    sub = new.score.submission
    return Superseded(
        file=old.name,
        params={
            "newer": new.name,
            "division": sub.division,
            "fiscal_year": sub.fiscal_year,
            "round": sub.round,
        },
    )


def _recency(outcome: FileOutcome) -> tuple[float, str]:
    mtime = outcome.source.mtime if outcome.source else 0.0
    return (mtime, outcome.name)


def consolidate(outcomes: list[FileOutcome]) -> list[Group]:
    """Group accepted files by (fiscal year, round), keep each division's latest file.

    Rejected files whose year and round are unknown are listed in every group, so nobody misses them.
    Divisions keep the order of their file names (numbered files give a stable report order).
    """
    groups: dict[tuple[int, int], Group] = {}
    latest: dict[tuple[int, int, str], FileOutcome] = {}
    superseded: list[tuple[FileOutcome, tuple[int, int, str]]] = []
    for outcome in sorted((o for o in outcomes if o.accepted), key=_recency):
        assert outcome.score is not None
        sub = outcome.score.submission
        key = (sub.fiscal_year, sub.round, normalize_label(sub.division))
        groups.setdefault(sub.group, Group(sub.fiscal_year, sub.round))
        if key in latest:
            superseded.append((latest[key], key))
        latest[key] = outcome
    for old, key in superseded:
        groups[key[:2]].superseded.append((old, latest[key]))
    for key, outcome in sorted(latest.items(), key=lambda item: item[1].name):
        group = groups[key[:2]]
        group.accepted.append(outcome)
        group.divisions.append(outcome.score)  # type: ignore[arg-type]
    for outcome in outcomes:
        if outcome.accepted:
            continue
        if outcome.group is not None:
            groups.setdefault(outcome.group, Group(*outcome.group)).rejected.append(outcome)
    unplaced = [o for o in outcomes if not o.accepted and o.group is None]
    for group in groups.values():
        group.rejected += unplaced
    return [groups[key] for key in sorted(groups)]


def overview_frame(group: Group) -> pd.DataFrame:
    """One row per division: total, rank (1, 2, 2, 4), KPIs assessed and not, weakest KPI."""
    import pandas as pd  # here, not at the top: worker processes import this module but build no frames

    records = []
    for score in group.divisions:
        top = score.top_level
        assessed = [k for k in score.kpis if k.assessed and not k.has_children]
        weakest = min(assessed, key=lambda k: (k.score, [int(p) for p in k.code.split(".")]), default=None)
        records.append(
            {
                "division": score.division,
                "short_name": score.submission.short_name,
                "total": float(score.total) if score.total is not None else None,
                "total_decimal": score.total,
                "assessed": sum(1 for k in top if k.assessed),
                "not_assessed": sum(1 for k in top if not k.assessed),
                "weakest_code": weakest.code if weakest else None,
                "weakest_name": weakest.name if weakest else None,
                "weakest_score": float(weakest.score) if weakest and weakest.score is not None else None,
                "warnings": len(score.warnings),
                "file": score.submission.source.name,
                "sha256": score.submission.source.sha256,
            }
        )
    frame = pd.DataFrame.from_records(
        records,
        columns=[
            "division",
            "short_name",
            "total",
            "total_decimal",
            "assessed",
            "not_assessed",
            "weakest_code",
            "weakest_name",
            "weakest_score",
            "warnings",
            "file",
            "sha256",
        ],
    )
    frame["rank"] = frame["total"].rank(method="min", ascending=False).astype("Int64")
    return frame


COMPARISON_COLUMNS = ["division", "code", "name", "key", "score", "score_decimal", "status"]


def comparison_frame(group: Group) -> pd.DataFrame:
    """KPIs shared by two or more divisions: one row per (division, shared KPI), in long form.

    A KPI is shared when several divisions have the same code and the same name (compared without
    case or spaces: ``แนวทาง แก้ไข`` and ``แนวทางแก้ไข`` are one KPI). ``key`` identifies it; ``name``
    is the spelling of the first division that has it. ``score`` is NaN and ``status`` the division's
    status text when the KPI is not assessed there. Rows follow the KPIs' natural code order, then the
    group's division order; pivot on ``division`` × ``key`` for the matrix.
    """
    import pandas as pd

    records = []
    for order, score in enumerate(group.divisions):
        for kpi in score.kpis:
            records.append(
                {
                    "division": score.division,
                    "order": order,
                    "code": kpi.code,
                    "name": kpi.name,
                    "key": f"{kpi.code} {normalize_label(kpi.name)}",
                    "score": float(kpi.score) if kpi.score is not None else float("nan"),
                    "score_decimal": kpi.score,
                    "status": kpi.status,
                }
            )
    frame = pd.DataFrame.from_records(records, columns=[*COMPARISON_COLUMNS, "order"])
    counts = frame.groupby("key")["division"].nunique()
    frame = frame[frame["key"].isin(counts[counts >= 2].index)].copy()
    frame["name"] = frame.groupby("key")["name"].transform("first")
    frame["code_key"] = frame["code"].map(code_key)
    frame = frame.sort_values(["code_key", "key", "order"], kind="stable")
    return frame[COMPARISON_COLUMNS].reset_index(drop=True)


def decimal_or_none(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None
