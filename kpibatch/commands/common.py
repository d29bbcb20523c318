"""What every sub-command shares: common options, settings from options, the usage error."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kpibatch.batch.paths import BatchPaths
from kpibatch.config import Settings, load_settings
from kpibatch.errors import UsageError
from kpibatch.text import BUDDHIST_ERA_OFFSET


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="kpibatch.toml to read (default: ./kpibatch.toml)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary and errors")


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    return load_settings(config_file=getattr(args, "config", None), overrides=overrides)


def existing_ledger(settings: Settings) -> Path:
    """The ledger a reading command (history, export) reads; a usage error where none has been made."""
    path = BatchPaths.of(settings.paths).ledger
    if not path.is_file():
        raise UsageError(f"no ledger at {path}: no batch has run with this output folder yet")
    return path


def buddhist_year(year: int | None) -> int | None:
    """A fiscal year as the ledger keeps it (B.E.); a Common-era year, as workbooks may also say, is
    turned into one."""
    if year is not None and year < 2400:
        return year + BUDDHIST_ERA_OFFSET
    return year
