"""``kpibatch template``: write a blank division template, or the next round's from an earlier file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from kpibatch.commands.common import add_common, settings_from
from kpibatch.errors import ExitCode, UsageError
from kpibatch.fsutil import write_atomic
from kpibatch.read.submission import fiscal_year_be
from kpibatch.template import TemplateSpec, next_round_spec, write_template
from kpibatch.template.layout import ROUNDS
from kpibatch.template.nextround import PreviousUnreadable
from kpibatch.text import to_arabic_digits


def _fiscal_year(text: str) -> int:
    year = fiscal_year_be(text)
    if year is None:
        raise argparse.ArgumentTypeError(f"not a fiscal year: {text!r} (use e.g. 2563)")
    return year


def _round(text: str) -> int:
    digits = to_arabic_digits(text).strip()
    if not digits.isdigit() or int(digits) not in ROUNDS:
        raise argparse.ArgumentTypeError(f"round must be 6, 9 or 12, not {text!r}")
    return int(digits)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "template",
        help="write a division template (blank, or the next round's from an earlier submission)",
        description="Write a template in contract v1 that a division can fill in Excel or LibreOffice "
        "without help. With --from, the KPIs, weights and levels of an earlier submission are kept and "
        "its results and statuses cleared.",
    )
    parser.add_argument("--out", type=Path, required=True, help="the .xlsx file to write")
    parser.add_argument("--division", help="pre-fill the division's name")
    parser.add_argument("--short-name", help="pre-fill the division's short name")
    parser.add_argument("--fiscal-year", type=_fiscal_year, help="pre-fill the fiscal year (e.g. 2563)")
    parser.add_argument("--round", type=_round, help="pre-fill the round: 6, 9 or 12")
    parser.add_argument(
        "--from",
        dest="previous",
        type=Path,
        metavar="PREVIOUS.xlsx",
        help="an earlier submission whose KPI definitions, weights and levels are kept (needs --round)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    add_common(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from(args)
    target: Path = args.out
    if target.suffix.lower() != ".xlsx":
        raise UsageError(f"--out must name an .xlsx file, not {target}")
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists; use --force to overwrite it")

    if args.previous is None:
        spec = TemplateSpec(
            division=args.division,
            short_name=args.short_name,
            fiscal_year=args.fiscal_year,
            round=args.round,
        )
    else:
        if not args.previous.is_file():
            raise UsageError(f"previous submission not found: {args.previous}")
        if args.round is None:
            raise UsageError("--from needs --round: the round the new template is for")
        try:
            spec, problems = next_round_spec(
                args.previous,
                round_=args.round,
                fiscal_year=args.fiscal_year,
                division=args.division,
                short_name=args.short_name,
            )
        except PreviousUnreadable as exc:
            print(f"cannot take the KPIs from {args.previous.name}:", file=out)
            for problem in exc.problems:
                print(f"  {problem.render()}", file=out)
            return ExitCode.REJECTED
        if problems and not args.quiet:
            print(
                f"{args.previous.name}: problems found while reading it "
                "(a value that could not be read is left blank in the new template):",
                file=out,
            )
            for problem in problems:
                print(f"  {problem.render()}", file=out)

    def write(tmp: Path) -> None:
        write_template(tmp, spec, font_name=settings.font_name, font_size=settings.font_size)

    write_atomic(target, write)
    if args.previous is not None:
        print(
            f"{len(spec.kpis)} KPIs taken from {args.previous.name} for round {spec.round}; "
            "results and statuses cleared",
            file=out,
        )
    print(f"template: {target}", file=out)
    return ExitCode.OK
