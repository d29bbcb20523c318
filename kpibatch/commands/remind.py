"""``kpibatch remind``: mail the registry divisions that have not submitted for the open round.

The open round is the one with the nearest deadline that has not passed (``kpibatch.deliver.reminders``).
Each division with no accepted submission for it gets one reminder a day at most, to its registry
contacts; ``--dry-run`` writes them as ``.eml`` under ``OUT/reminders/`` instead. ``kpibatch run`` and
``watch`` send the same reminders on the days ``[remind] days_before`` gives (``scheduled``).
Exit 0 when every reminder went (or there was nobody to remind), 5 when one could not be delivered
(it stays pending: the next ``remind`` or run that day retries it), 2 without a registry or mail settings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from kpibatch.batch.ledger import Ledger
from kpibatch.batch.paths import BatchPaths
from kpibatch.commands.common import add_common, settings_from
from kpibatch.config import ConfigError, Settings
from kpibatch.deadlines import parse_deadlines
from kpibatch.deliver.reminders import OpenRound, Result, open_rounds, remind, rounds_on_reminder_days
from kpibatch.errors import ExitCode
from kpibatch.registry import Registry, registry_of


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "remind",
        help="mail the registry divisions that have not submitted for the open round",
        description="Mail the contacts of every registry division with no accepted submission for the "
        "open round (the nearest deadline that has not passed), at most once a day per division and "
        "round; each reminder is recorded in the ledger.",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="write each reminder as .eml under OUT/reminders/ instead of sending it (records nothing)",
    )
    parser.add_argument(
        "--date",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="remind as if today were this day (default: today; for tests and what-if)",
    )
    parser.add_argument("--out", type=Path, help="output folder of the runs (where the ledger is)")
    parser.add_argument("--ledger", type=Path, help="SQLite ledger (default OUT/ledger.sqlite3)")
    parser.add_argument(
        "--registry", type=Path, help="division registry to read (default: the setting [divisions] registry)"
    )
    add_common(parser)
    parser.set_defaults(handler=handle)


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def handle(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from(args, out=args.out, ledger=args.ledger, divisions_registry=args.registry)
    registry = registry_of(settings.divisions)
    if registry is None:
        raise ConfigError(
            "ไม่ได้กำหนดทะเบียนหน่วยงาน / no division registry: set [divisions] registry or use --registry"
        )
    day = args.date or dt.date.today()
    rounds = open_rounds(parse_deadlines(settings.deadlines), day)
    if not rounds:
        print(f"ไม่มีรอบที่เปิดรับ / no open round on {day.isoformat()} (no [deadlines] on or after it)", file=out)
        return ExitCode.OK
    results = remind_rounds(settings, registry, rounds, day=day, dry_run=args.dry_run, out=out)
    if not results:
        names = ", ".join(r.key for r in rounds)
        print(f"ทุกหน่วยงานส่งแล้ว / every division has submitted for {names}", file=out)
    print_results(results, out)
    return ExitCode.MAIL if any(not r.ok for r in results) else ExitCode.OK


def remind_rounds(
    settings: Settings,
    registry: Registry,
    rounds: Sequence[OpenRound],
    *,
    day: dt.date,
    dry_run: bool,
    out: TextIO,
) -> list[Result]:
    """Remind the divisions missing in ``rounds``: the ledger says which have an accepted submission."""
    paths = BatchPaths.of(settings.paths)

    def log(line: str) -> None:
        print(line, file=out)

    def run(accepted: Any) -> list[Result]:
        return remind(
            settings.mail,
            settings.smtp,
            settings.remind,
            registry,
            rounds,
            accepted,
            day=day,
            ledger=paths.ledger,
            dry_run=dry_run,
            eml_folder=paths.out / "reminders",
            log=log,
        )

    if dry_run and not paths.ledger.is_file():
        return run(lambda _round: ())  # no run yet: nobody has submitted, and a dry run makes no ledger
    with Ledger(paths.ledger) as ledger:
        return run(lambda r: [row.division for row in ledger.current(r.fiscal_year, r.round) if row.division])


def scheduled(settings: Settings, *, dry_run: bool, out: TextIO, day: dt.date | None = None) -> list[Result]:
    """The reminders ``run`` and ``watch`` send: on the days ``[remind] days_before`` gives before each
    deadline, when a registry is set; nothing otherwise."""
    if not settings.remind_days_before:
        return []
    day = day or dt.date.today()
    rounds = rounds_on_reminder_days(parse_deadlines(settings.deadlines), day, settings.remind_days_before)
    if not rounds:
        return []
    registry = registry_of(settings.divisions)
    if registry is None:
        print("warning: [remind] days_before is set but no division registry: nobody reminded", file=out)
        return []
    return remind_rounds(settings, registry, rounds, day=day, dry_run=dry_run, out=out)


class DailyReminders:
    """``watch`` between its batches: the reminders of the day, tried until every one has gone.

    After a try that left one undelivered (the mail server down) the next waits ``RETRY_S``: a poll
    every 30 s would otherwise spend the watcher's day on SMTP retries.
    """

    RETRY_S = 600.0

    def __init__(
        self,
        settings: Settings,
        out: TextIO,
        today: Callable[[], dt.date] = dt.date.today,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.out = out
        self.today = today
        self.clock = clock
        self.done: dt.date | None = None
        self.retry_at: float | None = None

    def __call__(self) -> None:
        if not (self.settings.email_enabled and self.settings.remind_days_before):
            return
        day = self.today()
        if self.done == day or (self.retry_at is not None and self.clock() < self.retry_at):
            return
        results = scheduled(self.settings, dry_run=False, out=self.out, day=day)
        print_results([r for r in results if r.outcome != "already"], self.out)
        if all(r.ok for r in results):
            self.done, self.retry_at = day, None
        else:
            self.retry_at = self.clock() + self.RETRY_S


def print_results(results: Sequence[Result], out: TextIO) -> None:
    for result in results:
        what = result.reminder.label
        if result.outcome == "sent":
            print(f"ส่งแจ้งเตือนแล้ว / reminder sent: {what} {result.detail}", file=out)
        elif result.outcome == "written":
            print(f"reminder written (not sent): {what}: {result.eml}", file=out)
        elif result.outcome == "already":
            print(f"แจ้งเตือนไปแล้ววันนี้ / already reminded today: {what}", file=out)
        elif result.outcome == "no-contact":
            print(f"ไม่มีผู้ติดต่อในทะเบียน / no contact in the registry, not reminded: {what}", file=out)
        elif result.outcome == "maybe_sent":
            print(
                f"ไม่ทราบผลการส่งแจ้งเตือน / reminder MAYBE sent: {what}: {result.detail}\n"
                "  the server may have it, so it is not sent again today",
                file=out,
            )
        else:
            print(
                f"ส่งแจ้งเตือนไม่สำเร็จ / reminder NOT sent: {what}: {result.detail}\n"
                "  it stays pending: `kpibatch remind` or the next run today sends it",
                file=out,
            )
