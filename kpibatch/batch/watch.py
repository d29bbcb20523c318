"""``kpibatch watch``: run the batch whenever the inbox has files that have settled, until told to stop.

Polling (every ``watch_interval`` seconds) rather than file-system events: it behaves the same on a
local disk, a Samba or NFS share and Windows, and the stability check needs repeated looks anyway.
The watcher's ``StabilityCheck`` remembers each file between polls, so a batch never waits: a file
still being copied is simply picked up by a later poll. A stop request (SIGINT, SIGTERM) lets the
batch in progress finish, then ends the loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TextIO

from kpibatch.batch.inbox import scan_inbox
from kpibatch.batch.lock import Locked
from kpibatch.batch.paths import BatchPaths
from kpibatch.batch.runlog import log
from kpibatch.batch.runner import BatchReport, run_inbox
from kpibatch.batch.stability import Signature, StabilityCheck
from kpibatch.config import Settings


def watch(
    settings: Settings,
    stop: threading.Event,
    *,
    on_report: Callable[[BatchReport], None],
    on_skip: Callable[[str], None],
    progress: TextIO | None = None,
) -> None:
    paths = BatchPaths.of(settings.paths)
    check = StabilityCheck(settings.stability_delay)
    handled: dict[str, Signature | None] = {}
    pending_start = True  # the first pass also finishes whatever a killed run left
    while not stop.is_set():
        try:
            # refused entries (unreadable, undecodable names, links) are reported by the run that
            # meets them first, and do not start another run by being there
            stable, _changing = check.observe(scan_inbox(paths.inbox)[0])
        except OSError as exc:  # the inbox itself unreachable (a share gone): try again next poll
            log.warning("watch: cannot list the inbox %s: %s", paths.inbox, exc)
            on_skip(f"cannot list the inbox: {exc}")
            stop.wait(settings.watch_interval)
            continue
        # In keep-inbox mode files stay; only a file not yet handled in this form is news.
        news = [p for p in stable if handled.get(str(p)) != check.signature(p)]
        if news or pending_start:
            try:
                report = run_inbox(settings, progress=progress, stability=check, command="watch")
            except Locked as exc:
                on_skip(str(exc))
            except Exception as exc:  # a daemon reports and keeps watching; the run's log has the details
                log.exception("watch: run failed")
                on_skip(f"run failed: {type(exc).__name__}: {exc}")
            else:
                pending_start = False
                for path in stable:
                    handled[str(path)] = check.signature(path)
                on_report(report)
        stop.wait(settings.watch_interval)
