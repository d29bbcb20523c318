"""``kpibatch history``: the ledger's submissions and runs, optionally for one division, year or round."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from kpibatch.batch.ledger import Ledger, RunRow, SubmissionRow
from kpibatch.commands.common import add_common, buddhist_year, existing_ledger, settings_from
from kpibatch.errors import ExitCode
from kpibatch.text import counted, division_key


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "history",
        help="list the submissions and runs recorded in the ledger",
        description="List every submission (file, SHA-256, division, year and round, status, where it "
        "is filed) and every run recorded in the ledger.",
    )
    parser.add_argument("--division", help="only divisions whose name contains this text")
    parser.add_argument("--fiscal-year", type=int, metavar="YEAR", help="Buddhist era (2563) or Common era")
    parser.add_argument("--round", type=int, choices=(6, 9, 12), help="only this round")
    show = parser.add_mutually_exclusive_group()
    show.add_argument("--submissions", action="store_true", help="only the submissions")
    show.add_argument("--runs", action="store_true", help="only the runs")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--out", type=Path, help="output folder whose ledger to read")
    parser.add_argument("--ledger", type=Path, help="ledger file (default OUT/ledger.sqlite3)")
    add_common(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from(args, out=args.out, ledger=args.ledger)
    path = existing_ledger(settings)
    year = buddhist_year(args.fiscal_year)
    with Ledger(path) as ledger:
        submissions = ledger.submissions(year, args.round)
        if args.division:
            wanted = division_key(args.division)
            submissions = [s for s in submissions if wanted in (s.division_key or "")]
        filtered = args.division or year is not None or args.round is not None
        runs = ledger.runs({s.run_id for s in submissions} if filtered else None)
    show_submissions, show_runs = not args.runs, not args.submissions
    if args.json:
        data: dict[str, Any] = {}
        if show_submissions:
            data["submissions"] = [_submission_json(s) for s in submissions]
        if show_runs:
            data["runs"] = [{**asdict(r), "outputs": json.loads(r.outputs)} for r in runs]
        print(json.dumps(data, ensure_ascii=False, indent=2), file=out)
        return ExitCode.OK
    if show_submissions:
        print(f"submissions ({len(submissions)})", file=out)
        for row in submissions:
            print(_submission_line(row), file=out)
    if show_runs:
        print(f"runs ({len(runs)})", file=out)
        for run in runs:
            print(_run_line(run), file=out)
    return ExitCode.OK


def _submission_json(row: SubmissionRow) -> dict[str, Any]:
    data = asdict(row)
    del data["record"]  # the report's internal copy of ``scores``
    data["problems"] = row.problem_dicts
    data["scores"] = json.loads(row.scores) if row.scores else None
    return data


def _submission_line(row: SubmissionRow) -> str:
    group = f"{row.fiscal_year}-r{row.round}" if row.group else "?"
    total = f"{float(row.total):.4f}" if row.total is not None else "-"
    notes = []
    if row.superseded_by is not None:
        notes.append(f"superseded by #{row.superseded_by}")
    if row.duplicate_of is not None:
        notes.append(f"same bytes as #{row.duplicate_of}")
    errors = sum(1 for p in row.problem_dicts if p.get("severity") == "error")
    if errors:
        notes.append(counted(errors, "error"))
    if row.filed_at is None and row.status != "missing":
        notes.append("not filed yet")
    note = f" ({'; '.join(notes)})" if notes else ""
    return (
        f"#{row.id:<5} {row.received_at}  {row.status:<9} {group:<9} {total:>6}  "
        f"{row.division or '-'}  {row.file_name}  sha256:{row.sha256[:12]}{note}\n"
        f"        -> {row.location}"
    )


def _run_line(run: RunRow) -> str:
    end = run.finished_at or "did not finish (killed?)"
    code = f"exit {run.exit_code}" if run.exit_code is not None else "no exit code"
    outputs = ", ".join(o["workbook"] for o in json.loads(run.outputs)) or "-"
    return (
        f"run #{run.id:<4} {run.command:<5} {run.started_at} -> {end}  {code}  "
        f"{run.accepted} accepted, {run.rejected} rejected, {counted(run.duplicates, 'duplicate')}, "
        f"{run.superseded} superseded, {run.waiting} waiting, {run.recovered} recovered\n"
        f"        outputs: {outputs}\n        log: {run.log_file or '-'}"
    )
