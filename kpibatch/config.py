"""One typed configuration object: defaults here, then ``kpibatch.toml``, then ``KPIBATCH_*``
environment variables, then command-line options (each later source wins).

Every key of ``Settings`` can be set in all three places: ``floor = 1`` in the TOML file,
``KPIBATCH_FLOOR=1`` in the environment, ``--floor 1`` on the command line.

``Settings`` is composed of small typed parts, one per concern, and each stage is handed only its
part: ``scoring`` (the scorer), ``style`` (the workbook and the summary), ``limits`` (the checks before
a workbook is parsed), ``workers``, ``paths``, ``batch`` (the drop folder), ``mail``, ``smtp``,
``divisions`` (registry, deadlines) and ``printing``; ``checking`` and ``reporting`` bundle the parts
the check and the write stage need. Only the composition roots (the CLI commands, the library API,
``pipeline.run_batch``, ``batch.runner``, ``batch.watch``, ``deliver.service``) hold the whole
``Settings``; ``tests/test_config_parts.py`` checks that no other function takes it. The
keys stay the flat names they always had (``smtp_host``, ``KPIBATCH_SMTP_HOST``, ``[smtp] host``), so
configuration files, environment and options written for earlier versions keep working; each part's
field names the key it comes from, and a test checks that every key belongs to exactly one part.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from kpibatch.errors import ConfigError

ENV_PREFIX = "KPIBATCH_"
CONFIG_FILE = "kpibatch.toml"
SECRET_KEYS = frozenset({"smtp_password"})
SECRET_SUFFIXES = ("password", "secret", "token")
"""Any setting whose name ends like this is masked too, so a secret added later is never printed."""
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_Part = TypeVar("_Part")


@dataclass(frozen=True)
class Scoring:
    """What changes scores."""

    floor: int = field(metadata={"setting": "floor"})


@dataclass(frozen=True)
class ReportStyle:
    """How the workbook and the summary (mail, report.html) present a round."""

    font_name: str = field(metadata={"setting": "font_name"})
    font_size: int = field(metadata={"setting": "font_size"})
    thai_digits: bool = field(metadata={"setting": "thai_digits"})


@dataclass(frozen=True)
class InputLimits:
    """What a workbook may be before it is parsed, and what reading one may take."""

    max_file_mb: int = field(metadata={"setting": "max_file_mb"})
    max_zip_members: int = field(metadata={"setting": "max_zip_members"})
    max_unzipped_mb: int = field(metadata={"setting": "max_unzipped_mb"})
    max_zip_ratio: int = field(metadata={"setting": "max_zip_ratio"})
    max_sheet_rows: int = field(metadata={"setting": "max_sheet_rows"})
    max_sheet_columns: int = field(metadata={"setting": "max_sheet_columns"})
    worker_memory_mb: int = field(metadata={"setting": "worker_memory_mb"})
    file_timeout_s: float = field(metadata={"setting": "file_timeout_s"})


@dataclass(frozen=True)
class Workers:
    """Where workbooks are read and scored."""

    jobs: int = field(metadata={"setting": "jobs"})
    scheduler: str | None = field(metadata={"setting": "scheduler"})


@dataclass(frozen=True)
class Paths:
    """Folders and files; the ones left unset live inside ``out`` (``kpibatch.batch.paths``)."""

    inbox: Path = field(metadata={"setting": "inbox"})
    out: Path = field(metadata={"setting": "out"})
    ledger: Path | None = field(metadata={"setting": "ledger"})
    archive: Path | None = field(metadata={"setting": "archive"})
    rejected: Path | None = field(metadata={"setting": "rejected"})
    lock_file: Path | None = field(metadata={"setting": "lock_file"})
    log_dir: Path | None = field(metadata={"setting": "log_dir"})

    @property
    def ledger_path(self) -> Path:
        return self.ledger if self.ledger is not None else self.out / "ledger.sqlite3"


@dataclass(frozen=True)
class BatchOptions:
    """How the drop folder is run."""

    keep_inbox: bool = field(metadata={"setting": "keep_inbox"})
    stability_delay: float = field(metadata={"setting": "stability_delay"})
    watch_interval: float = field(metadata={"setting": "watch_interval"})
    log_level: str = field(metadata={"setting": "log_level"})


@dataclass(frozen=True)
class Mail:
    """Whether, to whom and in which language the report is mailed."""

    enabled: bool = field(metadata={"setting": "email_enabled"})
    sender: str = field(metadata={"setting": "mail_from"})
    to: tuple[str, ...] = field(metadata={"setting": "mail_to"})
    cc: tuple[str, ...] = field(metadata={"setting": "mail_cc"})
    bcc: tuple[str, ...] = field(metadata={"setting": "mail_bcc"})
    language: str = field(metadata={"setting": "mail_language"})
    templates: Path | None = field(metadata={"setting": "mail_templates"})
    deadline_s: float = field(metadata={"setting": "mail_deadline_s"})
    receipts: bool = field(default=False, metadata={"setting": "receipts"})
    """A receipt to each division's registry contacts for every file a run claims (issue 16)."""


@dataclass(frozen=True)
class Smtp:
    """The mail server and how to talk to it."""

    host: str = field(metadata={"setting": "smtp_host"})
    port: int = field(metadata={"setting": "smtp_port"})
    security: str = field(metadata={"setting": "smtp_security"})
    user: str = field(metadata={"setting": "smtp_user"})
    password: str = field(repr=False, metadata={"setting": "smtp_password"})
    cafile: Path | None = field(metadata={"setting": "smtp_cafile"})
    connect_timeout: float = field(metadata={"setting": "smtp_connect_timeout"})
    timeout: float = field(metadata={"setting": "smtp_timeout"})
    data_timeout: float = field(metadata={"setting": "smtp_data_timeout"})
    retries: int = field(metadata={"setting": "smtp_retries"})
    backoff: float = field(metadata={"setting": "smtp_backoff"})
    allow_plaintext_login: bool = field(metadata={"setting": "allow_plaintext_login"})


