"""``kpibatch run``: score every workbook in the inbox and write the consolidated report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from kpibatch.commands.common import UsageError, add_common, settings_from
from kpibatch.pipeline import RunReport, inbox_files, run_batch


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
        "--jobs",
        type=jobs_count,
        metavar="N",
        help="worker processes that read and score the workbooks (default: one per CPU)",
    )
    run.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="read and score on this Dask scheduler's cluster instead (needs kpibatch[dask])",
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
        jobs=args.jobs,
        scheduler=args.scheduler,
    )
    if not settings.inbox.is_dir():
        raise UsageError(f"inbox folder not found: {settings.inbox}")
    report = run_batch(inbox_files(settings.inbox), settings.out, settings)
    print_report(report, out, quiet=args.quiet)
    return report.exit_code


def jobs_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes (1 or more)")
    return value


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
    print(
        f"{len(report.outcomes)} files: {len(report.accepted)} accepted, {len(report.rejected)} rejected, "
        f"{report.superseded} superseded",
        file=out,
    )
