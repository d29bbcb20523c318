"""File-system helpers for durable outputs on every OS.

Outputs are written to a temporary file beside the target and renamed over it, so a reader never
sees a half-written workbook. A temporary name carries the writing process's id and the batch run's
id (``.kpibatch-tmp-<pid>-r<run>-*``). A run killed mid-write leaves such a file behind: the next run
sweeps it (``sweep_temp_files``), but only once its writer is over (the process is gone), so one
run's clean-up never deletes a write another process still has in progress.

On Windows the rename fails while the old workbook is open in Excel (a sharing violation surfaces
as ``PermissionError``): the rename is retried for a few seconds, then the new output is written
beside the old one under a dated name with a clear message, rather than failing the night's run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

TEMP_PREFIX = ".kpibatch-tmp-"
STALE_AFTER_S = 600.0
"""A temporary file this old belongs to no running write (a write takes seconds); safe to sweep
even without the run lock."""
REPLACE_ATTEMPTS = 5
REPLACE_DELAY_S = 0.5
NEW_FILE_MODE = 0o666
"""What ``open()`` asks for: the umask then takes away what the user's policy takes away."""

_OWNED = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-r(\d+)-")
_run_id = 0
"""The batch run this process is doing, named in its temporary files (0: none)."""
_in_flight: set[Path] = set()
"""Temporary files this process is writing now: never swept, whatever their name says."""

log = logging.getLogger("kpibatch.fsutil")
Replace = Callable[[Path, Path], None]


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable: POSIX needs the directory itself flushed; Windows cannot open one."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    fd = os.open(folder, os.O_RDONLY | flags)
    try:
        os.fsync(fd)
    except OSError:  # some file systems (network shares) refuse fsync on directories
        pass
    finally:
        os.close(fd)


def beside_name(target: Path, now: dt.datetime | None = None) -> Path:
    """``report.xlsx`` -> ``report (2024-01-31 0215).xlsx``, numbered if that exists too."""
    stamp = (now or dt.datetime.now()).strftime("%Y-%m-%d %H%M%S")
    candidate = target.with_name(f"{target.stem} ({stamp}){target.suffix}")
    counter = 2
    while candidate.exists():
        candidate = target.with_name(f"{target.stem} ({stamp} {counter}){target.suffix}")
        counter += 1
    return candidate


