"""The ledger: one SQLite file that remembers every submission and every run.

What it stores and why:

* ``submissions``: one row per input file a run claimed, written in one transaction *before* the
  file is moved (``filed_at`` is set once it is at ``location``), so a killed run leaves either a
  file in the inbox with no row, or a row that says where the file was and where it goes; the next
  run finishes that move (``kpibatch.batch.runner``). A row keeps the SHA-256 (duplicates are found
  by it), division, fiscal year, round, status, every problem found, and the parsed scores as JSON
  (the ``results.json`` form of the division, for history and for the trend sheet).
* Each accepted row also keeps ``record``, the scored division as the report shows it
  (``results.division_record``: exact Decimals, warnings with their kind), and ``rules``, the scoring
  rules and options that made it (``score.rules_stamp``). The report of a round is written by every run
  from each division's latest accepted submission: from its stored record when the record was made by
  the current rules, otherwise (a row from before records were kept, rules changed since, a record that
  cannot be read back) from the archived workbook, read again and its SHA-256 verified. So a report is
  always what the current program makes of the files received, and a run reads only what changed.
* ``runs``: start, end, counts, outputs and exit code of every run; a row without an end is a run
  that was killed.
* ``reports``: the newest submission each round's report was written from, so a round whose report
  is older than its submissions (a run killed before writing) is written again by the next run.

The mail sender (``kpibatch send``) keeps its own table ``mail`` in the same file, and the receipts
theirs (``receipts``, ``kpibatch.batch.receipts``); this module never touches them. WAL mode and a
busy timeout let ``kpibatch history`` read while a run writes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kpibatch.errors import LedgerError
from kpibatch.text import division_key

SCHEMA_VERSION = 1
ADDED_COLUMNS = {"record": "TEXT", "rules": "TEXT"}
"""Columns of ``submissions`` added after schema 1, added to an older ledger when it is opened (its rows
have none: their reports are written from the archived files, as before)."""
DIVISION_KEY_VERSION = 2
"""Version of ``text.division_key`` the rows' ``division_key`` was computed with (1: ``normalize_label``)."""
BUSY_TIMEOUT_MS = 15_000
STATUSES = ("accepted", "rejected", "duplicate", "missing")
"""``missing``: a row whose file was found neither in the inbox nor at its location (someone removed or
overwrote it while a run was down); kept for the record, never consolidated."""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    command TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    inbox TEXT NOT NULL,
    accepted INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    superseded INTEGER NOT NULL DEFAULT 0,
    waiting INTEGER NOT NULL DEFAULT 0,
    recovered INTEGER NOT NULL DEFAULT 0,
    outputs TEXT NOT NULL DEFAULT '[]',
    log_file TEXT,
    exit_code INTEGER
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ({", ".join(f"'{s}'" for s in STATUSES)})),
    division TEXT,
    division_key TEXT,
    fiscal_year INTEGER,
    round INTEGER,
    total TEXT,
    received_at TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    source_path TEXT NOT NULL,
    location TEXT NOT NULL,
    kept INTEGER NOT NULL DEFAULT 0,
    filed_at TEXT,
    duplicate_of INTEGER REFERENCES submissions(id),
    superseded_by INTEGER REFERENCES submissions(id),
    problems TEXT NOT NULL DEFAULT '[]',
    scores TEXT,
    record TEXT,
    rules TEXT
);
CREATE INDEX IF NOT EXISTS submissions_sha256 ON submissions (sha256);
CREATE INDEX IF NOT EXISTS submissions_round ON submissions (fiscal_year, round, status);
CREATE INDEX IF NOT EXISTS submissions_current ON submissions (fiscal_year, round, division_key)
    WHERE status = 'accepted' AND superseded_by IS NULL;
