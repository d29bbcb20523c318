"""Durable outputs: temporary files of a killed run are swept, a locked target (Windows with the
workbook open in Excel) is retried and then written beside, and a failed write leaves the previous
output intact. Failures are injected at the boundary (the replace function, the writer), for real."""

from __future__ import annotations

import errno
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

from kpibatch.config import Settings
from kpibatch.fsutil import (
    TEMP_PREFIX,
    replace_or_beside,
    sweep_temp_files,
    write_atomic,
    write_text_atomic,
)
from kpibatch.pipeline import inbox_files, run_batch


class LockedTarget:
    """``os.replace`` as on Windows while Excel holds ``target`` open: PermissionError, ``times``
    times (or always), then the real rename."""

    def __init__(self, target: Path, times: int | None = None) -> None:
        self.target = target
        self.times = times
        self.calls = 0

    def __call__(self, src: Path, dst: Path) -> None:
        if Path(dst) == self.target and (self.times is None or self.calls < self.times):
            self.calls += 1
            raise PermissionError(errno.EACCES, "The process cannot access the file", str(dst))
        os.replace(src, dst)


def temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob(f"{TEMP_PREFIX}*"))


def test_a_locked_target_is_retried_then_replaced(tmp_path: Path) -> None:
    target = tmp_path / "report.xlsx"
    target.write_text("old")
    tmp = tmp_path / f"{TEMP_PREFIX}1.xlsx"
    tmp.write_text("new")
    locked = LockedTarget(target, times=2)
    waits: list[float] = []
    assert replace_or_beside(tmp, target, replace=locked, sleep=waits.append) == target
    assert target.read_text() == "new" and locked.calls == 2 and len(waits) == 2


def test_a_target_that_stays_locked_gets_the_output_beside_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "report.xlsx"
    target.write_text("old")
    locked = LockedTarget(target)
    with caplog.at_level(logging.WARNING, logger="kpibatch.fsutil"):
        written = write_text_atomic(target, "new", replace=locked, delay_s=0)
    assert written != target and written.parent == tmp_path
    assert written.name.startswith("report (") and written.suffix == ".xlsx"
    assert written.read_text() == "new" and target.read_text() == "old"
    assert locked.calls == 5 and temp_files(tmp_path) == []
    assert "open in Excel" in caplog.text and written.name in caplog.text


def test_a_second_locked_write_gets_its_own_name(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    first = write_text_atomic(target, "1", replace=LockedTarget(target), delay_s=0)
    second = write_text_atomic(target, "2", replace=LockedTarget(target), delay_s=0)
    assert first != second and first.read_text() == "1" and second.read_text() == "2"


def test_a_write_error_leaves_the_previous_output_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_text("previous")

    def disk_full(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, disk_full)
    assert target.read_text() == "previous" and temp_files(tmp_path) == []


def test_a_failing_rename_that_is_not_a_lock_is_not_retried(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    calls = []

    def broken(src: Path, dst: Path) -> None:
        calls.append(dst)
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(OSError, match="Input/output"):
        write_text_atomic(target, "x", replace=broken)
    assert len(calls) == 1 and not target.exists() and temp_files(tmp_path) == []


def test_stale_temporary_files_are_swept_and_fresh_ones_kept(tmp_path: Path) -> None:
    group = tmp_path / "2563-r12"
    group.mkdir()
    stale = group / f"{TEMP_PREFIX}abc.xlsx"
    fresh = group / f"{TEMP_PREFIX}def.xlsx"
    other = group / "report.xlsx"
    for path in (stale, fresh, other):
        path.write_text("x")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    assert sweep_temp_files(tmp_path) == [stale]
    assert fresh.exists() and other.exists() and not stale.exists()
    assert sweep_temp_files(tmp_path / "missing") == []


KILLED_WRITER = """
import sys, time
from pathlib import Path
from kpibatch.fsutil import write_atomic

def slow(tmp):
    tmp.write_bytes(b"partial workbook")
    print("writing", flush=True)
    time.sleep(60)

write_atomic(Path(sys.argv[1]), slow)
"""


def test_the_temporary_file_of_a_killed_run_is_swept_by_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    target = out / "2563-r12" / "report.xlsx"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    [left] = temp_files(out)
    assert not target.exists()
    night_before = time.time() - 24 * 3600  # the next run is the next night
    os.utime(left, (night_before, night_before))
    report = run_batch(inbox_files(EXAMPLES), out, Settings())
    assert temp_files(out) == [] and len(report.accepted) == 6


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_get_the_mode_any_new_file_gets_under_the_umask(tmp_path: Path, umask: int) -> None:
    """A real ``kpibatch run --dry-run`` in a child process with its own umask: the workbook,
    results.json, report.html, the .eml, a rejected file's .txt and the log are readable as any file
    the user creates (0644 under 022), not 0600 as a temporary file renamed into place was."""
    sys.path.insert(0, str(ROOT / "tests"))
    from batchkit import division_book, rejected_book

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    division_book(inbox / "a.xlsx", "กองเอ")
    rejected_book(inbox / "bad.xlsx")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KPIBATCH_MAIL_FROM": "kpibatch@example.go.th",
        "KPIBATCH_MAIL_TO": "director@example.go.th",
        "KPIBATCH_SMTP_HOST": "127.0.0.1",  # a dry run checks what the real send needs
    }
    argv = ["run", "--inbox", str(inbox), "--out", str(out), "--stability-delay", "0", "--dry-run"]
    done = subprocess.run(
        [sys.executable, "-m", "kpibatch", *argv, "--quiet"],
        env=env,
        cwd=tmp_path,
        preexec_fn=lambda: os.umask(umask),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 3, done.stdout + done.stderr  # one file rejected
    made = {
        p.relative_to(out).as_posix(): p.stat().st_mode & 0o777
        for p in out.rglob("*")
        # the submitted workbooks keep the mode they came with, moved or copied
        if p.is_file()
        and not (p.suffix == ".xlsx" and {"archive", "rejected"} & set(p.parts))
        # lock files are filelock's (its mode depends on its version), not outputs anyone reads
        and p.suffix != ".lock"
    }
    kinds = {name.rsplit(".", 1)[-1] for name in made}
    assert {"xlsx", "json", "html", "eml", "txt", "log"} <= kinds, sorted(made)
    assert made == dict.fromkeys(made, 0o666 & ~umask)
