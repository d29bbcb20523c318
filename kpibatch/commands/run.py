"""``kpibatch run``: score every workbook in the inbox and write the consolidated report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from kpibatch.commands.common import UsageError, add_common, settings_from
from kpibatch.commands.send import print_deliveries
from kpibatch.deliver.service import after_run, prepare
from kpibatch.pipeline import EXIT_MAIL, RunReport, inbox_files, run_batch


def register(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="score every workbook in an inbox and write the consolidated report",
        description="Read every .xlsx/.xlsm in the inbox, score it, and write one workbook and "
        "results.json per fiscal year and round under OUT.",
    )
    run.add_argument("--inbox", type=Path, help="folder with the divisions' workbooks")
    run.add_argument("--out", type=Path, help="folder for the reports (one subfolder per year and round)")
    run.add_argument("--floor", type=int, choices=(0, 1), help="score of a result worse than level 1")
    run.add_argument(
        "--thai-digits",
        action="store_true",
        default=None,
        help="show numbers in Thai digits (cells stay numeric)",
    )
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


def handle(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from(
        args,
        inbox=args.inbox,
        out=args.out,
        floor=args.floor,
        thai_digits=args.thai_digits,
        email_enabled=args.email,
    )
    if not settings.inbox.is_dir():
        raise UsageError(f"inbox folder not found: {settings.inbox}")
    email = settings.email_enabled or args.dry_run
    for warning in prepare(settings, email=email, dry_run=args.dry_run):
        print(warning, file=out)
    report = run_batch(inbox_files(settings.inbox), settings.out, settings)
    print_report(report, out, quiet=args.quiet)
    mail = after_run(
        [(output.group.key, output.workbook) for output in report.outputs],
        settings,
        email=email,
        dry_run=args.dry_run,
        log=lambda line: print(line, file=out),
    )
    for note in mail.notes:
        print(f"warning: {note}", file=out)
    print_deliveries(mail.deliveries, out)
    if mail.run_id is not None and not args.quiet:
        print(f"run {mail.run_id}: `kpibatch send --run {mail.run_id}` mails its workbooks again", file=out)
    # An undelivered mail outranks rejected files: the report exists but nobody has it.
    return EXIT_MAIL if mail.failed else report.exit_code


def print_report(report: RunReport, out: TextIO, *, quiet: bool = False) -> None:
    for outcome in report.rejected:
        print(f"rejected: {outcome.name}", file=out)
        for problem in outcome.errors:
            print(f"  {problem.render()}", file=out)
    if not quiet:
        for output in report.outputs:
            for score in output.group.divisions:
                total = f"{score.total:.4f}" if score.total is not None else "-"
                print(f"  {output.group.key}  {total}  {score.division}", file=out)
    for output in report.outputs:
        print(f"workbook: {output.workbook}", file=out)
        print(f"results: {output.results}", file=out)
        if output.html is not None:
            print(f"html: {output.html}", file=out)
    print(
        f"{len(report.outcomes)} files: {len(report.accepted)} accepted, {len(report.rejected)} rejected, "
        f"{report.superseded} superseded",
        file=out,
    )
