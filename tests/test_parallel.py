"""The worker pool: same outcomes as checking in-process, input order, bounded read-ahead, and a file
that kills or stalls its worker rejected alone while the batch goes on."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import sys
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
from kpibatch.parallel import Limits, WorkerPool, check_in_workers, default_jobs
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

    window = 3
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


@pytest.fixture(scope="module")
def huge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100,000 KPI rows: a worker needs some 50 MB more to read it."""
    return long_workbook(tmp_path_factory.mktemp("huge") / "huge.xlsx", 100_000)


def test_a_file_over_the_memory_limit_is_rejected_and_the_batch_goes_on(
    mixed_inbox: list[Path], huge: Path
) -> None:
    """A forked worker starts with every module imported, so what it adds is the file's data alone:
    the examples need less than 8 MB more."""
    files = [mixed_inbox[0], huge, mixed_inbox[1]]
    with WorkerPool(1, OPTIONS, Limits(memory_bytes=16 * 2**20), prechecks=UNCHECKED) as pool:
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
    """A threaded caller (a mail server in the same process) forks its workers all the same: same outcomes."""
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
    assert [summary(o) for o in check_files(mixed_inbox, Settings(jobs=1).checking)] == expected
    with pytest.raises(ConfigError):
        check_files(mixed_inbox, Settings(jobs=-1).checking)
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


def _limit_after_freeing(megabytes: int, queue: Any) -> None:
    """In a fresh process: free ``megabytes`` of C heap in holes, cap the memory at 64 MB more, and
    report the free heap and the room left under the cap."""
    import resource

    from kpibatch.parallel import _limit_memory, free_heap_bytes

    blocks = [bytes(4000) + bytes([i % 256]) for i in range(megabytes * 256)]  # C heap, not pymalloc
    kept = blocks[::2]  # every other block stays: the freed ones are holes the heap cannot give back
    del blocks
    free = free_heap_bytes()
    _limit_memory(64 * 2**20)
    status = Path("/proc/self/status").read_text().splitlines()
    size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    queue.put((free, resource.getrlimit(resource.RLIMIT_AS)[0] - size, len(kept)))


def test_heap_the_main_process_freed_counts_against_a_worker_s_memory_limit() -> None:
    """A forked worker can fill the holes in the heap it inherits without growing its address space,
    so they are taken off the room its limit leaves it."""
    context = multiprocessing.get_context("spawn")  # fresh processes: little free heap to begin with
    got = []
    for megabytes in (0, 80):
        queue = context.Queue()
        child = context.Process(target=_limit_after_freeing, args=(megabytes, queue))
        child.start()
        got.append(queue.get(timeout=60))
        child.join()
    (free_before, room_before, _), (free_after, room_after, _) = got
    freed = free_after - free_before
    assert freed > 30 * 2**20
    assert room_after < room_before - freed + 2**20


EXAMPLES = Path(__file__).resolve().parent.parent / "input_templates" / "examples"


def _run_script(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    """Run ``body`` as a plain script file, as a user would: no ``if __name__ == "__main__":``."""
    script = tmp_path / "score_them.py"
    script.write_text(body, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )


def test_run_batch_works_from_a_plain_script(tmp_path: Path) -> None:
    result = _run_script(
        tmp_path,
        "from pathlib import Path\n"
        "from kpibatch.config import Settings\n"
        "from kpibatch.pipeline import run_batch\n"
        f"files = sorted(Path({str(EXAMPLES)!r}).glob('*.xlsx'))\n"
        "report = run_batch(files, Path('out'), Settings(jobs=2))\n"
        "print(len(report.accepted), len(report.rejected), report.outputs[0].workbook.name)\n",
    )
    assert result.returncode == 0, result.stderr
    accepted, rejected, workbook = result.stdout.split()
    assert (accepted, rejected) == ("6", "0")
    results = json.loads(next((tmp_path / "out").glob("*/results.json")).read_text(encoding="utf-8"))
    assert len(results["divisions"]) == 6 and workbook.endswith(".xlsx")


def test_a_plain_script_on_a_spawning_platform_is_told_what_to_add(tmp_path: Path) -> None:
    """Where workers are spawned, each imports the script again; it is stopped with advice at once."""
    result = _run_script(
        tmp_path,
        "from pathlib import Path\n"
        "from kpibatch.parallel import check_in_workers\n"
        "from kpibatch.score import ScoreOptions\n"
        f"files = sorted(Path({str(EXAMPLES)!r}).glob('*.xlsx'))\n"
        "outcomes = list(check_in_workers(files, ScoreOptions(), jobs=2, method='spawn'))\n"
        "print('scored', len(outcomes))\n",
    )
    assert result.returncode != 0
    assert "scored" not in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("kpibatch.parallel.PoolStartError") and 'if __name__ == "__main__":' in last


class NativePanic(BaseException):
    """What pyo3 raises when a Rust reader panics: a BaseException, not an Exception."""


def test_a_reader_panic_rejects_its_file_and_the_batch_goes_on(
    mixed_inbox: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import kpibatch.parallel

    real = kpibatch.parallel.check_file

    def panics_on_the_third(path: Path, *args: Any) -> FileOutcome:
        if path == mixed_inbox[2]:
            raise NativePanic("index out of bounds: the len is 78 but the index is 99999")
        return real(path, *args)

    monkeypatch.setattr(kpibatch.parallel, "check_file", panics_on_the_third)  # forked workers inherit it
    outcomes = list(check_in_workers(mixed_inbox[:5], OPTIONS, jobs=2))
    assert [p.code for p in outcomes[2].problems] == ["check-crashed"]
    assert "NativePanic: index out of bounds" in outcomes[2].problems[0].message_en
    others = [summary(o) for i, o in enumerate(outcomes) if i != 2]
    assert others == [summary(real(p, OPTIONS)) for i, p in enumerate(mixed_inbox[:5]) if i != 2]
