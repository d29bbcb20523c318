"""``kpibatch watch``: run the batch whenever the inbox receives files, until SIGINT or SIGTERM.

Each report a pass writes is mailed as ``kpibatch run`` mails it (``[email] enabled``), recorded in
the outbox either way; on the days ``[remind] days_before`` gives, the divisions still missing are
reminded, by a pass or, when no file arrives, between passes.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any, TextIO

from kpibatch.batch.runlog import log
from kpibatch.batch.runner import BatchReport
from kpibatch.batch.watch import watch
from kpibatch.commands.common import add_common
from kpibatch.commands.remind import DailyReminders
from kpibatch.commands.run import add_batch_options, batch_settings, mail_step, print_report, progress_stream
from kpibatch.deliver.service import prepare
from kpibatch.errors import ExitCode

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "watch",
        help="run the batch whenever files arrive in the inbox (until stopped)",
        description="Poll the inbox and run the batch whenever files have settled in it. "
        "Stops cleanly on Ctrl-C (SIGINT) or SIGTERM, after the batch in progress.",
    )
    parser.add_argument(
        "--interval", type=float, metavar="SECONDS", help="seconds between polls (default 30)"
    )
    add_batch_options(parser)
    add_common(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: TextIO) -> int:
    settings = batch_settings(args, watch_interval=args.interval)
    for warning in prepare(settings, email=settings.email_enabled, dry_run=False):
        print(warning, file=out)
    stop = threading.Event()
    received: list[str] = []

    def request_stop(signum: int, _frame: object) -> None:
        # Only set flags here: printing from a signal handler can re-enter a write in progress.
        received.append(signal.Signals(signum).name)
        stop.set()

    def on_report(report: BatchReport) -> None:
        print_report(report, out, quiet=args.quiet)
        out.flush()
        try:
            mail_step(report, settings, out, email=settings.email_enabled, dry_run=False, quiet=args.quiet)
        except Exception as exc:  # a daemon reports and keeps watching; the mail stays in the outbox
            log.exception("watch: mail step failed")
            on_skip(f"mail step failed: {type(exc).__name__}: {exc}")
        out.flush()

    def on_skip(message: str) -> None:
        print(f"kpibatch watch: {message}", file=sys.stderr, flush=True)

    reminders = DailyReminders(settings, out)

    def on_idle() -> None:
        try:
            reminders()
        except Exception as exc:  # a daemon reports and keeps watching; unsent reminders stay pending
            log.exception("watch: reminders failed")
            on_skip(f"reminders failed: {type(exc).__name__}: {exc}")
        out.flush()

    previous = {sig: signal.signal(sig, request_stop) for sig in STOP_SIGNALS}
    try:
        if not args.quiet:
            print(
                f"kpibatch watch: watching {settings.inbox} every {settings.watch_interval:g} s "
                "(Ctrl-C to stop)",
                file=out,
                flush=True,
            )
        watch(
            settings,
            stop,
            on_report=on_report,
            on_skip=on_skip,
            progress=progress_stream(args),
            on_idle=on_idle,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    why = f" on {received[0]}" if received else ""
    print(f"kpibatch watch: stopped{why}", file=out, flush=True)
    return ExitCode.OK