CREATE TABLE IF NOT EXISTS reports (
    fiscal_year INTEGER NOT NULL,
    round INTEGER NOT NULL,
    last_submission_id INTEGER NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    written_at TEXT NOT NULL,
    workbook TEXT NOT NULL,
    results TEXT NOT NULL,
    PRIMARY KEY (fiscal_year, round)
);
"""


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, kw_only=True)
class NewSubmission:
    """A submission about to be written: every column but the ones the ledger assigns."""

    run_id: int
    file_name: str
    sha256: str
    size: int
    mtime: float
    status: str
    received_at: str
    processed_at: str
    source_path: str
    location: str
    kept: bool
    division: str | None = None
    division_key: str | None = None
    fiscal_year: int | None = None
    round: int | None = None
    total: str | None = None
    duplicate_of: int | None = None
    problems: str | None = "[]"
    """JSON list of every problem found; None in a row read without it (``Ledger._select``)."""
    scores: str | None = None
    filed_at: str | None = None
    record: str | None = None
    """The scored division as the report shows it (``results.division_record``); None when not kept."""
    rules: str | None = None
    """``score.rules_stamp`` of the rules that made ``record``."""


@dataclass(frozen=True, kw_only=True)
class SubmissionRow(NewSubmission):
    """A submission as the ledger holds it."""

    id: int
    superseded_by: int | None = None

    @property
    def problem_dicts(self) -> list[dict[str, Any]]:
        if self.problems is None:
            raise ValueError(f"submission #{self.id} was read without its problems")
        return list(json.loads(self.problems))

    @property
    def group(self) -> tuple[int, int] | None:
        if self.fiscal_year is None or self.round is None:
            return None
        return (self.fiscal_year, self.round)


@dataclass(frozen=True)
class RunRow:
    id: int
    started_at: str
    finished_at: str | None
    command: str
    pid: int
    host: str
    inbox: str
    accepted: int
    rejected: int
    duplicates: int
    superseded: int
    waiting: int
    recovered: int
    outputs: str
    log_file: str | None
    exit_code: int | None


@dataclass(frozen=True)
class ReportRow:
    fiscal_year: int
    round: int
    last_submission_id: int
    run_id: int
    written_at: str
    workbook: str
    results: str


_SUBMISSION_COLUMNS = ", ".join(f.name for f in fields(SubmissionRow))
_RECORD_COLUMNS = ("scores", "problems", "record")
_LEAN_COLUMNS = ", ".join(f.name for f in fields(SubmissionRow) if f.name not in _RECORD_COLUMNS)
"""Every column but the stored scores and problems: the JSON record of each file (some 15 kB a
division), which nothing reads back when a report is written, and which would otherwise sit in
memory beside the divisions' outcomes for every division of the round."""


