"""Mail that has to go out, kept in SQLite so that a night without a mail server loses nothing.

The table ``mail`` lives in the ledger file (``ledger`` setting, by default
``<out>/ledger.sqlite3``) beside the ledger's own tables. Each row is one workbook of one run:
``unsent`` (the run did not ask for mail), ``pending`` (asked for, not delivered yet), ``sent``,
``superseded`` (a later run wrote a newer workbook to the same path before this one went out) or
``failed`` (the workbook is gone). ``kpibatch send`` and the next run retry every ``pending`` row.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

UNSENT = "unsent"
PENDING = "pending"
SENT = "sent"
SUPERSEDED = "superseded"
FAILED = "failed"

SCHEMA = """
CREATE TABLE IF NOT EXISTS mail (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER,
    group_key TEXT NOT NULL,
    workbook TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('unsent', 'pending', 'sent', 'superseded', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS mail_status ON mail (status);
CREATE INDEX IF NOT EXISTS mail_run ON mail (run_id);
"""


@dataclass(frozen=True)
class MailRow:
    id: int
    run_id: int | None
    group_key: str
    workbook: Path
    status: str
    attempts: int
    last_error: str | None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Outbox:
    """The ``mail`` table of one SQLite file; use as a context manager."""

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A ledger shared with a concurrent run or `kpibatch send` waits instead of failing.
        self.db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def record_run(
        self, workbooks: Iterable[tuple[str, Path]], status: str, run_id: int | None = None
    ) -> int:
        """Add one row per (group key, workbook) under a new run id (or the given one); return the id."""
        with self._transaction():
            if run_id is None:
                run_id = int(self.db.execute("SELECT COALESCE(MAX(run_id), 0) + 1 FROM mail").fetchone()[0])
            for key, workbook in workbooks:
                self._insert(run_id, key, workbook, status)
        return run_id

    def add(self, key: str, workbook: Path) -> MailRow:
        """A pending row outside any run (``kpibatch send --file``)."""
        with self._transaction():
            row_id = self._insert(None, key, workbook, PENDING)
        return self.get(row_id)

    def _insert(self, run_id: int | None, key: str, workbook: Path, status: str) -> int:
        now = _now()
        path = str(workbook.resolve())
        if status == PENDING:
            self._supersede(path, now)
        cursor = self.db.execute(
            "INSERT INTO mail (run_id, group_key, workbook, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, key, path, status, now, now),
        )
        return int(cursor.lastrowid or 0)

    def _supersede(self, path: str, now: str, keep: int | None = None) -> None:
        # Mail is sent with the workbook as it is on disk when it goes out, so one pending row per
        # file is enough; older ones would only deliver the same file twice.
        self.db.execute(
            "UPDATE mail SET status = ?, updated_at = ? WHERE status = ? AND workbook = ? AND id IS NOT ?",
            (SUPERSEDED, now, PENDING, path, keep),
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def get(self, row_id: int) -> MailRow:
        return self._rows("SELECT * FROM mail WHERE id = ?", (row_id,))[0]

    def pending(self) -> list[MailRow]:
        return self._rows("SELECT * FROM mail WHERE status = ? ORDER BY id", (PENDING,))

    def for_run(self, run_id: int) -> list[MailRow]:
        return self._rows("SELECT * FROM mail WHERE run_id = ? ORDER BY id", (run_id,))

    def requeue(self, rows: Iterable[MailRow]) -> None:
        """Mark rows pending again (``kpibatch send --run`` re-sends what was sent or never asked for)."""
        now = _now()
        with self._transaction():
            for row in rows:
                self._supersede(str(row.workbook), now, keep=row.id)
                self.db.execute(
                    "UPDATE mail SET status = ?, updated_at = ? WHERE id = ?", (PENDING, now, row.id)
                )

    def mark(self, row: MailRow, status: str, *, attempts: int = 0, error: str | None = None) -> None:
        now = _now()
        self.db.execute(
            "UPDATE mail SET status = ?, attempts = attempts + ?, last_error = ?, updated_at = ?, "
            "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
            (status, attempts, error, now, status, now, row.id),
        )

    def _rows(self, sql: str, params: tuple) -> list[MailRow]:
        return [
            MailRow(
                id=r["id"],
                run_id=r["run_id"],
                group_key=r["group_key"],
                workbook=Path(r["workbook"]),
                status=r["status"],
                attempts=r["attempts"],
                last_error=r["last_error"],
            )
            for r in self.db.execute(sql, params).fetchall()
        ]
