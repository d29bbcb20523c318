"""Division sheets laid out in worker processes (``kpibatch.write.plan``) make the workbook the main
process makes alone, byte for byte, in memory and row by row; a worker that dies leaves its sheets
to the main process."""

from __future__ import annotations

import os
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_bench_smoke import bench
from write_helpers import GENERATED_AT

import kpibatch.write
from kpibatch.config import ReportStyle, Settings
from kpibatch.consolidate import Group, consolidate
from kpibatch.pipeline import check_files
from kpibatch.write import division, plan

pytestmark = pytest.mark.skipif(
    not plan.can_fork(), reason="division sheets are laid out in workers only where fork exists"
)


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Group:
    """A round of 40 generated divisions (sub-KPIs, reallocations, long Thai names, status texts)."""
    corpus = bench.generate(tmp_path_factory.mktemp("corpus"), 40, seed=11, processes=1)
    outcomes = list(check_files(sorted(corpus.glob("*.xlsx")), Settings(jobs=1), for_report=True))
    (found,) = consolidate(outcomes)
    assert len(found.divisions) > 3 * 4
    return found


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as book:
        return {name: book.read(name) for name in book.namelist()}


def written(group: Group, path: Path, jobs: int, style: ReportStyle) -> dict[str, bytes]:
    kpibatch.write.write_report(group, path, style, GENERATED_AT, jobs=jobs)
    return parts(path)


@pytest.fixture
def replayed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sheets the main process wrote from a plan (so the workers' path was really taken)."""
    names: list[str] = []

    def counting(ctx: Any, sheet_plan: plan.SheetPlan) -> Any:
        names.append(sheet_plan.name)
        return plan.replay(ctx, sheet_plan)

    monkeypatch.setattr(division, "replay", counting)
    monkeypatch.setattr(plan, "IN_WORKERS_FROM", 2)
    monkeypatch.setattr(plan, "CHUNK", 4)  # several tasks per worker, plans sharing a task's styles
    return names


@pytest.mark.parametrize("row_by_row", [False, True], ids=["in_memory", "row_by_row"])
@pytest.mark.parametrize("thai_digits", [False, True], ids=["arabic", "thai_digits"])
def test_sheets_laid_out_in_workers_make_the_same_workbook(
    group: Group,
    replayed: list[str],
    row_by_row: bool,
    thai_digits: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if row_by_row:
        monkeypatch.setattr(kpibatch.write, "ROW_BY_ROW_FROM", 0)
    style = replace(Settings().style, thai_digits=thai_digits)
    alone = written(group, tmp_path / "alone.xlsx", 1, style)
    assert replayed == []
    in_workers = written(group, tmp_path / "workers.xlsx", 2, style)
    # row by row (the largest reports) the main process lays out alone: forked workers would copy the
    # divisions' memory pages they read (decision 0012)
    assert len(replayed) == (0 if row_by_row else len(group.divisions))
    assert sorted(in_workers) == sorted(alone)
    assert [name for name in alone if in_workers[name] != alone[name]] == []


def test_a_worker_that_dies_leaves_its_sheets_to_the_main_process(
    group: Group, replayed: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = os.getpid()
    doomed = group.divisions[9].division

    def dies_in_a_worker(ctx: Any, page: Any) -> Any:
        if os.getpid() != main and page.score.division == doomed:
            os._exit(9)
        return division.write_division_sheet(ctx, page)

    style = Settings().style
    alone = written(group, tmp_path / "alone.xlsx", 1, style)
    monkeypatch.setattr(kpibatch.write, "write_division_sheet", dies_in_a_worker)
    after_a_death = written(group, tmp_path / "workers.xlsx", 2, style)
    assert len(replayed) == len(group.divisions)
    assert [name for name in alone if after_a_death.get(name) != alone[name]] == []


def test_one_job_or_a_small_report_is_laid_out_by_the_main_process(group: Group) -> None:
    from kpibatch.write.context import ReportContext

    ctx = ReportContext(
        workbook=None, formats=None, group=group, generated_at=GENERATED_AT, thai_digits=False
    )  # type: ignore[arg-type]
    ctx.pages = kpibatch.write.division_pages(group, [])
    assert plan.laid_out_in_workers(ctx, division.write_division_sheet, 1) is None
    ctx.pages = ctx.pages[: plan.IN_WORKERS_FROM - 1]
    assert plan.laid_out_in_workers(ctx, division.write_division_sheet, 2) is None