@dataclass(frozen=True)
class Divisions:
    """Who is expected to submit, under which names, and by when (issue 16)."""

    registry: Path | None = field(metadata={"setting": "divisions_registry"})
    strict: bool = field(metadata={"setting": "strict_divisions"})
    deadlines: dict[str, Any] = field(metadata={"setting": "deadlines"})
    expected: tuple[str, ...] = field(metadata={"setting": "expected_divisions"})
    """The deprecated list of expected divisions, used when no registry is named."""


@dataclass(frozen=True)
class Printing:
    """The printed PDF beside the workbook (LibreOffice headless)."""

    pdf: bool = field(metadata={"setting": "pdf"})
    timeout_s: float = field(metadata={"setting": "pdf_timeout_s"})


@dataclass(frozen=True)
class Reminders:
    """Reminders to divisions that have not submitted (``kpibatch.deliver.reminders``)."""

    days_before: tuple[int, ...] = field(metadata={"setting": "remind_days_before"})
    how_to_submit: str = field(metadata={"setting": "remind_how_to_submit"})


PARTS: dict[str, type] = {
    "scoring": Scoring,
    "style": ReportStyle,
    "limits": InputLimits,
    "workers": Workers,
    "paths": Paths,
    "batch": BatchOptions,
    "mail": Mail,
    "smtp": Smtp,
    "divisions": Divisions,
    "printing": Printing,
    "remind": Reminders,
}
"""``Settings``' parts by the name of the property that gives each; each field's ``setting`` metadata
names the key (TOML, ``KPIBATCH_*``, option) it holds."""


@dataclass(frozen=True)
class Checking:
    """The parts reading, validating and scoring a workbook needs (``pipeline.check_files``)."""

    workers: Workers
    scoring: Scoring
    limits: InputLimits
    divisions: Divisions


@dataclass(frozen=True)
class Reporting:
    """The parts writing a round's outputs needs (``pipeline.write_group``): the workbook's style,
    ``report.html``'s language and templates, the registry and deadlines, the printed PDF."""

    style: ReportStyle
    mail: Mail
    divisions: Divisions
    printing: Printing
    jobs: int = 1
    """Worker processes that lay out the division sheets (0: one per CPU)."""


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
    receipts: bool = False
    """Mail each division a receipt for every file of it a run claims (``kpibatch.batch.receipts``)."""

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
        return self.paths.ledger_path

    def part(self, kind: type[_Part]) -> _Part:
        """The part ``kind`` (one of ``PARTS``) with this configuration's values."""
        return kind(**{f.name: getattr(self, f.metadata["setting"]) for f in fields(kind)})  # type: ignore[arg-type]

    @property
    def scoring(self) -> Scoring:
        return self.part(Scoring)

    @property
    def style(self) -> ReportStyle:
        return self.part(ReportStyle)

    @property
    def limits(self) -> InputLimits:
        return self.part(InputLimits)

    @property
    def workers(self) -> Workers:
        return self.part(Workers)

    @property
    def paths(self) -> Paths:
        return self.part(Paths)

    @property
    def batch(self) -> BatchOptions:
        return self.part(BatchOptions)

    @property
    def mail(self) -> Mail:
        return self.part(Mail)

    @property
    def smtp(self) -> Smtp:
        return self.part(Smtp)

    @property
    def divisions(self) -> Divisions:
        return self.part(Divisions)

    @property
    def printing(self) -> Printing:
        return self.part(Printing)

    @property
    def remind(self) -> Reminders:
        return self.part(Reminders)

    @property
    def checking(self) -> Checking:
        return Checking(self.workers, self.scoring, self.limits, self.divisions)

    @property
    def reporting(self) -> Reporting:
        return Reporting(self.style, self.mail, self.divisions, self.printing, self.jobs)

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

    # Divisions, deadlines and the printed PDF (issue 16): see kpibatch.registry, kpibatch.deadlines,
    # kpibatch.deliver.pdf. ``[divisions] registry`` and a ``[deadlines]`` table in the TOML file.
    divisions_registry: Path | None = None
    strict_divisions: bool = False
    deadlines: dict[str, Any] = field(default_factory=dict)
    pdf: bool = False
    pdf_timeout_s: float = 300.0
    # Reminders (issue 16): ``[remind] days_before = [3, 0]`` makes ``run`` and ``watch`` remind the
    # divisions still missing that many days before each deadline; ``kpibatch remind`` any day.
    remind_days_before: tuple[int, ...] = field(default=())
    remind_how_to_submit: str = ""
    """How a division submits (a shared folder, an address), said in every reminder."""

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
    if any(day < 0 for day in settings.remind_days_before):
        days = list(settings.remind_days_before)
        raise ConfigError(f"setting remind_days_before: days must be 0 or more, not {days}")
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
            item = int if kind.__args__[0] is int else str
            if isinstance(value, str):
                return tuple(item(part.strip()) for part in value.split(",") if part.strip())
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = [value]  # days_before = 3
            if item is int and any(isinstance(v, bool) for v in value):
                raise ValueError(value)
            return tuple(item(v) for v in value)
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
        if key == "deadlines" and isinstance(value, Mapping):  # keys are "2569-6", not settings
            flat[key] = dict(value)
        elif isinstance(value, Mapping) and key != "kpibatch":
            for sub, inner in value.items():
                flat[f"{key}_{sub}"] = inner
        elif isinstance(value, Mapping):
            flat.update(_flatten(value))
        else:
            flat[key] = value
    return flat
