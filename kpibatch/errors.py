"""The errors that stop a command, one hierarchy: each class knows the exit code the CLI returns for it.

A stage raises one of these; only the CLI (``kpibatch.cli``) turns it into a message and an exit
code, and a run that finished turns its report into one (``ExitCode.of_run``). Problems with a
division's file are not errors: they are ``kpibatch.problems`` data, reported and filed.
"""

from __future__ import annotations

import enum
from typing import Protocol


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1
    """An unexpected failure, or a stored file or the ledger cannot be trusted."""
    USAGE = 2
    """The command line or the configuration asks for something that cannot be done."""
    REJECTED = 3
    """The run finished and some files were rejected (or refused)."""
    LOCKED = 4
    """Another run holds the lock: this one did nothing."""
    MAIL = 5
    """The reports are written but a mail was not delivered."""

    @classmethod
    def of_run(cls, *, rejected: bool) -> ExitCode:
        """A finished run's code: 3 when any file was rejected, else 0 (a mail failure outranks both)."""
        return cls.REJECTED if rejected else cls.OK


class KpibatchError(Exception):
    """An error that ends the command with ``exit_code``; its text is the whole message."""

    exit_code: ExitCode = ExitCode.FAILURE
    label: str = "error: "
    """What the CLI prints between ``kpibatch:`` and the message."""


class ConfigError(KpibatchError, ValueError):
    """A configuration value is missing or has the wrong type."""

    exit_code = ExitCode.USAGE


class UsageError(KpibatchError):
    """The command line asks for something that cannot be done."""

    exit_code = ExitCode.USAGE


class Locked(KpibatchError):
    """Another run holds the lock."""

    exit_code = ExitCode.LOCKED
    label = ""

    def __init__(self, path: object) -> None:
        super().__init__(
            f"another kpibatch run is in progress (lock {path} is held); "
            "this run did nothing and will not wait - run again when the other one has finished"
        )
        self.path = path


class LedgerError(KpibatchError):
    """The ledger file cannot be used (newer schema, not a database)."""


class _StoredRow(Protocol):
    id: int
    file_name: str
    location: str
    sha256: str


class ArchiveDamaged(KpibatchError):
    """An archived submission is missing or its bytes changed: the report would silently lose it."""

    def __init__(self, row: _StoredRow) -> None:
        super().__init__(
            f"archived submission #{row.id} ({row.file_name}) is missing or changed at {row.location}; "
            f"restore the file with SHA-256 {row.sha256} there and run again"
        )


class MailError(KpibatchError):
    """The mail was not delivered. ``permanent`` errors are not retried."""

    exit_code = ExitCode.MAIL
    maybe_sent = False

    def __init__(self, message: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.attempts = 0


class MailLocked(KpibatchError):
    """Another process kept the mail lock until this one's deadline."""

    exit_code = ExitCode.MAIL
