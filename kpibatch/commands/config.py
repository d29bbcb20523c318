"""``kpibatch config show``: the effective settings after every source, with secrets masked."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import fields
from typing import Any, TextIO

from kpibatch.batch.paths import DERIVED, effective_paths
from kpibatch.commands.common import add_common, settings_from
from kpibatch.config import Settings, config_path
from kpibatch.errors import ExitCode


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "config",
        help="show the effective configuration",
        description="Settings come from defaults < kpibatch.toml < KPIBATCH_* environment variables "
        "< command-line options.",
    )
    actions = parser.add_subparsers(
        dest="action", metavar="ACTION", required=True, help="what to do with the configuration"
    )
    show = actions.add_parser("show", help="print every setting's effective value (secrets masked)")
    show.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    add_common(show)
    show.set_defaults(handler=handle_show)


def effective(settings: Settings) -> dict[str, Any]:
    """Every setting's value as used, secrets masked; unset batch paths show where they resolve to."""
    values = settings.masked()
    resolved = effective_paths(settings.paths)
    for name, field in DERIVED.items():
        if values.get(name) is None:
            values[name] = str(resolved[field])
    return values


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # [deadlines]: an inline table of TOML dates
        return "{ " + ", ".join(f"{toml_value(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, dt.date):
        return value.isoformat()
    # A JSON string is a valid TOML basic string (the same escapes).
    return json.dumps(str(value), ensure_ascii=False)


def handle_show(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from(args)
    values = effective(settings)
    if args.json:
        print(json.dumps(values, ensure_ascii=False, indent=2, default=str), file=out)  # dates as ISO
        return ExitCode.OK
    source = config_path(getattr(args, "config", None))
    print("# kpibatch effective settings: defaults < kpibatch.toml < KPIBATCH_* < options", file=out)
    print(f"# config file: {source if source is not None else 'none'}", file=out)
    for f in fields(Settings):
        value = values[f.name]
        if value is None:
            print(f"# {f.name} = (not set)", file=out)
        else:
            print(f"{f.name} = {toml_value(value)}", file=out)
    return ExitCode.OK
