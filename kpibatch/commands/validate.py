"""``kpibatch validate``: every problem in every file at once, each with its cell and what to do.

The checks are the ones ``kpibatch run`` makes (``pipeline.check_files``), so a file that validates
clean is a file ``run`` accepts. Exit 0 when no file has an error, 1 when any has.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from kpibatch.commands.common import add_common, settings_from
from kpibatch.errors import ExitCode, UsageError
from kpibatch.model import FileOutcome
from kpibatch.pipeline import check_files
from kpibatch.problems import Problem
from kpibatch.read.workbook import list_workbooks
from kpibatch.text import counted

EXIT_INVALID = ExitCode.FAILURE
"""``validate`` answers a question: 1 means "some file has an error" (as ``cmp``/``grep`` do)."""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "validate",
        help="check workbooks and list every problem with its sheet, cell and fix",
        description="Check each workbook with the same checks as `kpibatch run` and report every "
        "problem in every file at once: file, sheet, cell, a Thai and an English message, and what to "
        "do. Exit 0 when no file has an error, 1 when any has.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="workbooks or folders of them")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    add_common(parser)
    parser.set_defaults(handler=handle)


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given; a folder stands for the workbooks in it (as ``run --inbox`` reads them)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += list_workbooks(path)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"file not found: {path}")
    return files


def outcome_dict(outcome: FileOutcome) -> dict[str, Any]:
    return {
        "file": outcome.name,
        "path": str(outcome.path),
        "ok": not outcome.errors,
        "errors": len(outcome.errors),
        "warnings": len(outcome.problems) - len(outcome.errors),
        "problems": [problem.to_dict() for problem in outcome.problems],
    }


def _problem_lines(problem: Problem) -> list[str]:
    where = " › ".join(part for part in (problem.sheet, problem.cell) if part) or "-"
    lines = [
        f"  {problem.severity} {where} [{problem.code}]",
        f"    {problem.message_th}",
        f"    {problem.message_en}",
    ]
    fix = problem.to_dict()
    if fix["fix_th"] or fix["fix_en"]:
        lines.append(f"    แก้ไข: {fix['fix_th']}")
        lines.append(f"    Fix: {fix['fix_en']}")
    return lines


def print_text(outcomes: list[FileOutcome], out: TextIO, *, quiet: bool = False) -> None:
    for outcome in outcomes:
        errors = len(outcome.errors)
        warnings = len(outcome.problems) - errors
        mark = "ok" if not errors else "ERRORS"
        counts = f"{counted(errors, 'error')}, {counted(warnings, 'warning')}"
        print(f"{outcome.name}: {mark} ({counts})", file=out)
        for problem in outcome.problems:
            if quiet and problem.severity != "error":
                continue
            for line in _problem_lines(problem):
                print(line, file=out)
    bad = sum(1 for o in outcomes if o.errors)
    files = counted(len(outcomes), "file")
    print(f"{files}: {len(outcomes) - bad} without errors, {bad} with errors", file=out)


def handle(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from(args)
    files = expand(args.files)
    if not files:
        raise UsageError("no .xlsx or .xlsm files to validate")
    outcomes = list(check_files(files, settings.checking))
    if args.json:
        document = {
            "ok": not any(o.errors for o in outcomes),
            "files": [outcome_dict(o) for o in outcomes],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2), file=out)
    else:
        print_text(outcomes, out, quiet=args.quiet)
    return EXIT_INVALID if any(o.errors for o in outcomes) else ExitCode.OK
