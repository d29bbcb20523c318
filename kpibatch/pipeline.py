"""The batch, top to bottom: read -> validate -> score -> reallocate -> consolidate -> write.

``check_file`` takes one workbook through reading, validation and scoring; it is a top-level pure
function of its path so that it can run in worker processes. ``run_batch`` runs every file of an
inbox through it, consolidates the accepted ones and writes one workbook and one results.json per
(fiscal year, round).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from kpibatch.config import ConfigError, Scoring, Settings
from kpibatch.consolidate import FileOutcome, Group, consolidate
from kpibatch.fsutil import sweep_temp_files, write_atomic
from kpibatch.problems import Problem
from kpibatch.read import read_submission
from kpibatch.read.archive import Archive
from kpibatch.read.precheck import Limits, precheck_opened, problem_for_exception
from kpibatch.read.workbook import list_workbooks
from kpibatch.safety import clip_submission, require_defused_xml
from kpibatch.score import ScoreOptions, score_division
from kpibatch.validate import validate

if TYPE_CHECKING:
    from kpibatch.write.trend import Trend

log = logging.getLogger("kpibatch.pipeline")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_LOCKED = 4
EXIT_MAIL = 5


def score_options(scoring: Scoring) -> ScoreOptions:
    return ScoreOptions(floor=Decimal(scoring.floor))


def check_file(path: Path, options: ScoreOptions, limits: Limits | None = None) -> FileOutcome:
    """Read, validate and score one workbook; every problem in it is collected.

    A file that fails the cheap checks (``precheck``) is never opened by a parser, and whatever a
    parser still raises on a damaged file becomes a rejection with a reason, never a crash of the run.
    The outcome is plain model data (the division's score and the problems); the main process writes
    every output from it.
    """
    try:
        with warnings.catch_warnings():
            # openpyxl warns about parts it ignores (a missing stylesheet, data validation
            # extensions): nothing a division can act on, and noise in an unattended run's log
            warnings.simplefilter("ignore")
            early, archive = precheck_opened(path, limits)
            if archive is None:
                return FileOutcome(path=path, source=None, score=None, problems=early)
            return _check_file(path, archive, options, early)
    except MemoryError:
        raise  # the worker's memory limit: the pool rejects the file and starts a fresh worker
    except Exception as exc:  # the last line of defence: one damaged file must not stop the batch
        return FileOutcome(
            path=path, source=None, score=None, problems=[problem_for_exception(exc, path.name)]
        )


def _check_file(path: Path, archive: Archive, options: ScoreOptions, early: list[Problem]) -> FileOutcome:
    read = read_submission(path, archive)
    problems = [*early, *read.problems]
    sub = read.submission
    if sub is not None:
        sub, cut = clip_submission(sub)
        problems += cut + validate(sub, read.problems)
    group = sub.group if sub is not None else None
    if sub is None or any(p.severity == "error" for p in problems):
        return FileOutcome(path=path, source=read.source, score=None, problems=problems, group=group)
    score = score_division(sub, options)
    # the file's own warnings (macros ignored, text cut) belong to the division as the scorer's do:
    # results.json, the overview's count and the division sheet list them all
    score = dataclasses.replace(score, warnings=(*problems, *score.warnings))
    return FileOutcome(path=path, source=read.source, score=score, problems=list(score.warnings), group=group)


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
        return EXIT_REJECTED if self.rejected else EXIT_OK


def write_group(
    group: Group, out: Path, settings: Settings, generated_at: dt.datetime, trend: Trend | None = None
) -> GroupOutput:
    """Write one group's workbook, results.json and report.html atomically into ``out/<year>-r<round>/``."""
    # the writers are imported here: worker processes import this module for check_file only
    from kpibatch.deliver.report import write_report_html
    from kpibatch.results import group_dict, write_results
    from kpibatch.write import report_filename, write_report

    folder = out / group.key
    folder.mkdir(parents=True, exist_ok=True)
    workbook = write_atomic(
        folder / report_filename(group),
        lambda tmp: write_report(group, tmp, settings.style, generated_at, trend) and None,
    )
    data = group_dict(group, generated_at)
    results = write_atomic(folder / "results.json", lambda tmp: write_results(tmp, data))
    html = write_report_html(workbook, data, settings.style, settings.mail)
    return GroupOutput(group=group, folder=folder, workbook=workbook, results=results, html=html)


def check_files(
    files: Iterable[Path], settings: Settings, *, for_report: bool = False
) -> Iterator[FileOutcome]:
    """Check every file, yielding outcomes as they are ready, in the order of ``files``.

    ``for_report``: the outcomes are kept until the report is written, so each accepted division
    keeps only what the outputs read (its scored KPIs, not the submission's rows as read:
    ``DivisionScore.without_rows``), which keeps a large batch's memory down.

    Workbooks are parsed in worker processes (``settings.jobs``, 0 = one per CPU) or on a Dask
    cluster (``settings.scheduler``), never in this process: a hostile file can abort the reader, and
    then only its worker dies. Each local worker runs under a memory limit and each file under a time
    limit (``worker_memory_mb``, ``file_timeout_s``); see ``kpibatch.parallel``.
    """
    from kpibatch import parallel  # imported here: parallel imports check_file from this module

    require_defused_xml()
    if settings.jobs < 0:
        raise ConfigError(f"setting jobs: {settings.jobs} is not 0 (one per CPU) or a number of processes")
    options = score_options(settings.scoring)
    prechecks = Limits.from_settings(settings.limits)
    if settings.scheduler:
        outcomes = parallel.check_on_cluster(files, options, settings.scheduler, prechecks=prechecks)
    else:
        isolation = parallel.Limits(
            file_seconds=settings.file_timeout_s or None,
            memory_bytes=settings.worker_memory_mb * 1024 * 1024 if settings.worker_memory_mb else None,
        )
        jobs = settings.jobs or parallel.default_jobs()
        outcomes = parallel.check_in_workers(files, options, jobs, isolation, prechecks=prechecks)
    return _compacted(outcomes) if for_report else outcomes


def _compacted(outcomes: Generator[FileOutcome, None, None]) -> Iterator[FileOutcome]:
    with contextlib.closing(outcomes):  # stopped early, the workers stop too
        for outcome in outcomes:
            if outcome.score is not None:
                outcome.score = outcome.score.without_rows()
            yield outcome


def run_batch(
    files: Iterable[Path],
    out: Path,
    settings: Settings,
    *,
    on_file: Callable[[FileOutcome], None] | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> RunReport:
    """Check every file, consolidate by (fiscal year, round) and write each group's outputs."""
    report = RunReport()
    sweep_temp_files(out)
    for outcome in check_files(files, settings, for_report=True):
        report.outcomes.append(outcome)
        if on_file is not None:
            on_file(outcome)
    generated_at = (now or (lambda: dt.datetime.now(dt.UTC).astimezone()))()
    for group in consolidate(report.outcomes):
        report.outputs.append(write_group(group, out, settings, generated_at))
    return report


def inbox_files(inbox: Path) -> list[Path]:
    return list_workbooks(inbox)
