"""Every mail delivered once (issue 17, items 6 and 7): a late or lost final reply, and two senders.

RFC 5321 gives the reply to the end of the message ten minutes (``smtp_data_timeout``); when none
comes, or the connection drops after the final dot, the server may have the mail, so it is recorded
as ``maybe_sent`` and only ``kpibatch send --resend ID`` sends it again, with the same Message-ID.
"""

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
from mailserver import HOST, ScriptedServer, free_port

from kpibatch.cli import main
from kpibatch.deliver import outbox as ob

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no kpibatch.toml from the repository
    for name, value in {
        "SMTP_HOST": HOST,
        "SMTP_PORT": str(free_port()),
        "SMTP_SECURITY": "none",
        "SMTP_BACKOFF": "0.01",
        "SMTP_CONNECT_TIMEOUT": "10",
        "SMTP_TIMEOUT": "10",
        "MAIL_FROM": "kpibatch@planning.example.go.th",
        "MAIL_TO": "director@example.go.th",
    }.items():
        monkeypatch.setenv(f"KPIBATCH_{name}", value)
    return monkeypatch


def kpibatch(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def mail_rows(out: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(out / "ledger.sqlite3") as db:
        return list(db.execute("SELECT id, status FROM mail ORDER BY id"))


def test_a_final_reply_later_than_a_command_timeout_is_waited_for(
    env: pytest.MonkeyPatch, examples_inbox: Path
) -> None:
    """A 65 s reply used to give four copies: the command timeout (60 s) cut it and the mail went again."""
    out = examples_inbox.parent / "out"
    with ScriptedServer(final="late", delay=3.0) as server:
        env.setenv("KPIBATCH_SMTP_PORT", str(server.port))
        env.setenv("KPIBATCH_SMTP_TIMEOUT", "1")  # the reply is later than a command may take ...
        env.setenv("KPIBATCH_SMTP_DATA_TIMEOUT", "30")  # ... and well within the final reply's wait
        code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
    assert code == 0, printed
    assert len(server.messages) == 1
    assert mail_rows(out) == [(1, "sent")]


@pytest.mark.parametrize("final", ["stall", "drop"])
def test_no_final_reply_is_maybe_sent_not_sent_again_and_resent_on_purpose(
    env: pytest.MonkeyPatch, examples_inbox: Path, final: str
) -> None:
    out = examples_inbox.parent / "out"
    with ScriptedServer(final=final) as server:
        env.setenv("KPIBATCH_SMTP_PORT", str(server.port))
        env.setenv("KPIBATCH_SMTP_DATA_TIMEOUT", "1")
        code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
        assert code == 5, printed
        assert "mail MAYBE sent" in printed and "kpibatch send --resend 1" in printed
        assert mail_rows(out) == [(1, "maybe_sent")]
        assert len(server.messages) == 1  # not retried

        # Neither `kpibatch send` nor the next plain run sends it again on its own.
        code, printed = kpibatch("send", "--out", str(out))
        assert code == 0 and "no pending mail" in printed
        code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out))
        assert len(server.messages) == 1, printed

        server.final = "ok"
        code, printed = kpibatch("send", "--out", str(out), "--resend", "1")
        assert code == 0, printed
    assert mail_rows(out)[0] == (1, "sent")
    first, second = server.message_ids()
    assert first == second and first.startswith("<kpibatch.")  # a receiver can drop the copy


def test_the_message_id_belongs_to_the_report(env: pytest.MonkeyPatch, examples_inbox: Path) -> None:
    out = examples_inbox.parent / "out"
    code, _ = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out))
    assert code == 0
    (workbook,) = (out / "2563-r12").glob("*.xlsx")
    with ScriptedServer() as server:
        env.setenv("KPIBATCH_SMTP_PORT", str(server.port))
        for _ in range(2):
            assert kpibatch("send", "--out", str(out), "--file", str(workbook))[0] == 0
        results = workbook.parent / "results.json"  # another report in the same place
        results.write_text(results.read_text(encoding="utf-8").replace("2563", "2564"), encoding="utf-8")
        assert kpibatch("send", "--out", str(out), "--file", str(workbook))[0] == 0
    first, again, other = server.message_ids()
    assert first == again != other


