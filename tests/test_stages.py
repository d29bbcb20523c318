"""One submission walked through the stages, each consuming the previous stage's model and returning its own.

read -> validate -> score -> consolidate -> write; ``checking.check_file`` (what the workers run) is the
first three in one call and gives the same outcome.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from kpibatch.checking import check_file
from kpibatch.config import load_settings
from kpibatch.consolidate import Group, consolidate
from kpibatch.model import DivisionScore, FileOutcome, KpiScore, SourceFile, Submission
from kpibatch.pipeline import GroupOutput, score_options, write_group
from kpibatch.problems import Problem
from kpibatch.read import ReadOutcome, read_submission
from kpibatch.read.precheck import precheck_opened
from kpibatch.score import score_division
from kpibatch.validate import validate

EXAMPLE = Path(__file__).resolve().parent.parent / "input_templates" / "examples" / "01_secretariat.xlsx"


def test_one_submission_through_every_stage(tmp_path: Path) -> None:
    settings = load_settings(overrides={"out": tmp_path / "out"}, environ={}, cwd=tmp_path)
    early, archive = precheck_opened(EXAMPLE)
    assert early == [] and archive is not None

    read = read_submission(EXAMPLE, archive)
    assert isinstance(read, ReadOutcome)
    assert isinstance(read.source, SourceFile) and isinstance(read.submission, Submission)
    submission = read.submission

    problems = validate(submission, read.problems)
    assert isinstance(problems, list) and all(isinstance(p, Problem) for p in problems)
    assert not [p for p in problems if p.severity == "error"]

    score = score_division(submission, score_options(settings))
    assert isinstance(score, DivisionScore) and score.submission is submission
    assert isinstance(score.total, Decimal) and all(isinstance(k, KpiScore) for k in score.kpis)

    outcome = FileOutcome(path=EXAMPLE, source=read.source, score=score, group=submission.group)
    [group] = consolidate([outcome])
    assert isinstance(group, Group)
    assert group.divisions == [score] and (group.fiscal_year, group.round) == submission.group

    # the workers' one call gives the same division and total
    checked = check_file(EXAMPLE, score_options(settings))
    assert isinstance(checked, FileOutcome) and checked.accepted and checked.score is not None
    assert (checked.score.division, checked.score.total) == (score.division, score.total)

    generated = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    output = write_group(group, settings.out, settings.reporting, generated)
    assert isinstance(output, GroupOutput) and output.workbook.is_file()
    results = json.loads(output.results.read_text(encoding="utf-8"))
    assert [d["division"] for d in results["divisions"]] == [score.division]
    assert Decimal(str(results["divisions"][0]["total"])) == score.total
