"""``kpibatch run --email`` and ``kpibatch send`` end to end, configured through the environment only."""

from __future__ import annotations

import io
import os
import sqlite3
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from mailserver import HOST, Certificates, free_port, make_certificates, serve
from test_mail_message import SIX, parts

from kpibatch.cli import main

PASSWORD = "Pl@nning-2563-secret"
TO = ("director@example.go.th", "deputy@example.go.th")
CC = ("planning@example.go.th",)
BCC = ("archive@example.go.th",)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Mail settings in the environment (plain SMTP; tests change what they need)."""
    monkeypatch.chdir(tmp_path)  # no kpibatch.toml from the repository
    for name, value in {
        "SMTP_HOST": HOST,
        "SMTP_PORT": str(free_port()),
        "SMTP_SECURITY": "none",
        "SMTP_BACKOFF": "0.01",
        "SMTP_CONNECT_TIMEOUT": "5",
        "MAIL_FROM": "KPI Batch <kpibatch@planning.example.go.th>",
        "MAIL_TO": ",".join(TO),
        "MAIL_CC": ",".join(CC),
        "MAIL_BCC": ",".join(BCC),
    }.items():
        monkeypatch.setenv(f"KPIBATCH_{name}", value)
    return monkeypatch


def kpibatch(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def workbook_of(out: Path) -> Path:
    (workbook,) = (out / "2563-r12").glob("*.xlsx")
    return workbook


def mail_rows(out: Path) -> list[tuple[int | None, str]]:
    with sqlite3.connect(out / "ledger.sqlite3") as db:
        return list(db.execute("SELECT run_id, status FROM mail ORDER BY id"))


def test_run_email_delivers_to_every_recipient_over_starttls(
    env: pytest.MonkeyPatch, certs: Certificates, examples_inbox: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    with serve("starttls", certs=certs, auth=("kpi-bot", PASSWORD)) as box:
        env.setenv("KPIBATCH_SMTP_PORT", str(box.port))
        env.setenv("KPIBATCH_SMTP_SECURITY", "starttls")
        env.setenv("KPIBATCH_SMTP_CAFILE", str(certs.ca))
        env.setenv("KPIBATCH_SMTP_USER", "kpi-bot")
        env.setenv("KPIBATCH_SMTP_PASSWORD", PASSWORD)
        code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
    assert code == 0, printed
    assert "mail sent" in printed
    assert [login[1:] for login in box.logins] == [("kpi-bot", PASSWORD)]
    (received,) = box.messages
    assert sorted(received.rcpt_tos) == sorted((*TO, *CC, *BCC))
    text, html, attachment = parts(received.message)
    assert attachment.get_content() == workbook_of(out).read_bytes()
    for name in SIX:
        assert name in text and name in html
    assert mail_rows(out) == [(1, "sent")]
    # The password is nowhere: not printed, not in any file the run wrote (the ledger included).
    assert PASSWORD not in printed + "".join(capsys.readouterr())
    for path in out.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_mail_server_that_is_down_costs_nothing(env: pytest.MonkeyPatch, examples_inbox: Path) -> None:
    out = examples_inbox.parent / "out"
    code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
    assert code == 5, printed
    assert "mail NOT sent" in printed and "cannot reach" in printed
    workbook = workbook_of(out)
    assert (out / "2563-r12" / "results.json").is_file() and (out / "2563-r12" / "report.html").is_file()
    assert mail_rows(out) == [(1, "pending")]
    with sqlite3.connect(out / "ledger.sqlite3") as db:  # the run's record says what the shell saw
        assert db.execute("SELECT id, exit_code FROM runs").fetchall() == [(1, 5)]

    code, printed = kpibatch("send", "--out", str(out))  # still down
    assert code == 5 and mail_rows(out) == [(1, "pending")]

    port = int(os.environ["KPIBATCH_SMTP_PORT"])
    with serve("none", port=port) as box:
        code, printed = kpibatch("send", "--out", str(out))
        assert code == 0, printed
        code, again = kpibatch("send", "--out", str(out))
    assert code == 0 and "no pending mail" in again
    (received,) = box.messages
    assert parts(received.message)[2].get_content() == workbook.read_bytes()
    assert mail_rows(out) == [(1, "sent")]


def test_the_next_run_retries_pending_mail_once(env: pytest.MonkeyPatch, examples_inbox: Path) -> None:
    out = examples_inbox.parent / "out"
    for _ in range(2):  # two failed nights: the second run's mail replaces the first one's
        code, _ = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
        assert code == 5
    assert mail_rows(out) == [(1, "superseded"), (2, "pending")]
    with serve("none", port=int(os.environ["KPIBATCH_SMTP_PORT"])) as box:
        code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out))
    assert code == 0, printed
    assert len(box.messages) == 1
    assert mail_rows(out) == [(1, "superseded"), (2, "sent"), (3, "unsent")]


def test_550_is_reported_by_the_run_and_not_retried(env: pytest.MonkeyPatch, examples_inbox: Path) -> None:
    out = examples_inbox.parent / "out"
    with serve("none", replies=["550 5.1.1 Recipient address rejected"]) as box:
        env.setenv("KPIBATCH_SMTP_PORT", str(box.port))
        code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
    assert code == 5
    assert "550 5.1.1 Recipient address rejected" in printed
    assert box.data_attempts == 1 and box.messages == []
    assert workbook_of(out).is_file()
    assert mail_rows(out) == [(1, "pending")]


def test_451_then_250_through_the_run(env: pytest.MonkeyPatch, examples_inbox: Path) -> None:
    out = examples_inbox.parent / "out"
    with serve("none", replies=["451 4.7.1 Greylisted, try again"]) as box:
        env.setenv("KPIBATCH_SMTP_PORT", str(box.port))
        code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
    assert code == 0, printed
    assert "retrying" in printed and box.data_attempts == 2 and len(box.messages) == 1


def test_send_a_run_or_a_file_later(env: pytest.MonkeyPatch, examples_inbox: Path) -> None:
    out = examples_inbox.parent / "out"
    code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out))
    assert code == 0 and "kpibatch send --run 1" in printed
    with serve("none") as box:
        env.setenv("KPIBATCH_SMTP_PORT", str(box.port))
        assert kpibatch("send", "--out", str(out), "--run", "1")[0] == 0
        assert kpibatch("send", "--out", str(out), "--file", str(workbook_of(out)))[0] == 0
    assert len(box.messages) == 2
    assert mail_rows(out) == [(1, "sent"), (None, "sent")]
    assert kpibatch("send", "--out", str(out), "--run", "7")[0] == 2
    assert kpibatch("send", "--out", str(out), "--file", str(out / "results.json"))[0] == 2


def test_dry_run_writes_the_eml_beside_the_workbook(
    monkeypatch: pytest.MonkeyPatch, examples_inbox: Path
) -> None:
    monkeypatch.chdir(examples_inbox.parent)
    monkeypatch.setenv("KPIBATCH_MAIL_TO", "director@example.go.th")
    monkeypatch.setenv("KPIBATCH_MAIL_FROM", "kpibatch@planning.example.go.th")
    monkeypatch.setenv("KPIBATCH_SMTP_HOST", "mail.example.go.th")  # never connected to
    out = examples_inbox.parent / "out"
    code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--dry-run")
    assert code == 0, printed
    workbook = workbook_of(out)
    eml = workbook.with_suffix(".eml")
    assert f"mail written (not sent): {eml}" in printed
    msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert msg["To"] == "director@example.go.th"
    text, _, attachment = parts(msg)  # type: ignore[arg-type]
    assert attachment.get_content() == workbook.read_bytes()
    assert all(name in text for name in SIX)


def test_unsafe_or_incomplete_settings_stop_the_run_before_it_starts(
    env: pytest.MonkeyPatch, examples_inbox: Path, capsys
) -> None:
    out = examples_inbox.parent / "out"
    env.setenv("KPIBATCH_SMTP_USER", "kpi-bot")
    env.setenv("KPIBATCH_SMTP_PASSWORD", PASSWORD)
    code, _ = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
    err = capsys.readouterr().err
    assert code == 2 and "allow_plaintext_login" in err and PASSWORD not in err
    assert not out.exists()
    env.setenv("KPIBATCH_SMTP_SECURITY", "starttls")
    env.setenv("KPIBATCH_MAIL_TO", "director@example.go.th\r\nBcc: thief@example.com")
    code, _ = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
    assert code == 2 and "mail_to" in capsys.readouterr().err
    assert not out.exists()


def test_plaintext_login_when_allowed_warns(env: pytest.MonkeyPatch, examples_inbox: Path) -> None:
    out = examples_inbox.parent / "out"
    with serve("none", auth=("kpi-bot", PASSWORD)) as box:
        env.setenv("KPIBATCH_SMTP_PORT", str(box.port))
        env.setenv("KPIBATCH_SMTP_USER", "kpi-bot")
        env.setenv("KPIBATCH_SMTP_PASSWORD", PASSWORD)
        env.setenv("KPIBATCH_ALLOW_PLAINTEXT_LOGIN", "true")
        code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out), "--email")
    assert code == 0, printed
    assert "unencrypted" in printed and PASSWORD not in printed
    assert len(box.messages) == 1


def test_email_enabled_in_the_config_file(monkeypatch: pytest.MonkeyPatch, examples_inbox: Path) -> None:
    monkeypatch.chdir(examples_inbox.parent)
    out = examples_inbox.parent / "out"
    with serve("none") as box:
        (examples_inbox.parent / "kpibatch.toml").write_text(
            f"""
[email]
enabled = true

[smtp]
host = "{HOST}"
port = {box.port}
security = "none"

[mail]
from = "kpibatch@planning.example.go.th"
to = ["director@example.go.th"]
language = "en"
""",
            encoding="utf-8",
        )
        code, printed = kpibatch("run", "--inbox", str(examples_inbox), "--out", str(out))
    assert code == 0, printed
    (received,) = box.messages
    assert received.rcpt_tos == ["director@example.go.th"]
    assert str(received.message["Subject"]).startswith("KPI score summary")
