"""The batch, top to bottom: read -> validate -> score -> reallocate -> consolidate -> write.

``check_file`` takes one workbook through reading, validation and scoring; it is a top-level pure
function of its path so that it can run in worker processes. ``run_batch`` runs every file of an
inbox through it, consolidates the accepted ones and writes one workbook and one results.json per
(fiscal year, round).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from kpibatch.config import ConfigError, Settings
from kpibatch.consolidate import FileOutcome, Group, consolidate
from kpibatch.fsutil import write_atomic, write_text_atomic
from kpibatch.read import read_submission
from kpibatch.read.workbook import list_workbooks
from kpibatch.results import group_dict
from kpibatch.score import ScoreOptions, score_division
from kpibatch.validate import validate
from kpibatch.write import report_filename, write_report

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_LOCKED = 4
EXIT_MAIL = 5


def score_options(settings: Settings) -> ScoreOptions:
    return ScoreOptions(floor=Decimal(settings.floor))


def check_file(path: Path, options: ScoreOptions) -> FileOutcome:
    """Read, validate and score one workbook; every problem in it is collected."""
    read = read_submission(path)
    problems = list(read.problems)
    sub = read.submission
    if sub is not None:
        problems += validate(sub, read.problems)
    group = sub.group if sub is not None else None
    if sub is None or any(p.severity == "error" for p in problems):
        return FileOutcome(path=path, source=read.source, score=None, problems=problems, group=group)
    score = score_division(sub, options)
    problems += score.warnings
    return FileOutcome(path=path, source=read.source, score=score, problems=problems, group=group)


@dataclass
class GroupOutput:
    group: Group
    folder: Path
    workbook: Path
    results: Path


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


def write_group(group: Group, out: Path, settings: Settings, generated_at: dt.datetime) -> GroupOutput:
    """Write one group's workbook and results.json atomically into ``out/<year>-r<round>/``."""
    folder = out / group.key
    folder.mkdir(parents=True, exist_ok=True)
    workbook = write_atomic(
        folder / report_filename(group), lambda tmp: write_report(group, tmp, settings, generated_at) and None
    )
    text = json.dumps(group_dict(group, generated_at), ensure_ascii=False, indent=2) + "\n"
    results = write_text_atomic(folder / "results.json", text)
    return GroupOutput(group=group, folder=folder, workbook=workbook, results=results)


def check_files(files: Iterable[Path], settings: Settings) -> Iterator[FileOutcome]:
    """Check every file, yielding outcomes as they are ready, in the order of ``files``.

    Workbooks are parsed in worker processes (``settings.jobs``, 0 = one per CPU) or on a Dask
    cluster (``settings.scheduler``), never in this process: a hostile file can abort the reader, and
    then only its worker dies (see ``kpibatch.parallel``).
    """
    from kpibatch import parallel  # imported here: parallel imports check_file from this module

    if settings.jobs < 0:
        raise ConfigError(f"setting jobs: {settings.jobs} is not 0 (one per CPU) or a number of processes")
    options = score_options(settings)
    if settings.scheduler:
        return parallel.check_on_cluster(files, options, settings.scheduler)
    return parallel.check_in_workers(files, options, settings.jobs or parallel.default_jobs())


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
    for outcome in check_files(files, settings):
        report.outcomes.append(outcome)
        if on_file is not None:
            on_file(outcome)
    generated_at = (now or (lambda: dt.datetime.now(dt.UTC).astimezone()))()
    for group in consolidate(report.outcomes):
        report.outputs.append(write_group(group, out, settings, generated_at))
    return report


def inbox_files(inbox: Path) -> list[Path]:
    return list_workbooks(inbox)
