"""Wall-clock deadlines for every SMTP step and for the whole mail step (issue 17, item 5).

The servers here trickle a reply one byte at a time: every socket read returns within its timeout,
so only a deadline on the step ends the session. Each test asserts what the server saw (the client
hung up while the reply was still trickling), never how long anything took.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from mailserver import HOST, ScriptedServer, free_port, mail_settings

from kpibatch.cli import main
from kpibatch.config import ConfigError, load_settings
from kpibatch.deliver.message import envelope
from kpibatch.deliver.service import mail_deadline, message_for
from kpibatch.deliver.smtp import MailError, send
from kpibatch.pipeline import GroupOutput, inbox_files, run_batch


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> GroupOutput:
    from conftest import EXAMPLES

    report = run_batch(inbox_files(EXAMPLES), tmp_path_factory.mktemp("out"), mail_settings())
    return report.outputs[0]


@pytest.mark.parametrize(
    ("trickle", "timeouts"),
    [
        # per-read timeouts of 30 s that a byte every 0.1 s never reaches; the step's deadline does
        ("greeting", {"smtp_connect_timeout": 1.0, "smtp_timeout": 30.0}),
        ("ehlo", {"smtp_connect_timeout": 30.0, "smtp_timeout": 1.0}),
    ],
)
def test_a_reply_trickled_byte_by_byte_is_cut_at_the_step_deadline(
    output: GroupOutput, trickle: str, timeouts: dict[str, float]
) -> None:
    with ScriptedServer(trickle=trickle, limit=8.0) as server:
        settings = mail_settings(None, smtp_port=server.port, smtp_retries=0, **timeouts)
        env = envelope(settings.mail)
        with pytest.raises(MailError) as caught:
            send(
                message_for(output.workbook, settings, env),
                env,
                settings.smtp,
                deadline=mail_deadline(settings),
            )
        assert server.hung_up.wait(10), "the client should leave while the reply is still trickling"
    assert not server.gave_up.is_set()
    assert not caught.value.permanent and not caught.value.maybe_sent
    assert "did not finish" in str(caught.value) and server.messages == []


def test_the_mail_step_deadline_bounds_every_attempt(output: GroupOutput) -> None:
    """Generous step timeouts, a short mail_deadline_s: the whole step ends by the latter."""
    # The deadline leaves the child process time to start even on a busy machine; the server's
    # patience (limit) is longer still, so only the client can end the trickle first.
    with ScriptedServer(trickle="greeting", limit=30.0) as server:
        settings = mail_settings(
            None,
            smtp_port=server.port,
            smtp_connect_timeout=60.0,
            smtp_timeout=60.0,
            smtp_retries=3,
            mail_deadline_s=5.0,
        )
        env = envelope(settings.mail)
        with pytest.raises(MailError, match="mail_deadline_s") as caught:
            send(
                message_for(output.workbook, settings, env),
                env,
                settings.smtp,
                deadline=mail_deadline(settings),
            )
        assert server.hung_up.wait(30)
    assert not server.gave_up.is_set()
    assert caught.value.attempts == 1  # no retry starts past the deadline


def kpibatch(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_a_plain_run_waits_on_pending_mail_no_longer_than_mail_deadline_s(
    monkeypatch: pytest.MonkeyPatch, examples_inbox: Path
) -> None:
    monkeypatch.chdir(examples_inbox.parent)
    out = examples_inbox.parent / "out"
    for name, value in {
        "SMTP_HOST": HOST,
        "SMTP_PORT": str(free_port()),  # down for the first run: its mail stays pending
        "SMTP_SECURITY": "none",
        "SMTP_RETRIES": "0",
        "SMTP_CONNECT_TIMEOUT": "60",
        "SMTP_TIMEOUT": "60",
        "MAIL_DEADLINE_S": "5",
        "MAIL_FROM": "kpibatch@planning.example.go.th",
        "MAIL_TO": "director@example.go.th",
    }.items():
        monkeypatch.setenv(f"KPIBATCH_{name}", value)
    code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
    assert code == 5, printed
    with ScriptedServer(trickle="greeting", limit=30.0) as server:
        monkeypatch.setenv("KPIBATCH_SMTP_PORT", str(server.port))
        code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out))
        assert server.hung_up.wait(30), printed
    assert not server.gave_up.is_set()
    assert code == 5 and "mail NOT sent" in printed
    with sqlite3.connect(out / "ledger.sqlite3") as db:
        assert db.execute("SELECT run_id, status FROM mail ORDER BY id").fetchall() == [
            (1, "pending"),
            (2, "unsent"),
        ]


def test_mail_deadline_and_data_timeout_are_settings(tmp_path: Path) -> None:
    (tmp_path / "kpibatch.toml").write_text("[mail]\ndeadline_s = 120\n\n[smtp]\ndata_timeout = 30\n")
    settings = load_settings(cwd=tmp_path, environ={})
    assert (settings.mail_deadline_s, settings.smtp_data_timeout) == (120.0, 30.0)
    defaults = load_settings(cwd=tmp_path / "none", environ={})
    assert defaults.smtp_data_timeout == 600.0  # RFC 5321 4.5.3.2.6: ten minutes for the final reply
    with pytest.raises(ConfigError, match="mail_deadline_s"):
        load_settings(cwd=tmp_path, environ={"KPIBATCH_MAIL_DEADLINE_S": "0"})


def test_the_systemd_unit_gives_the_run_a_start_timeout() -> None:
    from conftest import ROOT

    unit = (ROOT / "deploy" / "kpibatch.service").read_text(encoding="utf-8")
    (line,) = [line for line in unit.splitlines() if line.startswith("TimeoutStartSec=")]
    assert line.removeprefix("TimeoutStartSec=").strip() not in ("", "0", "infinity")
