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

from kpibatch.errors import ConfigError

ENV_PREFIX = "KPIBATCH_"
CONFIG_FILE = "kpibatch.toml"
SECRET_KEYS = frozenset({"smtp_password"})
SECRET_SUFFIXES = ("password", "secret", "token")
"""Any setting whose name ends like this is masked too, so a secret added later is never printed."""
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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
    ledger: Path | None = None
    """SQLite file that keeps runs and pending mail; default ``<out>/ledger.sqlite3``."""

    # Mail (issue 6). ``[email] enabled``, ``[smtp] host`` and ``[mail] to`` in the TOML file.
    email_enabled: bool = False
    smtp_host: str = ""
    smtp_port: int = 0
    """0 means the usual port of the security mode: 25 (none), 587 (starttls), 465 (ssl)."""
    smtp_security: str = "starttls"
    """``none``, ``starttls`` or ``ssl``."""
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_cafile: Path | None = None
    """A private CA (PEM) trusted in addition to the system's, for an internal mail server."""
    smtp_connect_timeout: float = 15.0
    smtp_timeout: float = 60.0
    """Seconds (wall clock) one SMTP command may take, and the upload of the message text."""
    smtp_data_timeout: float = 600.0
    """Seconds to wait for the server's reply after the message text (RFC 5321: 10 minutes)."""
    smtp_retries: int = 3
    """Retries after the first attempt, on connection errors and 4xx replies only."""
    smtp_backoff: float = 5.0
    """Seconds before the first retry; doubled before each further one."""
    allow_plaintext_login: bool = False
    mail_from: str = ""
    mail_to: tuple[str, ...] = field(default=())
    mail_cc: tuple[str, ...] = field(default=())
    mail_bcc: tuple[str, ...] = field(default=())
    mail_language: str = "th"
    """``th`` or ``en``: the language of the mail and of report.html."""
    mail_templates: Path | None = None
    """A folder whose ``th/`` or ``en/`` templates replace the shipped ones, file by file."""
    mail_deadline_s: float = 900.0
    """Seconds the whole mail step of a run or ``kpibatch send`` may take (``[mail] deadline_s``)."""

    # The drop folder (kpibatch.batch). Paths left unset live inside ``out``; see ``kpibatch.batch.paths``.
    keep_inbox: bool = False
    """Copy inputs into the archive instead of moving them (an inbox holding ``.kpibatch-keep`` too)."""
    archive: Path | None = None
    rejected: Path | None = None
    lock_file: Path | None = None
    log_dir: Path | None = None
    log_level: str = "INFO"
    stability_delay: float = 10.0
    """Seconds a file's size and modification time must stay unchanged before it is claimed."""
    watch_interval: float = 30.0

    @property
    def ledger_path(self) -> Path:
        return self.ledger if self.ledger is not None else self.out / "ledger.sqlite3"

    # Limits checked before a workbook is parsed (kpibatch/read/precheck.py). A KPI workbook is a few
    # hundred kilobytes with a few hundred rows; these leave a wide margin and still keep a hostile
    # file from reaching the parsers.
    max_file_mb: int = 50
    """Size of the file on disk."""
    max_zip_members: int = 1000
    """Parts inside the workbook's zip container."""
    max_unzipped_mb: int = 100
    """Total size of all parts once expanded, as the zip directory declares it."""
    max_zip_ratio: int = 100
    """Expansion ratio of one part (checked for parts over 1 MB expanded)."""
    max_sheet_rows: int = 10_000
    """Rows of a sheet that is read (declared dimension and real extent)."""
    max_sheet_columns: int = 256
    """Columns of a sheet that is read (256 = IV, the old Excel limit)."""
    jobs: int = 0
    """Worker processes that read and score workbooks; 0 means one per CPU."""
    scheduler: str | None = None
    """``tcp://HOST:PORT`` of a Dask scheduler to read and score on instead of local processes."""
    worker_memory_mb: int = 1024
    """Memory a worker may take for one workbook beyond what it starts with (0: no limit); a file that
    needs more is rejected, the worker restarted and the batch goes on."""
    file_timeout_s: float = 120.0
    """Seconds reading, validating and scoring one workbook may take (0: no limit)."""

    def masked(self) -> dict[str, Any]:
        """The settings as plain values with secrets replaced by ``***``."""
        result: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if is_secret(f.name) and value:
                value = "***"
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            result[f.name] = value
        return result


def is_secret(name: str) -> bool:
    return name in SECRET_KEYS or name.endswith(SECRET_SUFFIXES)


def _check(settings: Settings) -> Settings:
    """Values that have the right type but cannot work."""
    if settings.stability_delay < 0:
        raise ConfigError(f"setting stability_delay: must be 0 or more, not {settings.stability_delay}")
    if settings.watch_interval <= 0:
        raise ConfigError(f"setting watch_interval: must be more than 0, not {settings.watch_interval}")
    for name in ("smtp_connect_timeout", "smtp_timeout", "smtp_data_timeout", "mail_deadline_s"):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"setting {name}: must be more than 0, not {getattr(settings, name)}")
    if settings.log_level.upper() not in LOG_LEVELS:
        raise ConfigError(f"setting log_level: {settings.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
    return settings


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


def config_path(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path | None:
    """The TOML file that is read: ``--config``, else ``KPIBATCH_CONFIG``, else ``./kpibatch.toml``."""
    environ = os.environ if environ is None else environ
    if config_file is not None:
        return config_file
    if environ.get(ENV_PREFIX + "CONFIG"):
        return Path(environ[ENV_PREFIX + "CONFIG"])
    candidate = (cwd or Path.cwd()) / CONFIG_FILE
    return candidate if candidate.is_file() else None


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

    path = config_path(config_file, environ, cwd)
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
    return _check(dataclasses.replace(Settings(), **coerced))


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
