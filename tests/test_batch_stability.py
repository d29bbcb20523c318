"""A file is claimed only once it has stopped changing; one still being copied waits for the next run."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from batchkit import audit, digests, division_book, rows, settings_for

from kpibatch.batch.runner import run_inbox
from kpibatch.batch.stability import StabilityCheck, settle


class FakeClock:
    """Wall-clock time that only moves when the test says so.

    It starts ``behind`` seconds in the past, so the files' real change times lie in its future and
    only repeated looks can prove a file stable (the kernel-time shortcut is tested on its own).
    """

    def __init__(self, behind: float = 3600) -> None:
        self.now = time.time() - behind

    def __call__(self) -> float:
        return self.now


def test_two_unchanged_looks_a_delay_apart_make_a_file_stable(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"x" * 10)
    check = StabilityCheck(delay=60, clock=clock)
    assert check.observe([path]) == ([], [path])  # just written: its ctime is now
    clock.now += 30
    assert check.observe([path]) == ([], [path])
    clock.now += 30
    assert check.observe([path]) == ([path], [])


def test_a_change_restarts_the_wait(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"x")
    check = StabilityCheck(delay=60, clock=clock)
    check.observe([path])
    clock.now += 59
    with open(path, "ab") as handle:
        handle.write(b"more")
    assert check.observe([path]) == ([], [path])
    clock.now += 59
    assert check.observe([path]) == ([], [path])
    clock.now += 1
    assert check.observe([path]) == ([path], [])


@pytest.mark.skipif(os.name == "nt", reason="on Windows st_ctime is the creation time, not the change time")
def test_a_file_untouched_for_the_delay_needs_no_second_look(tmp_path: Path) -> None:
    clock = FakeClock(behind=0)
    path = tmp_path / "old.xlsx"
    path.write_bytes(b"x")
    os.utime(path, (0, 0))  # a copy tool restoring an old mtime does not fool the check: ctime moved
    check = StabilityCheck(delay=60, clock=clock)
    assert check.observe([path]) == ([], [path])
    clock.now += 61
    assert StabilityCheck(delay=60, clock=clock).observe([path]) == ([path], [])


def test_zero_delay_takes_everything_at_once(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"x")
    assert StabilityCheck(delay=0).observe([path]) == ([path], [])


def test_settle_waits_once_and_leaves_a_growing_file(tmp_path: Path) -> None:
    clock = FakeClock()
    steady = tmp_path / "steady.xlsx"
    growing = tmp_path / "growing.xlsx"
    steady.write_bytes(b"done")
    growing.write_bytes(b"part")
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the copy goes on while the run waits
        waits.append(seconds)
        clock.now += seconds
        with open(growing, "ab") as handle:
            handle.write(b" more")

    told: list[str] = []
    check = StabilityCheck(delay=10, clock=clock)
    stable, changing = settle(check, [steady, growing], sleep, announce=told.append)
    assert (stable, changing) == ([steady], [growing])
    assert waits == [10]
    assert told == ["waiting up to 10 s for 2 files still being written"]  # both new at the first look


def test_a_file_growing_during_the_run_stays_in_the_inbox_until_it_settles(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, stability_delay=0.5)
    inbox = settings.inbox
    done = division_book(inbox / "done.xlsx", "กองเสร็จ")
    os.utime(done, (1, 1))
    complete = division_book(tmp_path / "drafts" / "slow.xlsx", "กองช้า")
    data = complete.read_bytes()
    slow = inbox / "slow.xlsx"
    stop = threading.Event()

    def copy_slowly() -> None:  # a copy over a slow share: a few bytes at a time until told to stop
        with open(slow, "wb") as handle:
            for offset in range(0, len(data)):
                if stop.is_set():
                    handle.write(data[offset:])
                    return
                handle.write(data[offset : offset + 1])
                handle.flush()
                stop.wait(0.01)

    writer = threading.Thread(target=copy_slowly)
    writer.start()
    while not (slow.exists() and slow.stat().st_size):  # the copy has begun
        stop.wait(0.01)
    try:
        report = run_inbox(settings)
    finally:
        stop.set()
        writer.join()

    assert [p.name for p in report.waiting] == ["slow.xlsx"]
    assert [f.name for f in report.filed] == ["done.xlsx"]
    assert slow.exists() and [r.file_name for r in rows(settings)] == ["done.xlsx"]

    later = run_inbox(settings)  # the copy has finished; this run waits out the delay and claims it
    assert [f.name for f in later.accepted] == ["slow.xlsx"]
    assert not slow.exists()
    audit(settings, digests([complete]))
