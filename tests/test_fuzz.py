"""Fuzzing the reader, the validator and the scorer with valid and nearly-valid workbooks, and a
small mutation run over damaged copies of a valid one. Every file ends accepted (every score within
[0, 5]) or rejected with problems that name their file, and their sheet or cell; never an exception.
"""

from __future__ import annotations

import io
import itertools
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import EXAMPLES
from hypothesis import HealthCheck, given, settings

from fuzz.strategies import Plan, nearly_valid_plans, valid_plans, write_plan
from kpibatch.consolidate import FileOutcome
from kpibatch.pipeline import check_file
from kpibatch.score import ScoreOptions
from kpibatch.text import code_key

FIVE = Decimal(5)
FILE_LEVEL = {"file-unreadable", "read-failed", "macros-ignored", "sheet-missing", "template-too-new"}
"""Problems about the file as a whole; every other problem names a sheet."""
_names = itertools.count()


def assert_well_formed(outcome: FileOutcome, path: Path) -> None:
    # The last line of defence in check_file turns exceptions into read-failed; for workbooks that
    # a real spreadsheet program writes, the reader itself must handle every value.
    assert [p for p in outcome.problems if p.code == "read-failed"] == [], outcome.problems
    for problem in outcome.problems:
        assert problem.file == path.name
        assert problem.code in FILE_LEVEL or problem.sheet, problem
        assert problem.message_th and problem.message_en
    if outcome.accepted:
        assert outcome.score is not None
        assert outcome.score.total is None or 0 <= outcome.score.total <= FIVE
        for kpi in outcome.score.kpis:
            assert kpi.score is None or 0 <= kpi.score <= FIVE
    else:
        assert outcome.errors, "a rejected file says why"


def check(plan: Plan, folder: Path) -> FileOutcome:
    path = write_plan(plan, folder / f"f{next(_names)}.xlsx")
    try:
        outcome = check_file(path, ScoreOptions())
        assert_well_formed(outcome, path)
        return outcome
    finally:
        path.unlink()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=valid_plans())
def test_valid_workbooks_are_accepted_with_scores_in_range(plan: Plan, tmp_path: Path) -> None:
    outcome = check(plan, tmp_path)
    assert outcome.accepted, [p.render() for p in outcome.errors]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=nearly_valid_plans())
def test_nearly_valid_workbooks_are_accepted_or_rejected_with_a_located_reason(
    plan: Plan, tmp_path: Path
) -> None:
    check(plan, tmp_path)


def test_the_mutation_run_loses_no_file(tmp_path: Path) -> None:
    from fuzz.mutations import mutate_all, run_in_process

    source = (EXAMPLES / "03_human_resources.xlsx").read_bytes()
    files = mutate_all(source, tmp_path, count=200, seed=8)
    figures = run_in_process(files)
    assert figures["files"] == 200 and figures["lost"] == 0 and figures["tracebacks"] == 0
    assert figures["accepted"] + figures["rejected"] == 200
    assert figures["rejected_without_reason"] == 0
    assert figures["rejected"] > 50 and figures["accepted"] > 10  # the damage is real, and not total


def test_the_atheris_harness_tells_kpibatch_bugs_from_damaged_files() -> None:
    """The harness logic, without atheris: fuzz/fuzz_reader.py documents how to run the fuzzer."""
    from fuzz import corpus
    from fuzz.fuzz_reader import _raised_by_kpibatch, check_input

    source = (EXAMPLES / "01_secretariat.xlsx").read_bytes()
    assert check_input(source) == "accepted"
    assert check_input(b"") == "rejected-by-precheck"
    assert check_input(corpus.dimension_bomb(source)) == "rejected-by-precheck"
    # the calamine reader turns the damaged cell into a rejection (openpyxl raised IndexError here)
    assert check_input(corpus.bad_cell(source)) == "rejected-by-reader"
    with pytest.raises(ValueError) as ours:
        code_key("2.x")  # raised inside kpibatch: a bug the fuzzer must report
    assert _raised_by_kpibatch(ours.value)
    with pytest.raises(zipfile.BadZipFile) as theirs:
        zipfile.ZipFile(io.BytesIO(b"not a zip"))  # raised inside a library on damaged input
    assert not _raised_by_kpibatch(theirs.value)
