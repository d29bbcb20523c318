"""The ``kpibatch`` command: parse options, call the library, map outcomes to messages and exit codes.

Exit codes: 0 all files accepted, 1 unexpected failure, 2 usage or configuration error, 3 some files
rejected, 4 another run holds the lock, 5 mail could not be sent. No traceback reaches the user
unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from kpibatch import __version__
from kpibatch.config import ConfigError, Settings, load_settings
from kpibatch.pipeline import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, RunReport, inbox_files, run_batch


class UsageError(Exception):
    """The command line asks for something that cannot be done (exit code 2)."""


Command = Callable[[argparse.Namespace, TextIO], int]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="kpibatch.toml to read (default: ./kpibatch.toml)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary and errors")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kpibatch",
        description="Score divisions' KPI workbooks and write one consolidated Excel report.",
    )
    parser.add_argument("--version", action="version", version=f"kpibatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

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
    _common(run)
    run.set_defaults(handler=cmd_run)
    return parser


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    return load_settings(config_file=args.config, overrides=overrides)


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    settings = _settings(args, inbox=args.inbox, out=args.out, floor=args.floor, thai_digits=args.thai_digits)
    if not settings.inbox.is_dir():
        raise UsageError(f"inbox folder not found: {settings.inbox}")
    report = run_batch(inbox_files(settings.inbox), settings.out, settings)
    print_report(report, out, quiet=args.quiet)
    return report.exit_code


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


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(out)
        return EXIT_USAGE
    try:
        return int(args.handler(args, out))
    except (UsageError, ConfigError) as exc:
        print(f"kpibatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kpibatch: interrupted", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        print(
            f"kpibatch: unexpected error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_FAILURE


__all__ = ["EXIT_OK", "main"]
