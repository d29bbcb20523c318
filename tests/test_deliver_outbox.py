"""The outbox: pending mail kept in the ledger's SQLite file, one pending row per workbook."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kpibatch.deliver import outbox as ob


def test_runs_get_increasing_ids_and_rows_survive_reopening(tmp_path: Path) -> None:
    ledger = tmp_path / "out" / "ledger.sqlite3"
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    with ob.Outbox(ledger) as box:
        assert box.record_run([("2563-r6", a), ("2563-r12", b)], ob.UNSENT) == 1
        assert box.record_run([("2563-r12", b)], ob.PENDING) == 2
        row = box.pending()[0]
        box.mark(row, ob.PENDING, attempts=4, error="cannot reach 127.0.0.1")
    with ob.Outbox(ledger) as box:
        (row,) = box.pending()
        assert (row.run_id, row.group_key, row.workbook, row.attempts) == (2, "2563-r12", b.resolve(), 4)
        assert row.last_error == "cannot reach 127.0.0.1"
        box.mark(row, ob.SENT, attempts=1)
        assert box.pending() == [] and box.get(row.id).attempts == 5
        assert [r.status for r in box.for_run(1)] == [ob.UNSENT, ob.UNSENT]
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT sent_at IS NOT NULL FROM mail WHERE id = ?", (row.id,)).fetchone() == (1,)


def test_a_newer_pending_row_for_the_same_workbook_supersedes_the_older(tmp_path: Path) -> None:
    workbook = tmp_path / "report.xlsx"
    with ob.Outbox(tmp_path / "ledger.sqlite3") as box:
        box.record_run([("2563-r12", workbook)], ob.PENDING)
        box.record_run([("2563-r12", workbook)], ob.PENDING)
        added = box.add("2563-r12", workbook)
        assert [r.id for r in box.pending()] == [added.id]
        box.requeue(box.for_run(1))
        assert [r.run_id for r in box.pending()] == [1]
        assert [box.get(i).status for i in (1, 2, 3)] == [ob.PENDING, ob.SUPERSEDED, ob.SUPERSEDED]
