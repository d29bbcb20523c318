"""One typed configuration object: defaults here, then ``kpibatch.toml``, then ``KPIBATCH_*``
environment variables, then command-line options (each later source wins).

Every key of ``Settings`` can be set in all three places: ``floor = 1`` in the TOML file,
``KPIBATCH_FLOOR=1`` in the environment, ``--floor 1`` on the command line.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

ENV_PREFIX = "KPIBATCH_"
CONFIG_FILE = "kpibatch.toml"
SECRET_KEYS = frozenset({"smtp_password"})


class ConfigError(ValueError):
    """A configuration value is missing or has the wrong type."""


@dataclass(frozen=True)
class Settings:
    """Every setting kpibatch reads, with its default."""

    inbox: Path = Path("inbox")
    out: Path = Path("output")
    floor: int = 0
    """Score of a result worse than level 1: 0, or 1 where the agreement says so."""
    font_name: str = "TH Sarabun New"
    font_size: int = 16
    thai_digits: bool = False
    expected_divisions: tuple[str, ...] = field(default=())
    jobs: int = 0
    """Worker processes that read and score workbooks; 0 means one per CPU."""
    scheduler: str | None = None
    """``tcp://HOST:PORT`` of a Dask scheduler to read and score on instead of local processes."""

    def masked(self) -> dict[str, Any]:
        """The settings as plain values with secrets replaced by ``***``."""
        result: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_KEYS and value:
                value = "***"
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            result[f.name] = value
        return result


def _coerce(name: str, kind: Any, value: Any) -> Any:
    origin = getattr(kind, "__origin__", None)
    try:
        if kind is bool or kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(value)
        if kind is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind is float:
            return float(value)
        if kind is Path:
            return Path(str(value)).expanduser()
        if kind is str:
            return str(value)
        if origin is tuple:
            if isinstance(value, str):
                return tuple(part.strip() for part in value.split(",") if part.strip())
            return tuple(str(v) for v in value)
        if getattr(kind, "__args__", None) and type(None) in kind.__args__:  # Optional[X]
            if value is None or value == "":
                return None
            inner = next(a for a in kind.__args__ if a is not type(None))
            return _coerce(name, inner, value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: cannot use {value!r}") from exc
    return value


def load_settings(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Build the effective settings: defaults < TOML < environment < overrides (None is ignored)."""
    environ = os.environ if environ is None else environ
    hints = get_type_hints(Settings)
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}

    path = config_file
    if path is None and environ.get(ENV_PREFIX + "CONFIG"):
        path = Path(environ[ENV_PREFIX + "CONFIG"])
    if path is None:
        candidate = (cwd or Path.cwd()) / CONFIG_FILE
        path = candidate if candidate.is_file() else None
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from exc
        for key, value in _flatten(data).items():
            if key not in names:
                raise ConfigError(f"config file {path}: unknown setting {key!r}")
            values[key] = value
    for key in names:
        env = environ.get(ENV_PREFIX + key.upper())
        if env is not None:
            values[key] = env
    for key, value in (overrides or {}).items():
        if value is not None:
            if key not in names:
                raise ConfigError(f"unknown setting {key!r}")
            values[key] = value
    coerced = {key: _coerce(key, hints[key], value) for key, value in values.items()}
    return dataclasses.replace(Settings(), **coerced)


def _flatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """``[smtp] host = "x"`` becomes ``smtp_host``; top-level keys stay as they are."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping) and key != "kpibatch":
            for sub, inner in value.items():
                flat[f"{key}_{sub}"] = inner
        elif isinstance(value, Mapping):
            flat.update(_flatten(value))
        else:
            flat[key] = value
    return flat
