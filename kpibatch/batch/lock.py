"""One batch at a time: a lock file that a second run finds taken and gives up on at once.

The operating system holds the lock (``flock`` on POSIX, ``msvcrt`` locking on Windows, through
``filelock``), so it is released when the process dies, however it dies: a killed run never leaves a
stale lock behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import filelock

from kpibatch.errors import Locked


@contextlib.contextmanager
def batch_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout as exc:
        raise Locked(path) from exc
    try:
        yield
    finally:
        lock.release()
