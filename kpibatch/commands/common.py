"""What every sub-command shares: common options, settings from options, the usage error."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kpibatch.config import Settings, load_settings


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="kpibatch.toml to read (default: ./kpibatch.toml)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary and errors")


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    return load_settings(config_file=getattr(args, "config", None), overrides=overrides)
