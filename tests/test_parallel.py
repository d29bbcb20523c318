"""The worker pool: same outcomes as checking in-process, input order, bounded read-ahead, and a file
that kills or stalls its worker rejected alone while the batch goes on."""

from __future__ import annotations

import gc
import json
import multiprocessing
import pickle
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import kpi, write_submission
from workbooks import claims_whole_grid, long_workbook

from kpibatch.cli import main
from kpibatch.config import ConfigError, Settings, load_settings
from kpibatch.consolidate import FileOutcome
from kpibatch.parallel import PREFETCH, Limits, WorkerPool, check_in_workers, default_jobs
from kpibatch.pipeline import check_file, check_files
from kpibatch.read.precheck import Limits as PrecheckLimits
from kpibatch.score import ScoreOptions

OPTIONS = ScoreOptions()
UNCHECKED = PrecheckLimits(
    max_file_bytes=2**40,
    max_members=10**6,
    max_unzipped_bytes=2**40,
    max_ratio=10**6,
    max_rows=10**8,
    max_columns=10**6,
)
"""Prechecks that let everything through, so that the isolation of the parser itself is tested."""


def summary(outcome: FileOutcome) -> dict[str, Any]:
    """What a run reports about a file: everything that reaches the workbook and results.json."""
    score = outcome.score
    return {
        "file": outcome.name,
        "sha256": outcome.source.sha256 if outcome.source else None,
        "group": outcome.group,
        "problems": [p.to_dict() for p in outcome.problems],
        "total": str(score.total) if score else None,
        "kpis": [(k.code, str(k.score), str(k.effective_weight), k.status) for k in score.kpis]
        if score
        else None,
    }


