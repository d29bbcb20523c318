"""What is in the inbox, each entry judged on its own: a workbook to claim, or one that cannot be.

Anyone with write access to the share can put anything there. An entry that cannot be read or named
(a file the service account may not read, a name that is not UTF-8, a symbolic link) is refused: it
is left where it is, untouched and never followed, and reported with a reason (log, run summary, the
issues sheet of every report the run writes). Nothing one entry does stops the others being claimed.

Symbolic links are refused rather than followed: the archive must hold the bytes that were submitted,
as a file kpibatch owns; a link's target can be changed or removed by its owner at any time, and
following it would let anyone with write access to the inbox have kpibatch copy any file the service
account can read into the archive or the rejected folder.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from kpibatch.model import FileOutcome
from kpibatch.problems import FileIsLink, FileNotPermitted, LinkLoop, NameUndecodable, Problem
from kpibatch.read.workbook import SPREADSHEET_SUFFIXES, is_lock_or_hidden


def shown(text: str) -> str:
    """A name as people see it: bytes that are not UTF-8 (surrogate escapes) become U+FFFD."""
    return os.fsencode(text).decode("utf-8", "replace") if os.name != "nt" else text


def decodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Refused:
    """An inbox entry left where it is, and why."""

    path: Path
    problem: Problem

    @property
    def name(self) -> str:
        return shown(self.path.name)


def _judge(path: Path, entry: os.DirEntry[str]) -> Problem | None:
    name = shown(entry.name)
    if not decodable(entry.name):
        raw = os.fsencode(entry.name)
        return NameUndecodable(file=name, params={"detail": f"{len(raw)} bytes: {raw.hex(' ')}"})
    if entry.is_symlink():
        try:
            target = os.readlink(path)
        except OSError as exc:
            target = exc.strerror or type(exc).__name__
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return LinkLoop(file=name, params={"detail": shown(target)})
        return FileIsLink(file=name, params={"detail": shown(target)})
    try:
        # Open it, as the reader will: the permission bits alone do not say (ACLs, root, shares).
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        return None  # gone since it was listed: nothing to claim, nothing to report
    except OSError as exc:
        return FileNotPermitted(file=name, params={"detail": exc.strerror or type(exc).__name__})
    return None


def scan_inbox(folder: Path) -> tuple[list[Path], list[Refused]]:
    """The spreadsheet-like files directly in ``folder`` (as ``list_workbooks`` finds them) that can
    be read, and the entries refused, each in name order."""
    found: list[Path] = []
    refused: list[Refused] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            path = Path(entry.path)
            if is_lock_or_hidden(path) or path.suffix.lower() not in SPREADSHEET_SUFFIXES:
                continue
            try:
                if not entry.is_symlink() and not stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode):
                    continue  # a folder named like a workbook
            except FileNotFoundError:
                continue
            problem = _judge(path, entry)
            if problem is None:
                found.append(path)
            else:
                refused.append(Refused(path, problem))
    return sorted(found, key=lambda p: p.name), sorted(refused, key=lambda r: r.path.name)


def refused_outcome(entry: Refused) -> FileOutcome:
    """A refused entry as the report lists a rejected file: its name as shown, and its one problem."""
    return FileOutcome(path=Path(entry.name), source=None, score=None, problems=[entry.problem])
