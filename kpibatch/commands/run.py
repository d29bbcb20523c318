"""``kpibatch run``: one batch over the drop folder: claim, score, file and report.

Settled files are claimed, scored and moved out of the inbox (accepted ones to the archive, rejected
ones to the rejected folder with a reason), every submission goes into the ledger, and the report of
each round that received something is written from every division's latest accepted submission.
An inbox holding a ``.kpibatch-keep`` file (as ``input_templates/examples`` does), or ``--keep-inbox``,
is copied instead of emptied.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from kpibatch.batch.ledger import Ledger
from kpibatch.batch.lock import batch_lock
from kpibatch.batch.paths import BatchPaths
from kpibatch.batch.runner import BatchReport, run_inbox
from kpibatch.commands.common import add_common, settings_from
from kpibatch.commands.send import print_deliveries
from kpibatch.config import Settings
from kpibatch.deliver.pdf import PdfUnavailable, require_soffice
from kpibatch.deliver.service import after_run, prepare
from kpibatch.errors import ExitCode, UsageError
from kpibatch.text import counted


def register(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="score every settled workbook in the inbox, file it, and write the reports",
        description="Claim the .xlsx/.xlsm files in the inbox that have stopped changing, score them, "
        "move them to the archive (or the rejected folder, with a reason), record them in the ledger, "
        "and write one workbook and results.json per fiscal year and round under OUT.",
    )
    add_batch_options(run)
    run.add_argument(
        "--email",
        action="store_true",
        default=None,
        help="mail each consolidated workbook after the run (email.enabled in the config)",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="write the mail as .eml beside each workbook instead of sending",
    )
    add_common(run)
    run.set_defaults(handler=handle)


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    """Options every command that runs the batch takes (``run``, ``watch``)."""
    parser.add_argument("--inbox", type=Path, help="folder the divisions drop their workbooks into")
    parser.add_argument("--out", type=Path, help="folder for the reports (one subfolder per year and round)")
    parser.add_argument("--floor", type=int, choices=(0, 1), help="score of a result worse than level 1")
    parser.add_argument(
        "--thai-digits",
        action="store_true",
        default=None,
        help="show numbers in Thai digits (cells stay numeric)",
    )
    parser.add_argument(
        "--keep-inbox",
        action="store_true",
        default=None,
        help="copy inputs to the archive and leave the inbox as it is",
    )
    parser.add_argument("--archive", type=Path, help="folder for accepted files (default OUT/archive)")
    parser.add_argument("--rejected", type=Path, help="folder for rejected files (default OUT/rejected)")
    parser.add_argument("--ledger", type=Path, help="SQLite ledger (default OUT/ledger.sqlite3)")
    parser.add_argument("--lock-file", type=Path, help="lock file (default OUT/kpibatch.lock)")
    parser.add_argument("--log-dir", type=Path, help="folder for one log file per run (default OUT/logs)")
    parser.add_argument(
        "--jobs",
        type=jobs_count,
        metavar="N",
        help="worker processes that read and score the workbooks (default: one per CPU)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="read and score on this Dask scheduler's cluster instead (needs kpibatch[dask])",
    )
    parser.add_argument(
        "--pdf",
        action="store_true",
        default=None,
        help="also print each workbook to PDF beside it with LibreOffice (setting pdf)",
    )
    parser.add_argument(
        "--stability-delay",
        type=float,
        metavar="SECONDS",
        help="how long a file must stay unchanged before it is claimed (default 10)",
    )


def batch_settings(args: argparse.Namespace, **more: Any) -> Settings:
    settings = settings_from(
        args,
        inbox=args.inbox,
        out=args.out,
        floor=args.floor,
        thai_digits=args.thai_digits,
        keep_inbox=args.keep_inbox,
        archive=args.archive,
        rejected=args.rejected,
        ledger=args.ledger,
        lock_file=args.lock_file,
        log_dir=args.log_dir,
        stability_delay=args.stability_delay,
        jobs=args.jobs,
        scheduler=args.scheduler,
        pdf=args.pdf,
        **more,
    )
    if not settings.inbox.is_dir():
        raise UsageError(f"inbox folder not found: {settings.inbox}")
    if settings.pdf:  # before anything is claimed: a run asked for a PDF that cannot print none
        try:
            require_soffice()
        except PdfUnavailable as exc:
            raise UsageError(str(exc)) from None
    return settings


def progress_stream(args: argparse.Namespace) -> TextIO | None:
    """The progress bar goes to a terminal someone watches: never under cron, never with --quiet."""
    return sys.stderr if not args.quiet and sys.stderr.isatty() else None


def handle(args: argparse.Namespace, out: TextIO) -> int:
    settings = batch_settings(args, email_enabled=args.email)
    email = settings.email_enabled or args.dry_run
    for warning in prepare(settings, email=email, dry_run=args.dry_run):
        print(warning, file=out)
    # The mail step (and a dry run's .eml beside each workbook) is output too: it is written under
    # the batch lock, so no run starting meanwhile can take its temporary files for a killed run's.
    # Locked, ArchiveDamaged and LedgerError reach the CLI, which prints them with their exit codes.
    with batch_lock(BatchPaths.of(settings.paths).lock):
        report = run_inbox(settings, progress=progress_stream(args), lock_held=True)
        print_report(report, out, quiet=args.quiet)
        return mail_step(report, settings, out, email=email, dry_run=args.dry_run, quiet=args.quiet)


def mail_step(
    report: BatchReport, settings: Settings, out: TextIO, *, email: bool, dry_run: bool, quiet: bool
) -> int:
    """Record the report's workbooks in the outbox and send them (``run`` and ``watch``); the exit code."""
    mail = after_run(
        [(output.group.key, output.workbook) for output in report.outputs],
        settings,
        email=email,
        dry_run=dry_run,
        log=lambda line: print(line, file=out),
        run_id=report.run_id,
    )
    for note in mail.notes:
        print(f"warning: {note}", file=out)
    print_deliveries(mail.deliveries, out)
    if report.outputs and not quiet:
        print(
            f"run {report.run_id}: `kpibatch send --run {report.run_id}` mails its workbooks again", file=out
        )
    # An undelivered mail outranks rejected files: the report exists but nobody has it.
    if mail.failed:
        with Ledger(BatchPaths.of(settings.paths).ledger) as ledger:
            ledger.set_exit_code(report.run_id, ExitCode.MAIL)  # what `kpibatch history --runs` shows
        return ExitCode.MAIL
    return report.exit_code


