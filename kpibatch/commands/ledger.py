"""``kpibatch ledger rebuild``: write a lost ledger again from the archive.

A run refuses to start a new ledger when the output folder shows an earlier one existed (exit 1,
``kpibatch.batch.rebuild.LedgerMissing``); this command is the way out. It takes the batch lock,
reads every archived, rejected and duplicate file again, and says what it could not recover.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from kpibatch.batch.lock import batch_lock
from kpibatch.batch.paths import BatchPaths
from kpibatch.batch.rebuild import rebuild_ledger
from kpibatch.commands.common import add_common, settings_from
from kpibatch.errors import ExitCode


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "ledger",
        help="look after the ledger (rebuild a lost one from the archive)",
        description="Commands for the SQLite ledger of the drop folder.",
    )
    actions = parser.add_subparsers(
        dest="ledger_action", metavar="ACTION", required=True, help="what to do with the ledger"
    )
    rebuild = actions.add_parser(
        "rebuild",
        help="write a missing or empty ledger again from the archive and the rejected folder",
        description="Re-create the ledger from every archived, rejected and duplicate file, the .txt "
        "beside it and the time in its name (each file is read and scored again), and list what could "
        "not be recovered. Refuses when a non-empty ledger is there.",
    )
    rebuild.add_argument("--out", type=Path, help="output folder whose ledger to rebuild")
    rebuild.add_argument("--inbox", type=Path, help="inbox folder the files were dropped into")
    rebuild.add_argument("--archive", type=Path, help="folder of accepted files (default OUT/archive)")
    rebuild.add_argument("--rejected", type=Path, help="folder of rejected files (default OUT/rejected)")
    rebuild.add_argument("--ledger", type=Path, help="ledger to write (default OUT/ledger.sqlite3)")
    rebuild.add_argument("--lock-file", type=Path, help="lock file (default OUT/kpibatch.lock)")
    add_common(rebuild)
    rebuild.set_defaults(handler=handle_rebuild)


def handle_rebuild(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from(
        args,
        out=args.out,
        inbox=args.inbox,
        archive=args.archive,
        rejected=args.rejected,
        ledger=args.ledger,
        lock_file=args.lock_file,
    )
    paths = BatchPaths.of(settings.paths)
    with batch_lock(paths.lock):  # Locked and LedgerError reach the CLI with their exit codes
        rebuilt = rebuild_ledger(settings.paths, settings.checking)
    print(
        f"rebuilt {rebuilt.ledger}: {rebuilt.count('accepted')} accepted, {rebuilt.count('rejected')} "
        f"rejected, {rebuilt.count('duplicate')} duplicates from {paths.archive} and {paths.rejected}",
        file=out,
    )
    print("could not recover:", file=out)
    for line in rebuilt.lost:
        print(f"  - {line}", file=out)
    print("the next `kpibatch run` writes every round's report again from the archive", file=out)
    return ExitCode.OK