@pytest.fixture(scope="module")
def mixed_inbox(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The six examples plus accepted, rejected and unreadable files of our own, interleaved."""
    folder = tmp_path_factory.mktemp("mixed")
    examples = Path(__file__).resolve().parent.parent / "input_templates" / "examples"
    files = []
    for i, example in enumerate(sorted(examples.glob("*.xlsx"))):
        files.append(shutil.copy(example, folder / example.name))
        files.append(
            write_submission(
                folder / f"extra_{i}.xlsx",
                [
                    kpi("1", 60, method="score", result=i % 5),
                    kpi("2", 40 + (i % 2), method="score", result=3),  # odd ones sum to 101: rejected
                ],
                division=f"กองทดสอบ {i}",
            )
        )
    broken = folder / "broken.xlsx"
    broken.write_bytes(b"this is not a workbook")
    files.insert(3, broken)
    return [Path(f) for f in files]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    examples = Path(__file__).resolve().parent.parent / "input_templates" / "examples"
    target = tmp_path_factory.mktemp("hostile") / "grid.xlsx"
    return claims_whole_grid(examples / "01_secretariat.xlsx", target)


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """50,000 KPI rows: seconds to check on any machine, and well over 100 MB for a worker."""
    return long_workbook(tmp_path_factory.mktemp("slow") / "long.xlsx", 50_000)


def test_pool_gives_the_in_process_outcomes_in_input_order(mixed_inbox: list[Path]) -> None:
    expected = [summary(check_file(path, OPTIONS)) for path in mixed_inbox]
    for jobs in (1, 2, 3):
        with WorkerPool(jobs, OPTIONS, window=4) as pool:
            got = [summary(o) for o in pool.map(mixed_inbox)]
        assert got == expected, f"jobs={jobs}"
    assert sum(1 for s in expected if s["total"] is not None) == 9
    assert any(p["code"] in ("file-unreadable", "not-a-workbook") for s in expected for p in s["problems"])
    assert any(p["code"] == "weight-sum" for s in expected for p in s["problems"])


def test_read_ahead_stays_within_the_window(mixed_inbox: list[Path]) -> None:
    """Files are pulled from the input only as results are consumed: memory stays flat for any N."""
    pulled = 0

    def lazily() -> Iterator[Path]:
        nonlocal pulled
        for path in mixed_inbox * 3:
            pulled += 1
            yield path

    window = 2 * PREFETCH + 1  # the least a pool of two allows is what it prefetches
    yielded = 0
    with WorkerPool(2, OPTIONS, window=window) as pool:
        for _ in pool.map(lazily()):
            yielded += 1
            assert pulled - yielded <= window
    assert yielded == len(mixed_inbox) * 3


def test_a_file_that_kills_its_worker_is_rejected_alone(mixed_inbox: list[Path], hostile: Path) -> None:
    files = [*mixed_inbox[:4], hostile, *mixed_inbox[4:]]
    # past the cheap checks (which reject this file before any parser sees it) to the parser itself
    with WorkerPool(2, OPTIONS, prechecks=UNCHECKED) as pool:
        outcomes = list(pool.map(files))
        restarts = pool.restarts
    assert [o.path for o in outcomes] == files
    bad = outcomes[4]
    assert not bad.accepted and [p.code for p in bad.problems] == ["check-crashed"]
    problem = bad.problems[0]
    assert problem.file == "grid.xlsx"
    assert "signal" in problem.message_en and "ตรวจไฟล์นี้ไม่สำเร็จ" in problem.message_th
    assert problem.to_dict()["fix_th"] and problem.to_dict()["fix_en"]
    others = [summary(o) for o in outcomes[:4] + outcomes[5:]]
    assert others == [summary(check_file(p, OPTIONS)) for p in mixed_inbox]
    assert restarts == 1


def test_a_file_over_the_time_limit_is_rejected_and_the_batch_goes_on(
    mixed_inbox: list[Path], slow: Path
) -> None:
    files = [mixed_inbox[0], slow, *mixed_inbox[1:6], slow, mixed_inbox[6]]
    # the examples are filled templates (some 0.1 s each, a worker's first file more): 2 s leaves them
    # room on a busy machine and is still far below the 50,000-row file's seconds
    with WorkerPool(2, OPTIONS, Limits(file_seconds=2), prechecks=UNCHECKED) as pool:
        outcomes = list(pool.map(files))
    codes = [[p.code for p in o.problems] for o in outcomes]
    assert codes[1] == codes[7] == ["check-timed-out"]
    assert "longer than 2 seconds" in outcomes[1].problems[0].message_en
    expected = [summary(check_file(p, OPTIONS)) for p in [mixed_inbox[0], *mixed_inbox[1:6], mixed_inbox[6]]]
    assert [summary(o) for i, o in enumerate(outcomes) if i not in (1, 7)] == expected


def test_a_file_over_the_memory_limit_is_rejected_and_the_batch_goes_on(
    mixed_inbox: list[Path], slow: Path
) -> None:
    files = [mixed_inbox[0], slow, mixed_inbox[1]]
    with WorkerPool(1, OPTIONS, Limits(memory_bytes=48 * 2**20), prechecks=UNCHECKED) as pool:
        outcomes = list(pool.map(files))
    assert [p.code for p in outcomes[1].problems] == ["check-crashed"]
    assert [summary(o) for o in (outcomes[0], outcomes[2])] == [
        summary(check_file(p, OPTIONS)) for p in mixed_inbox[:2]
    ]


def test_stopping_early_leaves_no_worker_behind(mixed_inbox: list[Path]) -> None:
    outcomes = check_in_workers(mixed_inbox, OPTIONS, jobs=2)
    next(outcomes)
    outcomes.close()
    assert multiprocessing.active_children() == []


def test_pool_starts_safely_when_other_threads_run(mixed_inbox: list[Path]) -> None:
    """A threaded caller (a mail server in the same process) gets forkserver workers, same outcomes."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        got = [summary(o) for o in check_in_workers(mixed_inbox[:3], OPTIONS, jobs=2)]
    finally:
        stop.set()
        thread.join()
    assert got == [summary(check_file(p, OPTIONS)) for p in mixed_inbox[:3]]


def test_check_files_uses_the_jobs_setting(mixed_inbox: list[Path]) -> None:
    expected = [summary(check_file(p, OPTIONS)) for p in mixed_inbox]
    assert [summary(o) for o in check_files(mixed_inbox, Settings(jobs=1))] == expected
    with pytest.raises(ConfigError):
        check_files(mixed_inbox, Settings(jobs=-1))
    assert default_jobs() >= 1


def test_jobs_and_scheduler_settings_from_file_and_environment(tmp_path: Path) -> None:
    (tmp_path / "kpibatch.toml").write_text('jobs = 3\nscheduler = "tcp://10.0.0.5:8786"\n')
    settings = load_settings(cwd=tmp_path, environ={})
    assert (settings.jobs, settings.scheduler) == (3, "tcp://10.0.0.5:8786")
    settings = load_settings(cwd=tmp_path, environ={"KPIBATCH_JOBS": "1"}, overrides={"jobs": 2})
    assert settings.jobs == 2
    assert load_settings(environ={}, cwd=tmp_path / "none").jobs == 0


def results_of(out: Path) -> dict[str, Any]:
    data = json.loads(next(out.glob("*/results.json")).read_text(encoding="utf-8"))
    data.pop("generated_at")
    return data


def test_cli_jobs_option_gives_the_same_report(examples_inbox: Path, tmp_path: Path) -> None:
    for jobs, out in (("1", "one"), ("2", "two")):
        args = ["run", "--inbox", str(examples_inbox), "--out", str(tmp_path / out), "--jobs", jobs, "-q"]
        assert main(args) == 0
    assert results_of(tmp_path / "one") == results_of(tmp_path / "two")
    assert len(results_of(tmp_path / "one")["divisions"]) == 6


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_cli_refuses_a_bad_jobs_count(examples_inbox: Path, tmp_path: Path, value: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["run", "--inbox", str(examples_inbox), "--out", str(tmp_path), "--jobs", value])
    assert stop.value.code == 2


def test_cli_hostile_file_is_listed_as_rejected(examples_inbox: Path, hostile: Path, tmp_path: Path) -> None:
    shutil.copy(hostile, examples_inbox / "07_grid.xlsx")
    out = tmp_path / "out"
    assert main(["run", "--inbox", str(examples_inbox), "--out", str(out), "-q"]) == 3
    data = results_of(out)
    assert len(data["divisions"]) == 6
    assert [(r["file"], [e["code"] for e in r["errors"]]) for r in data["rejected"]] == [
        ("07_grid.xlsx", ["sheet-dimension-too-large"])  # caught before any parser runs
    ]


def test_equal_decimals_from_workers_share_one_object(mixed_inbox: list[Path]) -> None:
    """What grows with N in the main process is the outcomes; repeated weights and scores are shared."""
    with WorkerPool(2, OPTIONS) as pool:
        outcomes = [o for o in pool.map(mixed_inbox) if o.score is not None]
    values = [v for o in outcomes for k in o.score.kpis for v in (k.weight, k.score) if v is not None]  # type: ignore[union-attr]
    objects: dict[str, set[int]] = {}
    for value in values:
        objects.setdefault(str(value), set()).add(id(value))
    assert len(values) > 2 * len(objects)  # plenty of repeats across divisions
    assert all(len(ids) == 1 for ids in objects.values())


def test_equal_kpi_texts_from_workers_share_one_object(mixed_inbox: list[Path]) -> None:
    """Codes, units, methods and shared names repeat across divisions: one object each."""
    with WorkerPool(2, OPTIONS) as pool:
        outcomes = [o for o in pool.map(mixed_inbox) if o.score is not None]
    texts = [v for o in outcomes for k in o.score.kpis for v in (k.code, k.unit, k.name) if v]  # type: ignore[union-attr]
    objects: dict[str, set[int]] = {}
    for text in texts:
        objects.setdefault(text, set()).add(id(text))
    assert len(texts) > 2 * len(objects)  # plenty of repeats across divisions
    assert all(len(ids) == 1 for ids in objects.values())


def test_a_kpi_rebuilt_from_a_worker_is_the_kpi_it_sent(mixed_inbox: list[Path]) -> None:
    """``shared_kpi`` spells out ``KpiScore``'s fields: they must stay the same, in the same order."""
    import dataclasses
    import inspect

    from kpibatch.model import KpiScore
    from kpibatch.parallel import dumps, shared_kpi

    fields = tuple(f.name for f in dataclasses.fields(KpiScore))
    assert tuple(inspect.signature(shared_kpi).parameters) == fields
    [outcome] = [check_file(p, OPTIONS) for p in mixed_inbox[:1]]
    assert outcome.score is not None
    assert pickle.loads(dumps(outcome.score.kpis)) == outcome.score.kpis


def test_outcomes_are_frozen_while_they_accumulate_and_released_after(mixed_inbox: list[Path]) -> None:
    with WorkerPool(2, OPTIONS) as pool:
        pool.freeze_every = 4
        frozen = [gc.get_freeze_count() for _ in pool.map(mixed_inbox)]
    assert frozen[0] == 0 and frozen[-1] > 0
    assert gc.get_freeze_count() == 0
