"""Moving inputs out of the inbox without ever losing or half-writing one.

A file is first *taken*: renamed (copied in keep-inbox mode or across file systems) out of the inbox
into ``<archive or rejected>/.kpibatch-taken/<destination name>``, on the destination's file system.
What is there is hashed, and only bytes whose hash is the one that was read and scored are recorded
in the ledger and renamed to the destination; anything else (a file replaced while the run read it,
a link put in its place) goes back, and a file another name can still change is copied into a file
of its own first. So the bytes in the archive are always the bytes of their ledger row. A
destination path either does not exist or holds every byte. The source is removed only after that,
and only when moving. Nothing here deletes anything else.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import os
import re
import shutil
import stat
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


TAKEN_FOLDER = ".kpibatch-taken"
"""Where a file waits, under the folder it is filed into, between leaving the inbox and its row."""
OWN_SUFFIX = ".kpibatch-own"
"""A copy being made of a taken file that has another name (``holds``)."""


_FILED_PREFIX = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}-")


def taken_path(root: Path, location: Path) -> Path:
    """Where the file bound for ``location`` (under ``root``) is held while it is checked: one folder
    for all (a folder per file costs a directory creation and removal, slow on some file systems)."""
    return root / TAKEN_FOLDER / location.name


def original_name(taken: Path) -> str:
    """The inbox name of a taken file (the destination name without its time and hash)."""
    return _FILED_PREFIX.sub("", taken.name, count=1)


def take(source: Path, taken: Path, *, keep: bool) -> bool:
    """Move ``source`` to ``taken`` (copy it when keeping the inbox or across devices); True when it
    was copied. Raises ``FileNotFoundError`` when the source is gone.
    """
    taken.parent.mkdir(parents=True, exist_ok=True)
    if taken.exists() or taken.is_symlink():
        raise FileExistsError(errno.EEXIST, "a taken file is in the way", str(taken))
    if keep:
        shutil.copy2(source, taken)
        return True
    try:
        os.rename(source, taken)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copy2(source, taken)
        return True
    return False


def holds(taken: Path, sha256: str) -> bool:
    """Whether ``taken`` is a file of its own that holds exactly these bytes.

    A symbolic link put in the inbox in place of the file is not; a file with another name (a hard
    link) is copied into a file of its own first, since that other name could change it later.
    """
    try:
        st = os.lstat(taken)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    if st.st_nlink > 1:
        own = taken.with_name(taken.name + OWN_SUFFIX)
        shutil.copy2(taken, own)
        os.replace(own, taken)
    return sha256_of(taken) == sha256


def give_back(taken: Path, source: Path, *, copied: bool | None = None) -> Path | None:
    """Return a taken file that turned out not to be the one read: to the inbox when it was moved
    from there (under a numbered name when its own is taken again), or drop it when it was a copy
    (``copied`` None: unknown, a copy when the inbox still holds the same bytes). Returns where it
    went back to."""
    if copied or (copied is None and source.exists() and has_bytes(source, sha256_of(taken))):
        taken.unlink()  # a copy of what is still in the inbox
        return None
    back = source
    counter = 2
    while back.exists() or back.is_symlink():
        back = source.with_name(f"{source.stem} ({counter}){source.suffix}")
        counter += 1
    os.rename(taken, back)
    return back


def orphans_taken(root: Path) -> list[Path]:
    """Files taken out of the inbox by a run killed before their row was written (a copy it was
    making of a hard-linked one is removed: the file itself is there)."""
    folder = root / TAKEN_FOLDER
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(OWN_SUFFIX):
            path.unlink()
        else:
            found.append(path)
    return found
