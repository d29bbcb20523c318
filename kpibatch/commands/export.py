"""``kpibatch export``: the ledger's history as one CSV in long form, one row a KPI of a submission.

Every accepted submission the ledger stored (superseded ones too, with ``current`` 0), optionally for
one fiscal year, round or division. UTF-8 with a byte-order mark, so Excel opens Thai text right;
text a division typed that a spreadsheet would take for a formula gets a leading apostrophe.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from kpibatch.commands.common import add_common, buddhist_year, existing_ledger, settings_from
from kpibatch.errors import ExitCode
from kpibatch.fsutil import write_atomic
from kpibatch.text import counted

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A cell starting with one of these is a formula (or becomes one) in Excel or LibreOffice."""
TEXT_COLUMNS = ("division", "file", "code", "name", "parent", "status")
EXPORT_COLUMNS = (
    "submission_id",
    "received_at",
    "fiscal_year",
    "round",
    "division",
    "current",
    "file",
    "total",
    "code",
    "name",
    "parent",
    "status",
    "result",
    "verified_result",
    "scored",
    "score",
    "weight",
    "effective_weight",
)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "export",
        help="write the ledger's history as a CSV file, one row a KPI of a submission",
        description="Write every accepted submission the ledger holds (superseded ones marked "
        "current=0) as a CSV file in long form, one row a KPI of a submission, in UTF-8 with a "
        "byte-order mark so that Excel shows Thai text.",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.csv", help="the CSV file to write")
    parser.add_argument("--fiscal-year", type=int, metavar="YEAR", help="Buddhist era (2563) or Common era")
    parser.add_argument("--round", type=int, choices=(6, 9, 12), help="only this round")
    parser.add_argument("--division", help="only divisions whose name contains this text")
    parser.add_argument("--output-dir", type=Path, help="output folder whose ledger to read")
    parser.add_argument("--ledger", type=Path, help="ledger file (default OUTPUT_DIR/ledger.sqlite3)")
    add_common(parser)
    parser.set_defaults(handler=handle)


def neutralized(value: object) -> object:
    """Text that a spreadsheet would evaluate, kept as text: ``=1+1`` is written ``'=1+1``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def handle(args: argparse.Namespace, out: TextIO) -> int:
    from kpibatch.loading import frames_of, ledger_records

    settings = settings_from(args, out=args.output_dir, ledger=args.ledger)
    path = existing_ledger(settings)
    year = buddhist_year(args.fiscal_year)
    results = frames_of(ledger_records(path, year, args.round, args.division))
    divisions = results.divisions.set_index("submission_id")
    rows = results.kpis.copy()
    rows["received_at"] = rows["submission_id"].map(divisions["received_at"])
    rows["total"] = rows["submission_id"].map(divisions["total"])
    rows["current"] = rows["current"].astype(int)
    for column in TEXT_COLUMNS:
        rows[column] = rows[column].map(neutralized)
    rows = rows[list(EXPORT_COLUMNS)]
    target = args.out
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, lambda tmp: rows.to_csv(tmp, index=False, encoding="utf-8-sig") and None)
    if not args.quiet:
        print(
            f"{counted(len(rows), 'row')} ({counted(len(divisions), 'submission')}) written to {target}",
            file=out,
        )
    return ExitCode.OK
