"""Mail that has to go out, kept in SQLite so that a night without a mail server loses nothing.

The table ``mail`` lives in the ledger file (``ledger`` setting, by default
``<out>/ledger.sqlite3``) beside the ledger's own tables. Each row is one workbook of one run:
``unsent`` (the run did not ask for mail), ``pending`` (asked for, not delivered yet), ``sent``,
``superseded`` (a later run wrote a newer workbook to the same path before this one went out),
``failed`` (the workbook is gone), ``sending`` (claimed by a sender now) or ``maybe_sent`` (the message
text went out and no final reply came: the server may have it). ``kpibatch send`` and the next run
retry every ``pending`` row; a ``maybe_sent`` row goes again only on ``kpibatch send --resend ID``.

Exactly once: a sender claims a row (``pending`` -> ``sending``, one transaction) before it sends, so
a row is never sent by two processes at once, and all senders of one ledger take ``mail_lock`` for
their whole mail step. Under that lock a ``sending`` row can only be one a killed sender left: it is
``maybe_sent`` when the message text had started to go out (``message_at``), else ``pending`` again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import filelock

from kpibatch.deliver.claimed import CLAIM_COLUMNS, ClaimedTable, now_text
from kpibatch.errors import MailLocked

UNSENT = "unsent"
PENDING = "pending"
SENT = "sent"
SUPERSEDED = "superseded"
FAILED = "failed"
SENDING = "sending"
MAYBE_SENT = "maybe_sent"

TABLE = f"""
CREATE TABLE IF NOT EXISTS mail (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER,
    group_key TEXT NOT NULL,
    workbook TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('unsent', 'pending', 'sent', 'superseded', 'failed',
                                           'sending', 'maybe_sent')),
{CLAIM_COLUMNS}
);
"""
INDEXES = """
CREATE INDEX IF NOT EXISTS mail_status ON mail (status);
CREATE INDEX IF NOT EXISTS mail_run ON mail (run_id);
"""
OLD_COLUMNS = "id, run_id, group_key, workbook, status, attempts, last_error, created_at, updated_at, sent_at"


def lock_path(ledger: Path) -> Path:
    """The lock every sender of this ledger's mail holds for its whole mail step."""
    return ledger.with_name(ledger.name + ".mail.lock")


@contextlib.contextmanager
def mail_lock(ledger: Path, timeout: float) -> Iterator[None]:
    """Hold the mail lock of ``ledger``, waiting up to ``timeout`` seconds for another sender."""
    path = lock_path(ledger)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path), timeout=max(timeout, 0))
    try:
        lock.acquire()
    except filelock.Timeout as exc:
        raise MailLocked(
            f"another kpibatch process is sending mail (lock {path} is held); mail left pending"
        ) from exc
    try:
        yield
    finally:
        lock.release()


@dataclass(frozen=True)
class MailRow:
    id: int
    run_id: int | None
    group_key: str
    workbook: Path
    status: str
    attempts: int
    last_error: str | None


class Outbox(ClaimedTable):
    """The ``mail`` table of one SQLite file; use as a context manager."""

    table = "mail"

    def _create(self) -> None:
        """The table as it is now; a table of an older version is rebuilt (SQLite cannot widen a CHECK)."""
        with self._transaction():
            found = self.db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'mail'")
            old = found.fetchone()
            if old is not None and MAYBE_SENT not in old[0]:
                self.db.execute("ALTER TABLE mail RENAME TO mail_old")
                self.db.execute("DROP INDEX IF EXISTS mail_status")
                self.db.execute("DROP INDEX IF EXISTS mail_run")
                self.db.execute(TABLE)
                self.db.execute(f"INSERT INTO mail ({OLD_COLUMNS}) SELECT {OLD_COLUMNS} FROM mail_old")
                self.db.execute("DROP TABLE mail_old")
            else:
                self.db.execute(TABLE)
            for statement in INDEXES.strip().splitlines():
                self.db.execute(statement)

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
        now = now_text()
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

    def get(self, row_id: int) -> MailRow:
        return self._rows("SELECT * FROM mail WHERE id = ?", (row_id,))[0]

    def get_or_raise(self, row_id: int) -> MailRow:
        rows = self._rows("SELECT * FROM mail WHERE id = ?", (row_id,))
        if not rows:
            raise LookupError(f"no mail {row_id} in the outbox")
        return rows[0]

    def pending(self) -> list[MailRow]:
        return self._rows("SELECT * FROM mail WHERE status = ? ORDER BY id", (PENDING,))

    def for_run(self, run_id: int) -> list[MailRow]:
        return self._rows("SELECT * FROM mail WHERE run_id = ? ORDER BY id", (run_id,))

    def requeue(self, rows: Iterable[MailRow]) -> None:
        """Mark rows pending again (``kpibatch send --run`` re-sends what was sent or never asked for)."""
        now = now_text()
        with self._transaction():
            for row in rows:
                self._supersede(str(row.workbook), now, keep=row.id)
                self.db.execute(
                    "UPDATE mail SET status = ?, updated_at = ? WHERE id = ? AND status != ?",
                    (PENDING, now, row.id, SENDING),
                )

    def resend(self, row_id: int) -> MailRow:
        """``kpibatch send --resend ID``: the row goes out again whatever it was (raises ``LookupError``)."""
        rows = [self.get_or_raise(row_id)]
        if rows[0].status == SENDING:
            raise LookupError(f"mail {row_id} is being sent by another process now")
        self.requeue(rows)
        return self.get(row_id)

    def recover(self) -> list[MailRow]:
        """Settle rows a killed sender left ``sending``; call only under ``mail_lock``. Returns them."""
        stale = self._rows("SELECT * FROM mail WHERE status = ? ORDER BY id", (SENDING,))
        now = now_text()
        with self._transaction():
            for row in stale:
                found = self.db.execute("SELECT message_at FROM mail WHERE id = ?", (row.id,))
                sent_text = found.fetchone()[0]
                status, note = (
                    (MAYBE_SENT, "the sender was stopped after the message went out; the server may have it")
                    if sent_text
                    else (PENDING, "the sender was stopped before the message went out")
                )
                self.db.execute(
                    "UPDATE mail SET status = ?, last_error = ?, updated_at = ? WHERE id = ?",
                    (status, note, now, row.id),
                )
        return [self.get(row.id) for row in stale]

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