def replace_or_beside(
    tmp: Path,
    target: Path,
    *,
    replace: Replace = os.replace,
    attempts: int = REPLACE_ATTEMPTS,
    delay_s: float = REPLACE_DELAY_S,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Rename ``tmp`` over ``target``; if the target stays locked, rename it beside and say so.

    Returns the path the output really has. ``replace`` is the boundary where a real failure can
    be injected (tests pass a function that raises ``PermissionError``, as Windows does).
    """
    for attempt in range(attempts):
        try:
            replace(tmp, target)
            return target
        except PermissionError:
            if attempt + 1 < attempts:
                sleep(delay_s * (attempt + 1))
    beside = beside_name(target)
    replace(tmp, beside)
    log.warning(
        "เขียนทับ %s ไม่ได้ (ไฟล์อาจเปิดอยู่ใน Excel) จึงบันทึกผลใหม่เป็น %s / "
        "could not replace %s (it may be open in Excel); the new output is %s",
        target,
        beside.name,
        target,
        beside.name,
    )
    return beside


def create_temp(folder: Path, *, prefix: str = TEMP_PREFIX, suffix: str = "") -> Path:
    """A new empty file in ``folder`` under a unique name, with the mode any file the user creates gets.

    ``tempfile.mkstemp`` makes its files 0600 whatever the umask, and a rename keeps that mode, so
    every output renamed into place was unreadable to everyone else (the intranet page, the service
    user). Created with 0666 here, the umask gives 0644 under 022 and 0640 under 027, as ``open()``.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        path = folder / f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            os.close(os.open(path, flags, NEW_FILE_MODE))
        except FileExistsError:
            continue
        return path


@contextlib.contextmanager
def temp_names_of_run(run_id: int) -> Iterator[None]:
    """Name this process's temporary files after batch run ``run_id`` while the run lasts."""
    global _run_id
    previous, _run_id = _run_id, run_id
    try:
        yield
    finally:
        _run_id = previous


def temp_prefix() -> str:
    """``.kpibatch-tmp-<pid>-r<run id>-``: who writes the file, so a sweep can tell whether it is over."""
    return f"{TEMP_PREFIX}{os.getpid()}-r{_run_id}-"


def temp_owner(name: str) -> tuple[int, int] | None:
    """(pid, run id) from a temporary file's name; None for a name without them (older versions)."""
    found = _OWNED.match(name)
    return (int(found.group(1)), int(found.group(2))) if found else None


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (on Windows, where signal 0 would kill it, assume so)."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def left_by_a_finished_writer(path: Path, *, older_than_s: float, now: float | None = None) -> bool:
    """Whether the temporary file ``path`` belongs to no write still in progress.

    Its writer is over when it is this process and the file is not one of its writes in progress, or
    when the process named in it no longer exists. A file untouched for ``STALE_AFTER_S`` is over too
    (a write takes seconds; the process id may have been reused), and so is a name without an owner
    once it is older than ``older_than_s``.
    """
    if path in _in_flight:
        return False
    try:
        mtime = path.lstat().st_mtime
    except FileNotFoundError:
        return False
    age = (time.time() if now is None else now) - mtime
    owner = temp_owner(path.name)
    if owner is None:
        return age >= older_than_s
    pid, _run = owner
    return age >= STALE_AFTER_S or pid == os.getpid() or not process_alive(pid)


@dataclass
class AtomicWrite:
    tmp: Path
    """Where the writer writes."""
    final: Path | None = None
    """Where the output ended up: the target, or beside it when the target was locked."""


@contextlib.contextmanager
def atomic_write(
    target: Path, *, replace: Replace = os.replace, delay_s: float = REPLACE_DELAY_S
) -> Iterator[AtomicWrite]:
    """Yield a temporary path beside ``target``; on success flush it and rename it over ``target``.

    On failure the temporary file is removed and any previous ``target`` is left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    write = AtomicWrite(tmp=create_temp(target.parent, prefix=temp_prefix(), suffix=target.suffix))
    _in_flight.add(write.tmp)
    try:
        yield write
        with open(write.tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        write.final = replace_or_beside(write.tmp, target, replace=replace, delay_s=delay_s)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            write.tmp.unlink()
        raise
    finally:
        _in_flight.discard(write.tmp)


@contextlib.contextmanager
def atomic_path(target: Path, *, replace: Replace = os.replace) -> Iterator[Path]:
    """``atomic_write`` for callers that only need the temporary path."""
    with atomic_write(target, replace=replace) as write:
        yield write.tmp


def write_atomic(
    target: Path,
    writer: Callable[[Path], None],
    *,
    replace: Replace = os.replace,
    delay_s: float = REPLACE_DELAY_S,
) -> Path:
    """Write ``target`` through ``writer(tmp)``; returns where the output really is."""
    with atomic_write(target, replace=replace, delay_s=delay_s) as write:
        writer(write.tmp)
    assert write.final is not None
    return write.final


def write_text_atomic(
    target: Path, text: str, *, replace: Replace = os.replace, delay_s: float = REPLACE_DELAY_S
) -> Path:
    return write_atomic(
        target, lambda tmp: tmp.write_text(text, encoding="utf-8"), replace=replace, delay_s=delay_s
    )


def sweep_temp_files(
    root: Path, *, older_than_s: float = STALE_AFTER_S, now: float | None = None
) -> list[Path]:
    """Remove temporary files a killed run left under ``root``; returns what was removed.

    Only files whose writer is over (``left_by_a_finished_writer``) go; ``older_than_s`` applies to
    names that do not say who wrote them.
    """
    if not root.is_dir():
        return []
    removed = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if not name.startswith(TEMP_PREFIX):
                continue
            path = Path(folder) / name
            with contextlib.suppress(FileNotFoundError):
                if left_by_a_finished_writer(path, older_than_s=older_than_s, now=now):
                    path.unlink()
                    removed.append(path)
    if removed:
        log.info("removed %d temporary files left by an interrupted run", len(removed))
    return removed