def test_a_sender_killed_mid_mail_leaves_its_row_to_the_next_one(tmp_path: Path) -> None:
    """A claimed row whose sender died: maybe sent once its message had started to go, else pending."""
    ledger = tmp_path / "ledger.sqlite3"
    with ob.Outbox(ledger) as box:
        box.record_run([("2563-r6", tmp_path / "a.xlsx"), ("2563-r12", tmp_path / "b.xlsx")], ob.PENDING)
        before, after = box.pending()
        assert box.claim(before) and box.claim(after)
        box.message_started(after)
    with ob.Outbox(ledger) as box:
        recovered = box.recover()
        assert [(row.id, row.status) for row in recovered] == [
            (before.id, ob.PENDING),
            (after.id, ob.MAYBE_SENT),
        ]
        assert [row.id for row in box.pending()] == [before.id]


def test_a_pending_row_is_claimed_by_one_sender_only(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    with ob.Outbox(ledger) as first, ob.Outbox(ledger) as second:
        first.record_run([("2563-r12", tmp_path / "b.xlsx")], ob.PENDING)
        (row,) = second.pending()
        assert first.claim(row)
        assert not second.claim(row)
        assert second.pending() == []


def test_an_outbox_of_the_previous_version_is_migrated(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(ledger) as db:
        db.executescript(
            """
            CREATE TABLE mail (
                id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER, group_key TEXT NOT NULL,
                workbook TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('unsent', 'pending', 'sent', 'superseded', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL, sent_at TEXT);
            INSERT INTO mail (run_id, group_key, workbook, status, created_at, updated_at)
            VALUES (1, '2563-r12', '/srv/out/b.xlsx', 'pending', 'x', 'x');
            """
        )
    db.close()
    with ob.Outbox(ledger) as box:
        (row,) = box.pending()
        assert box.claim(row)
        box.mark(row, ob.MAYBE_SENT)
        assert box.get(row.id).status == ob.MAYBE_SENT


def test_two_senders_at_once_deliver_a_pending_mail_once(
    env: pytest.MonkeyPatch, examples_inbox: Path
) -> None:
    out = examples_inbox.parent / "out"
    code, _ = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
    assert code == 5 and mail_rows(out) == [(1, "pending")]  # the server was down
    # The reply comes late, so both senders are at work at the same time.
    with ScriptedServer(final="late", delay=4.0) as server:
        environ = {
            **os.environ,
            "KPIBATCH_SMTP_PORT": str(server.port),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        senders = [
            subprocess.Popen(
                [sys.executable, "-m", "kpibatch", "send", "--out", str(out)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=environ,
            )
            for _ in range(2)
        ]
        results = [sender.communicate(timeout=120) for sender in senders]
    assert [sender.returncode for sender in senders] == [0, 0], results
    assert len(server.messages) == 1, results
    assert mail_rows(out) == [(1, "sent")]


def test_a_sender_killed_after_the_message_left_is_not_followed_by_a_copy(
    env: pytest.MonkeyPatch, examples_inbox: Path
) -> None:
    out = examples_inbox.parent / "out"
    code, _ = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
    assert code == 5 and mail_rows(out) == [(1, "pending")]  # the server was down
    with ScriptedServer(final="stall", limit=60) as server:
        environ = {
            **os.environ,
            "KPIBATCH_SMTP_PORT": str(server.port),
            "KPIBATCH_SMTP_DATA_TIMEOUT": "60",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        sender = subprocess.Popen(
            [sys.executable, "-m", "kpibatch", "send", "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environ,
            start_new_session=True,  # killed with its SMTP process, as systemd kills a unit
        )
        try:
            give_up = time.monotonic() + 120  # ends a failure only
            while not server.messages and sender.poll() is None and time.monotonic() < give_up:
                time.sleep(0.1)
            assert server.messages, sender.communicate()
        finally:
            os.killpg(sender.pid, signal.SIGKILL)
            sender.communicate()
        assert mail_rows(out) == [(1, "sending")]

        server.final = "ok"
        code, printed = kpibatch("send", "--out", str(out))
    assert code == 0 and "now maybe_sent" in printed, printed
    assert len(server.messages) == 1
    assert mail_rows(out) == [(1, "maybe_sent")]