class Ledger:
    """The open ledger. Use as a context manager, or call ``close``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            # FULL: a committed row must survive a power cut, not only a killed process.
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self._rekey_divisions()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise LedgerError(f"ledger {path}: {exc}") from exc

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self.transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            have = {r["name"] for r in db.execute("PRAGMA table_info(submissions)")}
            for column, kind in ADDED_COLUMNS.items():
                if column not in have:
                    db.execute(f"ALTER TABLE submissions ADD COLUMN {column} {kind}")
            found = db.execute("SELECT value FROM ledger_meta WHERE key = 'schema_version'").fetchone()
            if found is None:
                db.execute(
                    "INSERT INTO ledger_meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(found["value"]) > SCHEMA_VERSION:
                raise LedgerError(
                    f"ledger {self.path} was written by a newer kpibatch (schema {found['value']})"
                )

    def _rekey_divisions(self) -> None:
        """Bring ``division_key`` of rows written before ``text.division_key`` folded Thai look-alikes
        up to date, once per ledger, and let the newest of a division's rows that now share a key
        supersede the others, as it would have when it was recorded."""
        version = str(DIVISION_KEY_VERSION)
        found = self._db.execute("SELECT value FROM ledger_meta WHERE key = 'division_key'").fetchone()
        if found is not None and found["value"] == version:
            return
        with self.transaction() as db:
            rows = db.execute(
                "SELECT id, division, division_key FROM submissions WHERE division IS NOT NULL"
            ).fetchall()
            changed = [
                (key, r["id"]) for r in rows if (key := division_key(r["division"])) != r["division_key"]
            ]
            db.executemany("UPDATE submissions SET division_key = ? WHERE id = ?", changed)
            if changed:
                newest = (
                    "SELECT MAX(n.id) FROM submissions n WHERE n.status = 'accepted'"
                    " AND n.superseded_by IS NULL AND n.fiscal_year = s.fiscal_year AND n.round = s.round"
                    " AND n.division_key = s.division_key"
                )
                db.execute(
                    f"UPDATE submissions AS s SET superseded_by = ({newest}) WHERE s.status = 'accepted'"
                    f" AND s.superseded_by IS NULL AND s.id < ({newest})"
                )
            db.execute(
                "INSERT INTO ledger_meta (key, value) VALUES ('division_key', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (version,),
            )

    # --- runs ------------------------------------------------------------------------------------

    def start_run(
        self,
        *,
        command: str,
        inbox: str,
        started: dt.datetime,
        pid: int | None = None,
        host: str | None = None,
    ) -> int:
        """Record a run starting; ``pid`` and ``host`` default to this process and this machine."""
        pid = os.getpid() if pid is None else pid
        host = socket.gethostname() if host is None else host
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO runs (started_at, command, pid, host, inbox) VALUES (?, ?, ?, ?, ?)",
                (iso(started), command, pid, host, inbox),
            )
            return int(cur.lastrowid or 0)

    def set_run_log(self, run_id: int, log_file: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET log_file = ? WHERE id = ?", (log_file, run_id))

    def set_exit_code(self, run_id: int, exit_code: int) -> None:
        """A run's final exit code, when a step after the batch (the mail) changed it."""
        with self.transaction() as db:
            db.execute("UPDATE runs SET exit_code = ? WHERE id = ?", (exit_code, run_id))

    def finish_run(
        self, run_id: int, *, exit_code: int, counts: dict[str, int], outputs: list[dict[str, Any]]
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, exit_code = ?, accepted = ?, rejected = ?, duplicates = ?,"
                " superseded = ?, waiting = ?, recovered = ?, outputs = ? WHERE id = ?",
                (
                    iso(utc_now()),
                    exit_code,
                    counts.get("accepted", 0),
                    counts.get("rejected", 0),
                    counts.get("duplicates", 0),
                    counts.get("superseded", 0),
                    counts.get("waiting", 0),
                    counts.get("recovered", 0),
                    json.dumps(outputs, ensure_ascii=False),
                    run_id,
                ),
            )

    def runs(self, ids: Iterable[int] | None = None) -> list[RunRow]:
        sql = f"SELECT {', '.join(f.name for f in fields(RunRow))} FROM runs"
        rows = self._db.execute(sql + " ORDER BY id").fetchall()
        found = [RunRow(**dict(r)) for r in rows]
        if ids is None:
            return found
        wanted = set(ids)
        return [r for r in found if r.id in wanted]

    # --- submissions -----------------------------------------------------------------------------

    def _select(self, where: str, params: Sequence[Any] = (), *, lean: bool = False) -> list[SubmissionRow]:
        """Rows matching ``where``; ``lean`` ones leave out the JSON record (``scores`` and
        ``problems`` are None in them)."""
        columns = _LEAN_COLUMNS if lean else _SUBMISSION_COLUMNS
        sql = f"SELECT {columns} FROM submissions WHERE {where} ORDER BY id"
        found = self._db.execute(sql, params).fetchall()
        left_out = dict.fromkeys(_RECORD_COLUMNS) if lean else {}
        return [SubmissionRow(**{**dict(r), **left_out, "kept": bool(r["kept"])}) for r in found]

    def get(self, submission_id: int, *, lean: bool = False) -> SubmissionRow:
        return self._select("id = ?", (submission_id,), lean=lean)[0]

    def record(self, new: NewSubmission, *, durable: bool = True) -> tuple[SubmissionRow, list[int]]:
        """Write one submission in one transaction; an accepted one supersedes its division's latest.

        Returns the row and the ids it superseded. With ``durable=False`` the commit does not wait for
        the disk: a batch of rows is made durable together by the last one's synced commit (the
        write-ahead log is synced as a whole), before any of their files is moved.
        """
        values = {f.name: getattr(new, f.name) for f in fields(NewSubmission)}
        values["kept"] = int(new.kept)
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._synchronous(durable), self.transaction() as db:
            cur = db.execute(f"INSERT INTO submissions ({names}) VALUES ({marks})", tuple(values.values()))
            new_id = int(cur.lastrowid or 0)
            replaced: list[int] = []
            if new.status == "accepted":
                replaced = [
                    int(r["id"])
                    for r in db.execute(
                        "SELECT id FROM submissions WHERE status = 'accepted' AND superseded_by IS NULL"
                        " AND fiscal_year = ? AND round = ? AND division_key = ? AND id != ?",
                        (new.fiscal_year, new.round, new.division_key, new_id),
                    )
                ]
                db.executemany(
                    "UPDATE submissions SET superseded_by = ? WHERE id = ?", [(new_id, r) for r in replaced]
                )
        return self.get(new_id), replaced

    def mark_filed(self, submission_id: int, when: dt.datetime) -> None:
        """Mark the row's file in place, without waiting for the disk.

        The mark is the one commit that may be lost to a power cut: the next synced commit (the next
        row, or the run's end) carries it to disk, and a row left unmarked is finished by the next
        run from where its bytes are (``unfiled``). Not syncing it halves the syncs per file.
        """
        with self._synchronous(False), self.transaction() as db:
            db.execute("UPDATE submissions SET filed_at = ? WHERE id = ?", (iso(when), submission_id))

    @contextlib.contextmanager
    def _synchronous(self, durable: bool) -> Iterator[None]:
        """Commits inside wait for the disk (FULL, the default) or not (NORMAL: in WAL mode they are
        still safe from a killed process, and the next synced commit carries them to disk)."""
        if durable:
            yield
            return
        self._db.execute("PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            self._db.execute("PRAGMA synchronous = FULL")

    def mark_missing(self, submission_id: int) -> None:
        """The file is gone: keep the row as a record, and give its division back its previous file."""
        with self.transaction() as db:
            db.execute("UPDATE submissions SET status = 'missing' WHERE id = ?", (submission_id,))
            db.execute(
                "UPDATE submissions SET superseded_by = NULL WHERE superseded_by = ?", (submission_id,)
            )

    def records(self, ids: Iterable[int]) -> dict[int, tuple[str | None, str | None]]:
        """``(rules, record)`` of each of the rows ``ids``, read one row at a time (a record is some
        15 kB a division)."""
        found: dict[int, tuple[str | None, str | None]] = {}
        for submission_id in ids:
            row = self._db.execute(
                "SELECT rules, record FROM submissions WHERE id = ?", (submission_id,)
            ).fetchone()
            if row is not None:
                found[submission_id] = (row["rules"], row["record"])
        return found

    def store_record(self, submission_id: int, rules: str, record: str) -> None:
        """Keep a record made again by the current rules, so that the next report need not read the file."""
        with self.transaction() as db:
            db.execute(
                "UPDATE submissions SET rules = ?, record = ? WHERE id = ?", (rules, record, submission_id)
            )

    def original_of(self, sha256: str) -> SubmissionRow | None:
        """The first accepted or rejected submission with these bytes."""
        found = self._select("sha256 = ? AND status IN ('accepted', 'rejected')", (sha256,))
        return found[0] if found else None

    def unfiled(self) -> list[SubmissionRow]:
        """Rows a killed run wrote but whose files it did not finish moving."""
        return self._select("filed_at IS NULL AND status != 'missing'")

    def current(self, fiscal_year: int, round_: int) -> list[SubmissionRow]:
        """Every division's latest accepted submission for the round (one row per division)."""
        return self._select(
            "status = 'accepted' AND superseded_by IS NULL AND filed_at IS NOT NULL"
            " AND fiscal_year = ? AND round = ?",
            (fiscal_year, round_),
            lean=True,
        )

    def replaced(self, fiscal_year: int, round_: int) -> list[SubmissionRow]:
        return self._select(
            "status = 'accepted' AND superseded_by IS NOT NULL AND fiscal_year = ? AND round = ?",
            (fiscal_year, round_),
            lean=True,
        )

    def rejected_since(self, fiscal_year: int, round_: int, after_id: int) -> list[SubmissionRow]:
        return self._select(
            "status = 'rejected' AND filed_at IS NOT NULL AND fiscal_year = ? AND round = ? AND id > ?",
            (fiscal_year, round_, after_id),
            lean=True,
        )

    def unplaced_rejected(self, run_id: int, after_run: int = 0) -> list[SubmissionRow]:
        """Rejected files whose year and round could not be read, for a report run ``run_id`` writes.

        They belong to no round, so each run lists its own in every report it writes; the files of a
        run that died before writing the round's report (one later than ``after_run``, the run of the
        round's previous report) are listed by the next run that writes it.
        """
        return self._select(
            "status = 'rejected' AND filed_at IS NOT NULL AND fiscal_year IS NULL AND (run_id = ?"
            " OR (run_id > ? AND run_id IN (SELECT id FROM runs WHERE finished_at IS NULL AND id != ?)))",
            (run_id, after_run, run_id),
            lean=True,
        )

    def year_current(self, fiscal_year: int) -> list[SubmissionRow]:
        """Every round's latest accepted submissions of a fiscal year (for the trend sheet)."""
        return self._select(
            "status = 'accepted' AND superseded_by IS NULL AND filed_at IS NOT NULL AND fiscal_year = ?",
            (fiscal_year,),
            lean=True,
        )

    def submissions(self, fiscal_year: int | None = None, round_: int | None = None) -> list[SubmissionRow]:
        return self._select(
            "(? IS NULL OR fiscal_year = ?) AND (? IS NULL OR round = ?)",
            (fiscal_year, fiscal_year, round_, round_),
        )

    # --- reports ---------------------------------------------------------------------------------

    def stale_rounds(self) -> list[tuple[int, int]]:
        """Rounds that have filed submissions newer than their last written report."""
        rows = self._db.execute(
            "SELECT s.fiscal_year AS y, s.round AS r, MAX(s.id) AS last FROM submissions s"
            " WHERE s.fiscal_year IS NOT NULL AND s.round IS NOT NULL AND s.filed_at IS NOT NULL"
            " GROUP BY s.fiscal_year, s.round"
            " HAVING last > COALESCE((SELECT p.last_submission_id FROM reports p"
            "   WHERE p.fiscal_year = s.fiscal_year AND p.round = s.round), 0)"
            " ORDER BY s.fiscal_year, s.round"
        ).fetchall()
        return [(int(r["y"]), int(r["r"])) for r in rows]

    def last_filed_id(self, fiscal_year: int, round_: int) -> int:
        row = self._db.execute(
            "SELECT MAX(id) AS last FROM submissions"
            " WHERE fiscal_year = ? AND round = ? AND filed_at IS NOT NULL",
            (fiscal_year, round_),
        ).fetchone()
        return int(row["last"] or 0)

    def reported_rounds(self) -> list[tuple[int, int]]:
        sql = "SELECT fiscal_year, round FROM reports ORDER BY fiscal_year, round"
        rows = self._db.execute(sql).fetchall()
        return [(int(r["fiscal_year"]), int(r["round"])) for r in rows]

    def report(self, fiscal_year: int, round_: int) -> ReportRow | None:
        row = self._db.execute(
            "SELECT * FROM reports WHERE fiscal_year = ? AND round = ?", (fiscal_year, round_)
        ).fetchone()
        return ReportRow(**dict(row)) if row is not None else None

    def save_report(self, report: ReportRow) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO reports (fiscal_year, round, last_submission_id, run_id, written_at, workbook,"
                " results) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fiscal_year, round) DO UPDATE SET"
                " last_submission_id = excluded.last_submission_id, run_id = excluded.run_id,"
                " written_at = excluded.written_at, workbook = excluded.workbook, results = excluded.results",
                (
                    report.fiscal_year,
                    report.round,
                    report.last_submission_id,
                    report.run_id,
                    report.written_at,
                    report.workbook,
                    report.results,
                ),
            )
