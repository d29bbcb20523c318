"""Moving inputs out of the inbox without ever losing or half-writing one.

A file reaches the archive or the rejected folder by a rename (atomic on one file system). Across
file systems, and in keep-inbox mode, it is copied to a temporary name beside the destination,
flushed, and renamed into place, so a destination path either does not exist or holds every byte.
The source is removed only after that, and only when moving. Nothing here deletes anything else.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import os
import shutil
from pathlib import Path

from kpibatch.fsutil import TEMP_PREFIX, left_by_a_finished_writer, write_atomic

NAME_MAX_BYTES = 255
"""Longest file name most file systems take, in bytes (a Thai character is three)."""
REASON_SUFFIX = ".txt"


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def has_bytes(path: Path, sha256: str) -> bool:
    """``path`` exists and holds exactly the bytes with this hash."""
    try:
        return sha256_of(path) == sha256
    except FileNotFoundError:
        return False


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def filed_name(moment: dt.datetime, sha256: str, original: str, counter: int = 1) -> str:
    """``<UTC timestamp>-<sha8>-<original name>``, shortened to fit with a ``.txt`` beside it."""
    prefix = f"{stamp(moment)}-{sha256[:8]}-" + (f"{counter}-" if counter > 1 else "")
    stem, suffix = os.path.splitext(original)
    budget = NAME_MAX_BYTES - len(os.fsencode(prefix + suffix + REASON_SUFFIX))
    while len(os.fsencode(stem)) > budget:
        stem = stem[:-1]
    return prefix + stem + suffix


def free_destination(folder: Path, moment: dt.datetime, sha256: str, original: str) -> Path:
    counter = 1
    while True:
        candidate = folder / filed_name(moment, sha256, original, counter)
        if not candidate.exists() and not reason_path(candidate).exists():
            return candidate
        counter += 1


def remove_scratch(folder: Path) -> None:
    """Remove half-made copies a killed run left in ``folder`` (their source is still in the inbox),
    never a write another process still has in progress there."""
    with contextlib.suppress(FileNotFoundError):
        for leftover in folder.glob(f"{TEMP_PREFIX}*"):
            if left_by_a_finished_writer(leftover, older_than_s=0):
                leftover.unlink(missing_ok=True)


def reason_path(filed: Path) -> Path:
    return filed.with_name(filed.name + REASON_SUFFIX)


def sync_folder(folder: Path) -> None:
    """Make the renames into ``folder`` durable: a rename is on disk only once the directory entry
    is (Windows has no directory fsync)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_into_place(source: Path, target: Path) -> None:
    def copy(tmp: Path) -> None:
        shutil.copy2(source, tmp)

    write_atomic(target, copy)


def file_into(source: Path, target: Path, *, keep: bool, sync: bool = True) -> None:
    """Put ``source`` at ``target``: rename it, or copy it when keeping the inbox or across devices.

    ``sync=False`` leaves ``sync_folder`` to the caller, once for many files.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise FileExistsError(errno.EEXIST, "refusing to overwrite a filed input", str(target))
    if keep:
        _copy_into_place(source, target)
    else:
        try:
            os.rename(source, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_into_place(source, target)
            source.unlink()
    if sync:
        sync_folder(target.parent)
