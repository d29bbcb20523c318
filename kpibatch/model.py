"""The data that flows through the pipeline: a submission as read, a division as scored, what became
of each input file, and a fiscal year's trend across rounds.

This module is the bottom layer: every stage imports its types from here and none of them is a
writer's type.

Values are ``Decimal`` so that scores round half-up exactly; every field read from a workbook keeps
the address of its cell so a problem can name it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from kpibatch.problems import Problem


@dataclass(frozen=True, slots=True)
class KpiContacts:
    """Who answers for a KPI, as typed: its supervisor (ผู้กำกับดูแลตัวชี้วัด) and data collector
    (ผู้จัดเก็บข้อมูล), each with a phone number (เบอร์ติดต่อ). Text typed by a division: data only."""

    supervisor: str | None = None
    supervisor_phone: str | None = None
    collector: str | None = None
    collector_phone: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "supervisor": self.supervisor,
            "supervisor_phone": self.supervisor_phone,
            "collector": self.collector,
            "collector_phone": self.collector_phone,
        }


@dataclass(frozen=True, slots=True)
class Signatory:
    """Who reported or certified a division's figures: name, position and date as typed (a date
    cell as ``YYYY-MM-DD``)."""

    name: str | None = None
    position: str | None = None
    date: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "position": self.position, "date": self.date}


@dataclass(frozen=True, slots=True)
class KpiRow:
    """One row of the KPI sheet, as typed (after number parsing)."""

    code: str
    name: str
    weight: Decimal | None
    row: int
    unit: str | None = None
    method: str | None = None
    direction: str | None = None
    levels: tuple[Decimal | None, ...] = (None, None, None, None, None)
    result: Decimal | None = None
    verified_result: Decimal | None = None
    status: str | None = None
    note: str | None = None
    cells: dict[str, str] = field(default_factory=dict)
    """Field name -> cell address (``"L7"``) for messages."""
    contacts: KpiContacts | None = None
    """None when the file has no contact columns or leaves them blank on this row."""

    @property
    def has_levels(self) -> bool:
        return any(v is not None for v in self.levels)

    @property
    def scored_result(self) -> Decimal | None:
        """The value that is scored: the committee's verified result when there is one."""
        return self.verified_result if self.verified_result is not None else self.result

    @property
    def assessed_here(self) -> bool:
        """Blank status means assessed this round."""
        return self.status is None


@dataclass(frozen=True, slots=True)
class Reallocation:
    """One row of the Reallocations sheet: move ``weight`` from ``source`` onto ``target``."""

    source: str
    target: str
    weight: Decimal
    row: int
    reason: str | None = None
    cells: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SheetNames:
    """The names the submission really used, for messages."""

    division: str = "Division"
    kpis: str = "KPIs"
    reallocations: str = "Reallocations"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """Identity of an input file: what the ledger, supersession and the report footer need."""

    name: str
    path: str
    sha256: str
    mtime: float
    size: int


@dataclass(frozen=True)
class Submission:
    """A division's workbook read against the template contract."""

    source: SourceFile
    division: str
    fiscal_year: int
    round: int
    kpis: tuple[KpiRow, ...]
    reallocations: tuple[Reallocation, ...] = ()
    short_name: str | None = None
    sheets: SheetNames = SheetNames()
    has_verified_results: bool = False
    """At least one KPI has a verified result (a ``verified_result`` column left blank is none)."""
    division_cell: str = ""
    """The cell of the division's name on its sheet, for messages (the registry's unknown division)."""
    reporter: Signatory | None = None
    """Who reported the figures (division sheet); None when the file names no one."""
    certifier: Signatory | None = None
    """Who certified the figures (division sheet); None when the file names no one."""

    @property
    def group(self) -> tuple[int, int]:
        return (self.fiscal_year, self.round)


@dataclass(frozen=True, slots=True)
class KpiScore:
    """One KPI after scoring and reallocation."""

    code: str
    name: str
    parent: str | None
    depth: int
    weight: Decimal
    effective_weight: Decimal | None
    score: Decimal | None
    status: str | None
    result: Decimal | None
    unit: str | None = None
    method: str | None = None
    levels: tuple[Decimal | None, ...] = (None, None, None, None, None)
    self_result: Decimal | None = None
    self_score: Decimal | None = None
    note: str | None = None
    has_children: bool = False
    verified_result: Decimal | None = None
    """The committee's verified result as typed; when there is one, ``result`` is it and
    ``self_result`` is the division's own."""
    contacts: KpiContacts | None = None

    @property
    def assessed(self) -> bool:
        return self.score is not None


@dataclass(frozen=True)
class DivisionScore:
    """A division's scored submission: what the workbook, results.json and the mail show."""

    submission: Submission
    kpis: tuple[KpiScore, ...]
    total: Decimal | None
    warnings: tuple[Problem, ...] = ()

    @property
    def division(self) -> str:
        return self.submission.division

    def without_rows(self) -> DivisionScore:
        """This score with its submission's KPI rows left out.

        After scoring, everything reads the scored KPIs (``kpis``), which hold the rows' texts and
        numbers again; a batch of thousands of divisions keeps only those in memory.
        """
        return dataclasses.replace(self, submission=dataclasses.replace(self.submission, kpis=()))

    @property
    def top_level(self) -> tuple[KpiScore, ...]:
        return tuple(k for k in self.kpis if k.parent is None)


@dataclass
class FileOutcome:
    """What became of one input file: the checks' problems, and the score when it was accepted."""

    path: Path
    source: SourceFile | None
    score: DivisionScore | None
    problems: list[Problem] = field(default_factory=list)
    group: tuple[int, int] | None = None
    division: str | None = None
    """The division a rejected file names, when it could be read (whom its receipt goes to)."""

    @property
    def accepted(self) -> bool:
        return self.score is not None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


@dataclass(frozen=True)
class TrendRow:
    division: str
    totals: Mapping[int, Decimal | None]
    """Round -> the division's total in it (None: submitted but nothing assessed; absent: not submitted)."""


@dataclass(frozen=True)
class Trend:
    """Each division's total in every round of a fiscal year so far, from the ledger's history."""

    fiscal_year: int
    rounds: tuple[int, ...]
    rows: tuple[TrendRow, ...]
