"""The run, top to bottom: check (read -> validate -> score) -> consolidate -> write each group.

``orchestrate`` is the one orchestrator: it checks every file (``kpibatch.checking.check_file``, in
workers), hands each outcome on as it arrives, groups the outcomes by (fiscal year, round) and writes
each group's workbook, results.json and report.html. ``run_batch`` is it with nothing around (files
in, reports out, nothing moved); the drop-folder run (``kpibatch.batch.runner``) adds claiming,
filing, the ledger and the lock around the same call.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from kpibatch import parallel
from kpibatch.checking import check_file
from kpibatch.config import Checking, Reporting, Scoring, Settings
from kpibatch.consolidate import Group, consolidate
from kpibatch.deadlines import group_standings, write_standings
from kpibatch.deliver.report import write_report_html
from kpibatch.errors import ConfigError, ExitCode
from kpibatch.fsutil import sweep_temp_files, write_atomic
from kpibatch.model import FileOutcome, Trend
from kpibatch.read.precheck import Limits
from kpibatch.read.workbook import list_workbooks
from kpibatch.registry import checked_all, registry_of
from kpibatch.results import group_dict, write_results
from kpibatch.safety import require_defused_xml
from kpibatch.score import ScoreOptions
from kpibatch.write import report_filename, write_report

__all__ = ["check_file"]  # the per-file stages, re-exported for callers of pipeline.check_file

log = logging.getLogger("kpibatch.pipeline")

G = TypeVar("G")
"""What ``orchestrate`` writes one output for: a ``Group``, or the batch's (fiscal year, round)."""


def score_options(scoring: Scoring) -> ScoreOptions:
    return ScoreOptions(floor=Decimal(scoring.floor))


@dataclass
class GroupOutput:
    group: Group
    folder: Path
    workbook: Path
    results: Path
    html: Path | None = None


@dataclass
class RunReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    outputs: list[GroupOutput] = field(default_factory=list)

    @property
    def accepted(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.accepted]

    @property
    def rejected(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if not o.accepted]

    @property
    def superseded(self) -> int:
        return sum(len(out.group.superseded) for out in self.outputs)

    @property
    def exit_code(self) -> int:
        return ExitCode.of_run(rejected=bool(self.rejected))


def write_group(
    group: Group,
    out: Path,
    reporting: Reporting,
    generated_at: dt.datetime,
    trend: Trend | None = None,
    *,
    checkpoint: Callable[[str], None] | None = None,
    received: Mapping[str, dt.datetime] | None = None,
) -> GroupOutput:
    """Write one group's workbook, results.json and report.html atomically into ``out/<year>-r<round>/``.

    ``received``: when the ledger received each division's submission (by ``division_key``), which the
    standings against a deadline go by; without it they go by the files' modification times.

    ``checkpoint("writing")`` is called with the new workbook in its temporary file, not yet in
    place: the batch's crash tests kill the run there (``kpibatch.batch.crash``).
    """
    folder = out / group.key
    folder.mkdir(parents=True, exist_ok=True)
    found = group_standings(group, reporting.divisions, received)  # issue 16: on time, late or missing

    def workbook_into(tmp: Path) -> None:
        jobs = reporting.jobs or parallel.default_jobs()
        write_report(group, tmp, reporting.style, generated_at, trend, standings=found, jobs=jobs)
        if checkpoint is not None:
            checkpoint("writing")

    workbook = write_atomic(folder / report_filename(group), workbook_into)
    data = group_dict(group, generated_at)
    results = write_atomic(folder / "results.json", lambda tmp: write_results(tmp, data))
    write_standings(found, folder)  # deadlines.json, read by report.html and the mail
    html = write_report_html(workbook, data, reporting.style, reporting.mail, reporting.divisions)
    if reporting.printing.pdf:  # issue 16: the printed PDF beside the workbook
        from kpibatch.deliver.pdf import workbook_pdf

        workbook_pdf(workbook, reporting.printing)
    return GroupOutput(group=group, folder=folder, workbook=workbook, results=results, html=html)


