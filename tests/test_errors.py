"""One error hierarchy: each error knows its exit code, and the CLI is the one place that maps it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from kpibatch import config, errors
from kpibatch.batch import ledger, lock, rebuild, rounds
from kpibatch.deliver import outbox, smtp
from kpibatch.errors import ExitCode, KpibatchError
from kpibatch.parallel import PoolStartError, SchedulerError

ROW = SimpleNamespace(id=7, file_name="a.xlsx", location="/archive/a.xlsx", sha256="ab" * 32)

CODES = [
    (errors.ConfigError("x"), 2),
    (errors.UsageError("x"), 2),
    (PoolStartError("x"), 2),
    (SchedulerError("x"), 2),
    (errors.Locked(Path("run.lock")), 4),
    (errors.MailError("x", permanent=True), 5),
    (smtp.MaybeSent("x"), 5),
    (errors.MailLocked("x"), 5),
    (errors.LedgerError("x"), 1),
    (rebuild.LedgerMissing(Path("l.sqlite3"), Path("archive")), 1),
    (errors.ArchiveDamaged(ROW), 1),
]


@pytest.mark.parametrize(("error", "code"), CODES, ids=[type(e).__name__ for e, _ in CODES])
def test_each_error_knows_its_exit_code(error: KpibatchError, code: int) -> None:
    assert isinstance(error, KpibatchError)
    assert error.exit_code == code


def test_the_old_homes_hold_the_same_classes() -> None:
    """Code that catches config.ConfigError or batch.lock.Locked catches what the stages raise."""
    assert config.ConfigError is errors.ConfigError
    assert lock.Locked is errors.Locked
    assert ledger.LedgerError is errors.LedgerError
    assert rounds.ArchiveDamaged is errors.ArchiveDamaged
    assert smtp.MailError is errors.MailError
    assert outbox.MailLocked is errors.MailLocked
    assert issubclass(errors.ConfigError, ValueError)  # callers that caught ValueError still do


def test_a_finished_runs_code_says_whether_files_were_rejected() -> None:
    assert ExitCode.of_run(rejected=False) == 0
    assert ExitCode.of_run(rejected=True) == 3
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 5]


def test_the_cli_reports_an_unusable_ledger_as_an_error_with_its_code(tmp_path: Path) -> None:
    """Any command: a damaged ledger is the LedgerError's message and exit 1, not an 'unexpected error'."""
    damaged = tmp_path / "ledger.sqlite3"
    damaged.write_text("not a database, and long enough to have a header " * 4, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "kpibatch", "history", "--ledger", str(damaged)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == f"kpibatch: error: ledger {damaged}: file is not a database\n"
    assert done.stdout == ""
