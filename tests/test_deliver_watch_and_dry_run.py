"""``kpibatch watch`` mails what it writes (issue 17, item 8), and a dry run checks what a real send
checks (issue 13, item 4)."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mailserver import HOST, serve

from kpibatch.cli import main

ROOT = Path(__file__).resolve().parent.parent
MAIL_ENV = {
    "KPIBATCH_SMTP_HOST": HOST,
    "KPIBATCH_SMTP_SECURITY": "none",
    "KPIBATCH_MAIL_FROM": "kpibatch@planning.example.go.th",
    "KPIBATCH_MAIL_TO": "director@example.go.th",
}


def test_watch_mails_each_report_it_writes_and_records_it(tmp_path: Path, examples_inbox: Path) -> None:
    out = tmp_path / "out"
    with serve("none") as box:
        environ = {
            **os.environ,
            **MAIL_ENV,
            "KPIBATCH_SMTP_PORT": str(box.port),
            "KPIBATCH_EMAIL_ENABLED": "true",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        command = ["watch", "--inbox", str(examples_inbox), "--out", str(out), "--stability-delay", "0"]
        watcher = subprocess.Popen(
            [sys.executable, "-m", "kpibatch", *command, "--interval", "0.2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
            cwd=tmp_path,
        )
        try:
            # Wait for the first pass to write its report and mail it; the limit only ends a failure.
            give_up = time.monotonic() + 120
            while not box.messages and watcher.poll() is None and time.monotonic() < give_up:
                time.sleep(0.2)
            watcher.send_signal(signal.SIGTERM)
            printed, err = watcher.communicate(timeout=60)
        finally:
            if watcher.poll() is None:
                watcher.kill()
    assert watcher.returncode == 0, err
    assert "mail sent" in printed, printed + err
    (received,) = box.messages
    assert received.rcpt_tos == ["director@example.go.th"]
    with sqlite3.connect(out / "ledger.sqlite3") as db:
        assert db.execute("SELECT run_id, status FROM mail").fetchall() == [(1, "sent")]


def kpibatch(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        ("KPIBATCH_MAIL_FROM", "mail_from is not set"),
        ("KPIBATCH_MAIL_TO", "no recipients"),
        ("KPIBATCH_SMTP_HOST", "smtp_host is not set"),
    ],
)
def test_a_dry_run_refuses_what_the_real_send_refuses(
    monkeypatch: pytest.MonkeyPatch, examples_inbox: Path, capsys, unset: str, message: str
) -> None:
    monkeypatch.chdir(examples_inbox.parent)
    for name, value in MAIL_ENV.items():
        if name != unset:
            monkeypatch.setenv(name, value)
    out = examples_inbox.parent / "out"
    results = {}
    for how in (["--email"], ["--email", "--dry-run"], ["--dry-run"]):
        code, _ = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), *how)
        results[" ".join(how)] = (code, capsys.readouterr().err.strip())
    assert set(results.values()) == {(2, results["--email"][1])}, results
    assert message in results["--email"][1]
    assert not out.exists()  # refused before anything was written, the .eml included
