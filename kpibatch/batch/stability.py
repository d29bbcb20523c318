"""Claim only files that have stopped changing (Apache Camel's ``readLock=changed``).

A file is stable when its size and modification time have not changed for the stability delay. Two
ways prove it:

* it was seen twice, at least ``delay`` seconds apart, looking the same (Camel's way; works on any
  file system and is what ``kpibatch watch`` relies on between polls);
* on POSIX, the kernel's own clocks say so: ``st_ctime`` changes on every write *and* on every
  ``utime``, so a copy tool that restores the sender's modification time cannot make a file that is
  still being written look old. When both ``st_mtime`` and ``st_ctime`` are older than the delay, the
  file has not been touched for that long and a run need not wait. (On Windows ``st_ctime`` is the
  creation time, so only the first way is used there.)

A file that is still changing is left in the inbox for the next run.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kpibatch.text import counted

Clock = Callable[[], float]


@dataclass(frozen=True)
class Signature:
    """What a file looks like from outside: if any of this changes, someone is writing to it."""

    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path) -> Signature:
        st = path.stat()
        return cls(size=st.st_size, mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns)

    def untouched_since(self) -> float:
        """The last time the kernel says the file changed (POSIX), as seconds since the epoch."""
        if os.name == "nt":
            return float("inf")
        return max(self.mtime_ns, self.ctime_ns) / 1e9


class StabilityCheck:
    """Remembers how each file looked and since when, across calls (and polls of ``watch``)."""

    def __init__(self, delay: float, clock: Clock = time.time) -> None:
        self.delay = delay
        self._clock = clock
        self._seen: dict[Path, tuple[Signature, float]] = {}

    def observe(self, paths: Iterable[Path], *, everything: bool = True) -> tuple[list[Path], list[Path]]:
        """Look at the files now; return (stable, still changing).

        ``everything`` says ``paths`` is the whole inbox, so files not in it are forgotten.
        """
        now = self._clock()
        stable: list[Path] = []
        changing: list[Path] = []
        seen: dict[Path, tuple[Signature, float]] = {}
        for path in paths:
            try:
                sig = Signature.of(path)
            except FileNotFoundError:
                continue
            previous = self._seen.get(path)
            since = previous[1] if previous is not None and previous[0] == sig else now
            seen[path] = (sig, since)
            quiet_for = max(now - since, now - sig.untouched_since())
            (stable if self.delay <= 0 or quiet_for >= self.delay else changing).append(path)
        if everything:
            self._seen = seen
        else:
            self._seen.update(seen)
        return stable, changing

    def signature(self, path: Path) -> Signature | None:
        entry = self._seen.get(path)
        return entry[0] if entry is not None else None

    def wait_for(self, paths: Iterable[Path]) -> float:
        """Seconds until every one of ``paths`` could be proven stable by watching it."""
        now = self._clock()
        waits = [self.delay - (now - self._seen[p][1]) for p in paths if p in self._seen]
        return max([0.0, *waits])


def waiting_message(seconds: float, count: int) -> str:
    """What a run says before it pauses for files that are still being copied into the inbox."""
    return f"waiting up to {math.ceil(seconds)} s for {counted(count, 'file')} still being written"


def settle(
    check: StabilityCheck,
    paths: list[Path],
    sleep: Callable[[float], None] = time.sleep,
    announce: Callable[[str], None] | None = None,
) -> tuple[list[Path], list[Path]]:
    """One run's claim: take the stable files now, wait once for the rest, take those that held still.

    ``announce`` is told how long the wait may be and for how many files before it starts, so a run
    that pauses says why instead of sitting silent.
    """
    stable, changing = check.observe(paths)
    if changing:
        seconds = check.wait_for(changing)
        if announce is not None and seconds > 0:
            announce(waiting_message(seconds, len(changing)))
        sleep(seconds)
        later, changing = check.observe(changing, everything=False)
        stable += later
    return sorted(stable, key=lambda p: p.name), changing