def jobs_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes (1 or more)")
    return value


def print_report(report: BatchReport, out: TextIO, *, quiet: bool = False) -> None:
    for entry in report.refused:
        print(f"refused: {entry.name} (left in the inbox)", file=out)
        print(f"  {entry.problem.render()}", file=out)
    for filed in report.rejected:
        print(f"rejected: {filed.name} -> {filed.row.location}", file=out)
        for problem in filed.outcome.errors if filed.outcome else []:
            print(f"  {problem.render()}", file=out)
    if not quiet:
        if report.recovered:
            done = counted(report.recovered, "file")
            print(f"recovered: finished filing {done} of an interrupted run", file=out)
        for filed in report.duplicates:
            original = filed.original
            same = f"#{original.id} {original.file_name}" if original else "an earlier file"
            print(f"duplicate: {filed.name} (same bytes as {same}; not scored again)", file=out)
        for path in report.waiting:
            print(f"waiting: {path.name} (still changing; left in the inbox for the next run)", file=out)
        for output in report.outputs:
            for score in output.group.divisions:
                total = f"{score.total:.4f}" if score.total is not None else "-"
                print(f"  {output.group.key}  {total}  {score.division}", file=out)
    for output in report.outputs:
        print(f"workbook: {output.workbook}", file=out)
        print(f"results: {output.results}", file=out)
        if output.html is not None:
            print(f"html: {output.html}", file=out)
    if not quiet:
        print(f"log: {report.log_file}", file=out)
    print(report.summary(), file=out)
