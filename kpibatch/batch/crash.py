"""Crash injection: kill the process at a named step, so tests can prove a killed run loses nothing.

``KPIBATCH_CRASH_AT=recorded`` kills the run the first time it reaches the step ``recorded``;
``KPIBATCH_CRASH_AT=filed:3`` kills it the third time. The kill is SIGKILL (no clean-up, no
``finally``), which is what a power cut or the OOM killer does. Unset, every call is a no-op.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "KPIBATCH_CRASH_AT"
POINTS = (
    "locked",  # the lock is held, the run is in the ledger
    "recovered",  # unfinished moves of an earlier run are done
    "checked",  # a claimed file is read and scored; nothing of it is written yet
    "taken",  # a checked file is out of the inbox, beside its destination, with no row yet
    "recorded",  # a submission's ledger row is committed, its file not moved yet
    "explained",  # a rejected or duplicate file's .txt is written, the file not moved yet
    "moved",  # the file is at its archive or rejected location, the row not marked filed yet
    "filed",  # the row is marked filed
    "staged",  # archived files are linked under their original names for re-reading
    "writing",  # a round's new workbook is in its temporary file, not in place yet
    "written",  # a round's workbook and results.json are written, the report not in the ledger yet
    "reported",  # the round's report is in the ledger
)
MAIL_POINTS = ("receipted",)  # a receipt is sent and marked sent (only when receipts are on)
_reached: Counter[str] = Counter()


def crash_point(name: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] == int(nth or 1):
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
