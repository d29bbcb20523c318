"""The ``kpibatch`` command: parse options, call the library, map outcomes to messages and exit codes.

Exit codes: 0 success (every file accepted), 1 unexpected failure, 2 usage or configuration error,
3 some files rejected (``validate``: 1 when any error), 4 another run holds the lock, 5 mail could
not be sent. A command returns the code of what it did (``ExitCode``); an error that stops it is a
``KpibatchError``, which carries its own code (``kpibatch.errors``), and this module is the one place
that turns either into the process's exit code. No traceback reaches the user unless ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from kpibatch import __version__
from kpibatch.commands import COMMANDS
from kpibatch.errors import ExitCode, KpibatchError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kpibatch",
        description="Score divisions' KPI workbooks and write one consolidated Excel report.",
    )
    parser.add_argument("--version", action="version", version=f"kpibatch {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(out)
        return int(ExitCode.USAGE)
    try:
        return int(args.handler(args, out))
    except KpibatchError as exc:
        print(f"kpibatch: {exc.label}{exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("kpibatch: interrupted", file=sys.stderr)
        return int(ExitCode.FAILURE)
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        print(
            f"kpibatch: unexpected error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return int(ExitCode.FAILURE)