def check_files(
    files: Iterable[Path], checking: Checking, *, for_report: bool = False
) -> Generator[FileOutcome, None, None]:
    """Check every file, yielding outcomes as they are ready, in the order of ``files``.

    ``for_report``: the outcomes are kept until the report is written, so each accepted division
    keeps only what the outputs read (its scored KPIs, not the submission's rows as read:
    ``DivisionScore.without_rows``), which keeps a large batch's memory down.

    Workbooks are parsed in worker processes (``jobs``, 0 = one per CPU) or on a Dask
    cluster (``scheduler``), never in this process: a hostile file can abort the reader, and
    then only its worker dies. Each local worker runs under a memory limit and each file under a time
    limit (``worker_memory_mb``, ``file_timeout_s``); see ``kpibatch.parallel``.
    """
    require_defused_xml()
    workers, limits = checking.workers, checking.limits
    if workers.jobs < 0:
        raise ConfigError(f"setting jobs: {workers.jobs} is not 0 (one per CPU) or a number of processes")
    options = score_options(checking.scoring)
    prechecks = Limits.from_settings(limits)
    if workers.scheduler:
        outcomes = parallel.check_on_cluster(files, options, workers.scheduler, prechecks=prechecks)
    else:
        isolation = parallel.Limits(
            file_seconds=limits.file_timeout_s or None,
            memory_bytes=limits.worker_memory_mb * 1024 * 1024 if limits.worker_memory_mb else None,
        )
        jobs = workers.jobs or parallel.default_jobs()
        outcomes = parallel.check_in_workers(files, options, jobs, isolation, prechecks=prechecks)
    checked = _compacted(outcomes) if for_report else outcomes
    registry = registry_of(checking.divisions)  # issue 16: an unknown division is a warning, or a rejection
    return checked if registry is None else checked_all(checked, registry, strict=checking.divisions.strict)


def _compacted(outcomes: Generator[FileOutcome, None, None]) -> Generator[FileOutcome, None, None]:
    with contextlib.closing(outcomes):  # stopped early, the workers stop too
        for outcome in outcomes:
            if outcome.score is not None:
                outcome.score = outcome.score.without_rows()
            yield outcome


def orchestrate(
    files: Sequence[Path],
    checking: Checking,
    *,
    on_file: Callable[[FileOutcome], None],
    groups: Callable[[list[FileOutcome]], Iterable[G]],
    write: Callable[[G], GroupOutput],
) -> list[GroupOutput]:
    """Check every file, hand each outcome to ``on_file`` as it arrives (in the order of ``files``),
    then write each of ``groups(outcomes)``; the outputs written.

    ``groups`` and ``write`` say what a group is: for a plain run the consolidated outcomes and
    ``write_group``; for the drop-folder run the rounds that received something, consolidated with
    what the ledger holds, and the round writer that records each report in the ledger.
    """
    outcomes: list[FileOutcome] = []
    # closed at once when on_file raises: the workers stop instead of checking files nobody takes
    with contextlib.closing(check_files(files, checking, for_report=True)) as checked:
        for outcome in checked:
            outcomes.append(outcome)
            on_file(outcome)
    return [write(group) for group in groups(outcomes)]


def run_batch(
    files: Iterable[Path],
    out: Path,
    settings: Settings,
    *,
    on_file: Callable[[FileOutcome], None] | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> RunReport:
    """Check every file, consolidate by (fiscal year, round) and write each group's outputs.

    Files in, reports out, nothing moved: no ledger, no lock, no trend sheet.
    """
    report = RunReport()
    sweep_temp_files(out)
    clock = now or (lambda: dt.datetime.now(dt.UTC).astimezone())

    def take(outcome: FileOutcome) -> None:
        report.outcomes.append(outcome)
        if on_file is not None:
            on_file(outcome)

    generated: list[dt.datetime] = []

    def groups(outcomes: list[FileOutcome]) -> list[Group]:
        generated.append(clock())  # every group of the run carries the same time
        return consolidate(outcomes)

    report.outputs = orchestrate(
        list(files),
        settings.checking,
        on_file=take,
        groups=groups,
        write=lambda group: write_group(group, out, settings.reporting, generated[0]),
    )
    return report


def inbox_files(inbox: Path) -> list[Path]:
    return list_workbooks(inbox)
