"""``kpibatch divisions check``: validate the division registry before a round opens."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from kpibatch.commands.common import add_common, settings_from
from kpibatch.errors import ExitCode, UsageError
from kpibatch.registry import RegistryError, load_registry


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "divisions",
        help="check the division registry (divisions.toml or divisions.xlsx)",
        description="Check the division registry: every entry has a name, every e-mail address is "
        "one, and no name, short name or alias belongs to two divisions. Each problem names the line "
        "(TOML) or cell (xlsx), in Thai and English. Exit 0 when the registry is sound, 3 (as for a "
        "rejected file) when not.",
    )
    parser.add_argument("action", choices=("check",), help="what to do: check")
    parser.add_argument(
        "--registry",
        type=Path,
        metavar="FILE",
        help="the registry to check (default: the setting divisions_registry)",
    )
    add_common(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: TextIO) -> int:
    path: Path | None = args.registry
    if path is None:
        path = settings_from(args).divisions_registry
    if path is None:
        raise UsageError("no registry: give --registry FILE or set [divisions] registry in kpibatch.toml")
    try:
        registry = load_registry(path)
    except RegistryError as exc:
        raise UsageError(str(exc)) from None
    for problem in registry.problems:
        print(problem.message, file=out)
    if registry.problems:
        return ExitCode.REJECTED
    print(
        f"ทะเบียนหน่วยงานถูกต้อง {len(registry.divisions)} หน่วยงาน / "
        f"the registry is sound: {len(registry.divisions)} divisions",
        file=out,
    )
    return ExitCode.OK
