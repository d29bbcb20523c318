"""One workbook through the per-file stages: read -> validate -> score (reallocation is scoring's step).

``check_file`` is a top-level pure function of its path so that it can run in worker processes
(``kpibatch.parallel``); it returns a ``FileOutcome``, plain model data, and writes nothing.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

from kpibatch.model import FileOutcome
from kpibatch.problems import Problem
from kpibatch.read import read_submission
from kpibatch.read.archive import Archive
from kpibatch.read.precheck import Limits, precheck_opened, problem_for_exception
from kpibatch.safety import clip_submission
from kpibatch.score import ScoreOptions, score_division
from kpibatch.validate import validate


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
        division = sub.division if sub is not None else None
        return FileOutcome(
            path=path, source=read.source, score=None, problems=problems, group=group, division=division
        )
    score = score_division(sub, options)
    # the file's own warnings (macros ignored, text cut) belong to the division as the scorer's do:
    # results.json, the overview's count and the division sheet list them all
    score = dataclasses.replace(score, warnings=(*problems, *score.warnings))
    return FileOutcome(path=path, source=read.source, score=score, problems=list(score.warnings), group=group)
