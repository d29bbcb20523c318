"""All divisions of one fiscal year and round together: supersession, totals, ranks, comparisons.

A group is what one consolidated workbook and one ``results.json`` show. Two files for the same
division, year and round: the most recently modified one counts and the other is listed as superseded.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import json
from dataclasses import dataclass, field
from decimal import Decimal

from kpibatch.model import DivisionScore, FileOutcome, KpiScore
from kpibatch.problems import Problem, ResultsBlanked, Superseded
from kpibatch.text import code_key, division_key, normalize_label


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


def reported_results(score: DivisionScore) -> set[str]:
    """Codes of the KPIs that have a result (the division's or the committee's) in a scored file."""
    return {k.code for k in score.kpis if not k.has_children and k.result is not None}


def recorded_results(record: str) -> set[str]:
    """``reported_results`` of a file from its ``results.json`` record (as the ledger stores it)."""
    return {
        k["code"]
        for k in json.loads(record)["kpis"]
        if k.get("result") is not None or k.get("verified_result") is not None
    }


def warn_blanked_results(group: Group, new: FileOutcome, older: str, had: set[str]) -> None:
    """Warn when ``new`` leaves blank results that ``older``, the file it replaces, had.

    A KPI now marked not assessed is left blank on purpose; an assessed one with no result scores 0,
    which an accidental resubmission (an old copy, a half-filled template) must not do unnoticed.
    """
    score = new.score
    assert score is not None
    blank = [
        k.code
        for k in score.kpis
        if not k.has_children and k.score is not None and k.result is None and k.code in had
    ]
    if not blank:
        return
    warning = ResultsBlanked(
        file=new.name,
        sheet=score.submission.sheets.kpis,
        params={"kpis": ", ".join(blank), "older": older},
    )
    new.problems.append(warning)
    marked = dataclasses.replace(score, warnings=(*score.warnings, warning))
    group.divisions = [marked if d is score else d for d in group.divisions]
    new.score = marked


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
        key = (sub.fiscal_year, sub.round, division_key(sub.division))
        groups.setdefault(sub.group, Group(sub.fiscal_year, sub.round))
        if key in latest:
            superseded.append((latest[key], key))
        latest[key] = outcome
    replaced: dict[tuple[int, int, str], FileOutcome] = {}
    for old, key in superseded:
        groups[key[:2]].superseded.append((old, latest[key]))
        replaced[key] = old  # by recency: the last one is the file the latest replaces
    for key, outcome in sorted(latest.items(), key=lambda item: item[1].name):
        group = groups[key[:2]]
        group.accepted.append(outcome)
        group.divisions.append(outcome.score)  # type: ignore[arg-type]
        previous = replaced.get(key)
        if previous is not None and previous.score is not None:
            warn_blanked_results(group, outcome, previous.name, reported_results(previous.score))
    for outcome in outcomes:
        if outcome.accepted:
            continue
        if outcome.group is not None:
            groups.setdefault(outcome.group, Group(*outcome.group)).rejected.append(outcome)
    unplaced = [o for o in outcomes if not o.accepted and o.group is None]
    for group in groups.values():
        group.rejected += unplaced
    return [groups[key] for key in sorted(groups)]


@dataclass(frozen=True)
class OverviewRow:
    """One division on the overview: its total and rank, what was assessed, its weakest KPI."""

    division: str
    short_name: str | None
    total: Decimal | None
    rank: int | None
    """1, 2, 2, 4: divisions with equal totals share a rank; None without a total."""
    assessed: int
    not_assessed: int
    weakest_code: str | None
    weakest_name: str | None
    weakest_score: Decimal | None
    warnings: int
    file: str
    sha256: str


def overview_rows(group: Group) -> list[OverviewRow]:
    """One row per division, in the group's order: total, rank, KPIs assessed and not, weakest KPI.

    Plain Python rather than a pandas frame: importing pandas alone costs a run more than half a
    second, several times what these few loops do (docs/decisions/0004-decimal-scoring-and-pandas.md).
    ``kpibatch.frames.division_frame`` is the same table as a frame, for the library and the export;
    tests/test_frames.py holds the two equal.
    """
    ranks = competition_ranks([score.total for score in group.divisions])
    rows = []
    for score, rank in zip(group.divisions, ranks, strict=True):
        top = score.top_level
        assessed = [k for k in score.kpis if k.assessed and not k.has_children]
        weakest = min(assessed, key=lambda k: (k.score, code_key(k.code)), default=None)
        rows.append(
            OverviewRow(
                division=score.division,
                short_name=score.submission.short_name,
                total=score.total,
                rank=rank,
                assessed=sum(1 for k in top if k.assessed),
                not_assessed=sum(1 for k in top if not k.assessed),
                weakest_code=weakest.code if weakest else None,
                weakest_name=weakest.name if weakest else None,
                weakest_score=weakest.score if weakest else None,
                warnings=len(score.warnings),
                file=score.submission.source.name,
                sha256=score.submission.source.sha256,
            )
        )
    return rows


def competition_ranks(totals: list[Decimal | None]) -> list[int | None]:
    """Competition ranks, best first (5, 5, 4 -> 1, 1, 3); no total, no rank."""
    known = sorted(t for t in totals if t is not None)
    return [None if t is None else 1 + len(known) - bisect.bisect_right(known, t) for t in totals]


@dataclass(frozen=True)
class ComparisonCell:
    """One division's score (or status) for a KPI it shares with other divisions."""

    division: str
    code: str
    name: str
    """The spelling of the first division that has the KPI."""
    key: str
    score: Decimal | None
    status: str | None


@functools.lru_cache(maxsize=65536)
def _kpi_key(code: str, name: str) -> str:
    """A KPI's identity across divisions; divisions repeat the same KPIs, so it is worth keeping."""
    return f"{code} {normalize_label(name)}"


_code_key = functools.lru_cache(maxsize=65536)(code_key)


def comparison_cells(group: Group) -> list[ComparisonCell]:
    """KPIs shared by two or more divisions: one cell per (division, shared KPI).

    A KPI is shared when several divisions have the same code and the same name (compared without
    case or spaces: ``แนวทาง แก้ไข`` and ``แนวทางแก้ไข`` are one KPI); ``key`` identifies it.
    ``score`` is None and ``status`` the division's status text when the KPI is not assessed there.
    Cells follow the KPIs' natural code order, then the group's division order. The same cells as
    a pandas matrix: ``kpibatch.frames.comparison_matrix`` (tests/test_frames.py holds them equal).
    """
    # Each KPI's cells in division order as they are met, so only the KPIs are sorted, not every cell.
    by_kpi: dict[str, list[tuple[str, KpiScore]]] = {}
    for score in group.divisions:
        division = score.division
        for kpi in score.kpis:
            by_kpi.setdefault(_kpi_key(kpi.code, kpi.name), []).append((division, kpi))
    shared = [
        (key, found)
        for key, found in by_kpi.items()
        if len(found) >= 2 and any(division != found[0][0] for division, _ in found)
    ]
    shared.sort(key=lambda item: (_code_key(item[1][0][1].code), item[0]))
    return [
        ComparisonCell(division, kpi.code, found[0][1].name, key, kpi.score, kpi.status)
        for key, found in shared
        for division, kpi in found
    ]


def decimal_or_none(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None
