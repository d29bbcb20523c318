"""A SQLite table of mails that a sender claims before it sends them.

The report mail (``outbox.Outbox``, table ``mail``), the receipts (``batch.receipts.ReceiptBox``) and
the reminders (``deliver.reminders.ReminderBook``) are each such a table in the ledger file, and they
share how a row is sent exactly once: it is claimed (``pending`` -> ``sending``, one transaction, so two
senders never both have it), marked when its text starts to leave (``message_at``: from then a lost
outcome is ``maybe_sent``), and marked with what became of it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Protocol, Self

PENDING = "pending"
SENDING = "sending"

CLAIM_COLUMNS = """\
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT,
    claimed_by TEXT,
    claimed_at TEXT,
    message_at TEXT"""
"""The columns every claimed table has besides its own (``claim``, ``message_started`` and ``mark``
write them): each table's ``CREATE TABLE`` puts this fragment after its ``status`` column."""


class HasId(Protocol):
    @property
    def id(self) -> int: ...


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class ClaimedTable:
    """One table of mails in one SQLite file; use as a context manager.

    A subclass names its ``table`` and creates or migrates it in ``_create`` (called once, on open).
    """

    table: ClassVar[str]

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A ledger shared with a concurrent run or `kpibatch send` waits instead of failing.
        self.db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        try:
            self._create()
        except BaseException:
            self.db.close()
            raise

    def _create(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def claim(self, row: HasId) -> bool:
        """Take a pending row for this process (one transaction); False when another sender has it."""
        now = now_text()
        owner = f"{socket.gethostname()}:{os.getpid()}"
        with self._transaction():
            cursor = self.db.execute(
                f"UPDATE {self.table} SET status = ?, claimed_by = ?, claimed_at = ?, message_at = NULL,"
                " updated_at = ? WHERE id = ? AND status = ?",
                (SENDING, owner, now, now, row.id, PENDING),
            )
        return cursor.rowcount == 1

    def message_started(self, row: HasId) -> None:
        """The message text of a claimed row is about to leave: from here a lost outcome is maybe sent."""
        now = now_text()
        with self._transaction():
            self.db.execute(
                f"UPDATE {self.table} SET message_at = ?, updated_at = ? WHERE id = ?", (now, now, row.id)
            )

    def mark(self, row: HasId, status: str, *, attempts: int = 0, error: str | None = None) -> None:
        now = now_text()
        with self._transaction():
            self.db.execute(
                f"UPDATE {self.table} SET status = ?, attempts = attempts + ?, last_error = ?,"
                " updated_at = ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
                (status, attempts, error, now, status, now, row.id),
            )
