"""Kill a run with SIGKILL at every step, run again, and prove that nothing was lost or counted twice.

Each test drops a mixed night into the inbox (a resubmission superseding a first try in the same
drop, a rejected file, the same bytes as an earlier submission), runs ``kpibatch run`` in a
subprocess that kills itself at the named step (``kpibatch.batch.crash``), then runs cleanly and
audits: every input's bytes still exist, the ledger and the folders agree, and the report is the one
an uninterrupted run would have written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from batchkit import (
    audit,
    copy_in,
    digests,
    division_book,
    division_totals,
    rejected_book,
    results,
    settings_for,
)

from kpibatch.batch.crash import ENV, POINTS
from kpibatch.batch.files import taken_path
from kpibatch.batch.ledger import Ledger
from kpibatch.batch.paths import BatchPaths
from kpibatch.batch.runner import run_inbox
from kpibatch.config import Settings
from kpibatch.fsutil import TEMP_PREFIX
from kpibatch.write.trend import TREND_SHEET

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def night(tmp_path: Path) -> tuple[Settings, set[str]]:
    """An earlier night already filed, and a new night waiting in the inbox."""
    settings = settings_for(tmp_path)
    drafts = tmp_path / "drafts"
    earlier = [
        division_book(drafts / "b.xlsx", "กองบี", 4.0),
        division_book(drafts / "a6.xlsx", "กองเอ", 3.5, round_=6),  # so round 12 gets a trend sheet
    ]
    for book in earlier:
        copy_in(book, settings.inbox)
    run_inbox(settings)
    first_try = division_book(drafts / "a.xlsx", "กองเอ", 3.0)
    second_try = division_book(drafts / "new" / "a-fixed.xlsx", "กองเอ", 5.0)
    os.utime(first_try, (1_600_000_000, 1_600_000_000))
    os.utime(second_try, (1_600_000_100, 1_600_000_100))
    tonight = [first_try, second_try, rejected_book(drafts / "bad.xlsx")]
    for book in tonight:
        copy_in(book, settings.inbox)
    copy_in(earlier[0], settings.inbox, "b-again.xlsx")
    return settings, digests([*earlier, *tonight])


def killed_run(settings: Settings, point: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        ENV: point,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    argv = ["run", "--inbox", str(settings.inbox), "--out", str(settings.out), "--stability-delay", "0"]
    return subprocess.run(
        [sys.executable, "-m", "kpibatch", *argv],
        env=env,
        cwd=settings.out.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_finished(settings: Settings, inputs: set[str]) -> None:
    paths = BatchPaths.of(settings.paths)
    assert list(paths.inbox.iterdir()) == []
    found = audit(settings, inputs)
    assert sorted(r.status for r in found) == ["accepted"] * 4 + ["duplicate", "rejected"]
    assert len({r.sha256 for r in found if r.status != "duplicate"}) == 5  # nothing counted twice
    assert division_totals(settings.out) == {"กองบี": 4.0, "กองเอ": 5.0}
    # the night's rejected file is in the report, whichever run finished filing it
    assert [r["file"] for r in results(settings.out)["rejected"]] == ["bad.xlsx"]
    group = settings.out / "2563-r12"
    assert not [p for p in group.iterdir() if p.name.startswith(TEMP_PREFIX)]
    workbook = openpyxl.load_workbook(next(group.glob("*.xlsx")), read_only=True)
    assert TREND_SHEET in workbook.sheetnames
    with Ledger(paths.ledger) as ledger:
        report = ledger.report(2563, 12)
        assert report is not None and report.last_submission_id == max(r.id for r in found if r.round == 12)


@pytest.mark.parametrize(
    "point",
    [*POINTS, "recorded:3", "explained:2", "moved:2", "filed:4"],
)
def test_a_run_killed_at_any_step_is_finished_by_the_next(
    night: tuple[Settings, set[str]], point: str
) -> None:
    settings, inputs = night
    group = settings.out / "2563-r12"
    before = {p.name: p.read_bytes() for p in group.iterdir()}
    if point == "staged":  # archived files are staged and read again only when the rules changed
        import sqlite3

        with sqlite3.connect(BatchPaths.of(settings.paths).ledger) as db:
            db.execute("UPDATE submissions SET rules = 'older rules'")
    crashed = killed_run(settings, point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr

    # Whatever the step, a reader finds the previous report or the new one, never half of one.
    after = {p.name: p.read_bytes() for p in group.iterdir() if not p.name.startswith(TEMP_PREFIX)}
    assert after.keys() == before.keys()
    if point not in ("written", "reported"):
        assert after == before
    if point == "writing":  # killed half-way through the new workbook: its temporary file is there
        assert [p for p in group.iterdir() if p.name.startswith(TEMP_PREFIX)]
    json.loads(after["results.json"])
    [workbook] = [name for name in after if name.endswith(".xlsx")]
    openpyxl.load_workbook(group / workbook, read_only=True).close()

    report = run_inbox(settings)

    assert report.exit_code in (0, 3)
    assert_finished(settings, inputs)
    with Ledger(BatchPaths.of(settings.paths).ledger) as ledger:
        killed = ledger.runs()[-2]
    assert killed.finished_at is None and killed.exit_code is None


def test_a_run_killed_while_finishing_a_killed_run(night: tuple[Settings, set[str]]) -> None:
    settings, inputs = night
    assert killed_run(settings, "recorded:2").returncode == -signal.SIGKILL
    assert killed_run(settings, "moved").returncode == -signal.SIGKILL  # dies inside the recovery
    run_inbox(settings)
    assert_finished(settings, inputs)


def test_a_file_removed_while_the_run_was_down_is_marked_missing(night: tuple[Settings, set[str]]) -> None:
    settings, _ = night
    assert killed_run(settings, "recorded").returncode == -signal.SIGKILL
    with Ledger(BatchPaths.of(settings.paths).ledger) as ledger:
        [row] = ledger.unfiled()
    # killed with the row written, the file was waiting beside its destination: someone removes it
    paths = BatchPaths.of(settings.paths)
    root = paths.rejected if row.status == "rejected" else paths.archive
    assert not Path(row.source_path).exists()
    taken_path(root, Path(row.location)).unlink()

    report = run_inbox(settings)

    with Ledger(BatchPaths.of(settings.paths).ledger) as ledger:
        assert ledger.get(row.id).status == "missing"
        assert ledger.unfiled() == []
    assert report.recovered == 0
    assert list(settings.inbox.iterdir()) == []


@pytest.mark.parametrize("point", ["explained", "filed", "written"])
def test_an_unreadable_file_filed_by_a_killed_run_is_in_the_next_report(tmp_path: Path, point: str) -> None:
    """A file whose year and round cannot be read belongs to no round; the run that filed it lists it
    in every report it writes, and when that run dies first, the next run's report lists it."""
    settings = settings_for(tmp_path)
    copy_in(division_book(tmp_path / "drafts" / "a.xlsx", "กองเอ", 4.0), settings.inbox)
    (settings.inbox / "notes.xlsx").write_text("code,name\n1,not a workbook\n", encoding="utf-8")
    assert killed_run(settings, point).returncode == -signal.SIGKILL
    run_inbox(settings)
    assert [r["file"] for r in results(settings.out)["rejected"]] == ["notes.xlsx"]
    copy_in(division_book(tmp_path / "drafts" / "b.xlsx", "กองบี", 3.0), settings.inbox)
    run_inbox(settings)  # a later night: the unreadable file was reported already
    assert results(settings.out)["rejected"] == []
