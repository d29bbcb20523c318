"""Reminders (issue 16 item 4) against a real SMTP server on 127.0.0.1 (aiosmtpd): ``kpibatch remind``
mails the registry contacts of the divisions with no accepted submission for the open round, once a
day; ``run`` honours ``[remind] days_before``; a dry run writes ``.eml``; the ledger records each."""

from __future__ import annotations

import datetime as dt
import sqlite3
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from batchkit import cli, division_book
from mailserver import HOST, Mailbox, free_port, serve

from kpibatch.batch.ledger import Ledger
from kpibatch.deliver.reminders import ReminderBook, open_rounds

REGISTRY = """
[[division]]
name = "กองเอ"
reporter = ["plan.a@example.go.th"]
head = ["head.a@example.go.th"]

[[division]]
name = "กองบี"
aliases = ["กอง บี (เดิม)"]
reporter = ["plan.b@example.go.th"]
head = ["head.b@example.go.th"]

[[division]]
name = "กองซี"
reporter = ["Clerk C <plan.c@example.go.th>"]
"""
REPORT_TO = "director@example.go.th"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in [k for k in os.environ if k.startswith("KPIBATCH_")]:
        monkeypatch.delenv(key)


def config(root: Path, port: int, deadline: dt.date, extra: str = "") -> Path:
    (root / "inbox").mkdir(parents=True, exist_ok=True)
    (root / "divisions.toml").write_text(REGISTRY, encoding="utf-8")
    path = root / "kpibatch.toml"
    path.write_text(
        f"""
inbox = "{root / "inbox"}"
out = "{root / "out"}"
stability_delay = 0
jobs = 1
{extra}
[divisions]
registry = "{root / "divisions.toml"}"

[deadlines]
"2563-12" = {deadline.isoformat()}

[smtp]
host = "{HOST}"
port = {port}
security = "none"
retries = 0
backoff = 0.01

[mail]
from = "kpibatch@planning.example.go.th"
to = ["{REPORT_TO}"]
""",
        encoding="utf-8",
    )
    return path


def reminders_to(box: Mailbox) -> list[tuple[str, ...]]:
    return sorted(tuple(sorted(m.rcpt_tos)) for m in box.messages if REPORT_TO not in m.rcpt_tos)


B = ("head.b@example.go.th", "plan.b@example.go.th")
C = ("plan.c@example.go.th",)


def test_remind_mails_the_missing_divisions_once_a_day_and_again_the_next_day(tmp_path: Path) -> None:
    with serve() as box:
        toml = config(tmp_path, box.port, dt.date(2020, 10, 10))
        division_book(tmp_path / "inbox" / "a.xlsx", "กองเอ")
        code, printed = cli("run", "--config", toml)
        assert code == 0, printed

        code, printed = cli("remind", "--config", toml, "--date", "2020-10-07")
        assert code == 0, printed
        assert reminders_to(box) == [B, C]  # กองเอ has submitted; each mail only to its registry contacts
        msg = box.messages[0].message
        assert msg["To"] is not None and "Subject" in msg and "Bcc" not in msg
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "ปีงบประมาณ พ.ศ. 2563 รอบ 12 เดือน" in text and "10 ตุลาคม 2563" in text
        assert "fiscal year 2563" in text and "Deadline: 2020-10-10 (3 days left)" in text
        assert "ส่งแจ้งเตือนแล้ว / reminder sent: 2563-r12 กองบี" in printed

        code, printed = cli("remind", "--config", toml, "--date", "2020-10-07")
        assert code == 0, printed
        assert len(box.messages) == 2  # the same day: nothing more
        assert "already reminded today: 2563-r12 กองบี" in printed

        # the next day กองบี submits under its alias before the reminders go: only กองซี is reminded
        division_book(tmp_path / "inbox" / "b.xlsx", "กอง บี (เดิม)")
        assert cli("run", "--config", toml)[0] == 0
        code, printed = cli("remind", "--config", toml, "--date", "2020-10-08")
        assert code == 0, printed
        assert reminders_to(box) == [B, C, C]

    with sqlite3.connect(tmp_path / "out" / "ledger.sqlite3") as db:
        rows = db.execute("SELECT division, day, status FROM reminders ORDER BY id").fetchall()
    assert rows == [
        ("กองบี", "2020-10-07", "sent"),
        ("กองซี", "2020-10-07", "sent"),
        ("กองซี", "2020-10-08", "sent"),
    ]


def test_a_closed_round_is_not_reminded_and_only_the_nearest_deadline_is_open() -> None:
    deadlines = {(2569, 6): dt.date(2026, 4, 10), (2569, 9): dt.date(2026, 7, 10)}
    assert [r.round for r in open_rounds(deadlines, dt.date(2026, 4, 10))] == [6]
    assert [r.round for r in open_rounds(deadlines, dt.date(2026, 4, 11))] == [9]
    assert open_rounds(deadlines, dt.date(2026, 7, 11)) == []


def test_an_undelivered_reminder_stays_pending_and_goes_with_the_next_call_that_day(tmp_path: Path) -> None:
    down = free_port()
    toml = config(tmp_path, down, dt.date(2020, 10, 10))
    code, printed = cli("remind", "--config", toml, "--date", "2020-10-10")
    assert code == 5 and "reminder NOT sent: 2563-r12 กองเอ" in printed
    with serve() as box:
        config(tmp_path, box.port, dt.date(2020, 10, 10))
        code, printed = cli("remind", "--config", toml, "--date", "2020-10-10")
        assert code == 0, printed
        assert len(box.messages) == 3
        code, printed = cli("remind", "--config", toml, "--date", "2020-10-10")
        assert len(box.messages) == 3 and code == 0


def test_dry_run_writes_eml_and_records_nothing(tmp_path: Path) -> None:
    with serve() as box:
        toml = config(tmp_path, box.port, dt.date(2020, 10, 10))
        code, printed = cli("remind", "--config", toml, "--date", "2020-10-09", "--dry-run")
        assert code == 0, printed
        written = sorted((tmp_path / "out" / "reminders" / "2563-r12").glob("*.eml"))
        assert len(written) == 3 and box.messages == []
        assert not (tmp_path / "out" / "ledger.sqlite3").exists()
        parsed = [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in written]
        assert sorted(tuple(sorted(a.addr_spec for a in m["To"].addresses)) for m in parsed) == [
            ("head.a@example.go.th", "plan.a@example.go.th"),
            B,
            C,
        ]
        assert all("(1 day left)" in m.get_body(("plain",)).get_content() for m in parsed)  # type: ignore[union-attr]
        # nothing recorded: the real reminders of the day still go
        code, printed = cli("remind", "--config", toml, "--date", "2020-10-09")
        assert code == 0 and len(box.messages) == 3


def test_run_and_days_before_remind_on_those_days_only_and_once(tmp_path: Path) -> None:
    today = dt.date.today()
    with serve() as box:
        toml = config(tmp_path, box.port, today + dt.timedelta(days=1), "[remind]\ndays_before = [3, 0]\n")
        division_book(tmp_path / "inbox" / "a.xlsx", "กองเอ")
        code, printed = cli("run", "--config", toml, "--email")
        assert code == 0, printed
        assert reminders_to(box) == []  # one day before: not a reminder day
        assert [m.rcpt_tos for m in box.messages] == [[REPORT_TO]]

        config(tmp_path, box.port, today + dt.timedelta(days=3), "[remind]\ndays_before = [3, 0]\n")
        division_book(tmp_path / "inbox" / "c.xlsx", "กองซี")
        code, printed = cli("run", "--config", toml, "--email")
        assert code == 0, printed
        assert reminders_to(box) == [B]
        assert "reminder sent: 2563-r12 กองบี" in printed

        division_book(tmp_path / "inbox" / "c2.xlsx", "กองซี", 3.0)
        code, printed = cli("run", "--config", toml, "--email")
        assert code == 0, printed
        assert reminders_to(box) == [B]  # the same day: not again

        # without mail asked for, a run reminds nobody
        config(tmp_path, box.port, today, "[remind]\ndays_before = [3, 0]\n")
        code, printed = cli("run", "--config", toml)
        assert code == 0 and reminders_to(box) == [B]


def test_an_old_ledger_gains_the_table_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as ledger:
        run_id = ledger.start_run(command="run", inbox="in", started=dt.datetime.now(dt.UTC))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'reminders'").fetchall() == []
    with ReminderBook(path) as book:
        assert book.pending(dt.date(2020, 1, 1)) == []
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT id FROM runs").fetchall() == [(run_id,)]
        assert db.execute("SELECT value FROM ledger_meta WHERE key = 'reminders_schema'").fetchone() == ("1",)


def test_a_reminder_a_killed_sender_left_goes_once(tmp_path: Path) -> None:
    """``sending`` without the message text started goes again; with it, it is maybe sent and stays."""
    with serve() as box:
        toml = config(tmp_path, box.port, dt.date(2020, 10, 10))
        code, _ = cli("remind", "--config", toml, "--date", "2020-10-10")
        assert code == 0 and len(box.messages) == 3
        ledger = tmp_path / "out" / "ledger.sqlite3"
        with sqlite3.connect(ledger) as db:
            db.execute("DELETE FROM reminders WHERE division = 'กองซี'")
            db.execute("UPDATE reminders SET status = 'sending', message_at = NULL WHERE division = 'กองเอ'")
            db.execute("UPDATE reminders SET status = 'sending', message_at = 'x' WHERE division = 'กองบี'")
        code, printed = cli("remind", "--config", toml, "--date", "2020-10-10")
        assert code == 0, printed
        sent_now = sorted(tuple(sorted(m.rcpt_tos)) for m in box.messages[3:])
        assert sent_now == [("head.a@example.go.th", "plan.a@example.go.th"), C]
        with sqlite3.connect(ledger) as db:
            status = dict(db.execute("SELECT division, status FROM reminders").fetchall())
        assert status == {"กองเอ": "sent", "กองบี": "maybe_sent", "กองซี": "sent"}


def test_watch_reminds_between_its_batches_once_a_day(tmp_path: Path) -> None:
    """The watcher calls ``on_idle`` after a poll that ran no batch; its daily reminders go once a day."""
    import io
    import threading

    from kpibatch.batch.watch import watch
    from kpibatch.commands.remind import DailyReminders
    from kpibatch.config import load_settings

    with serve() as box:
        toml = config(tmp_path, box.port, dt.date(2020, 10, 10), "[remind]\ndays_before = [1, 0]\n")
        settings = load_settings(toml, overrides={"email_enabled": True, "watch_interval": 0.01})
        days = iter([dt.date(2020, 10, 9)] * 2 + [dt.date(2020, 10, 10)] * 3)
        stop = threading.Event()
        printed = io.StringIO()
        reminders = DailyReminders(settings, printed, today=lambda: next(days))
        idle: list[int] = []

        def on_idle() -> None:
            reminders()
            idle.append(len(box.messages))
            if len(idle) == 5:
                stop.set()

        watch(settings, stop, on_report=lambda _report: None, on_skip=lambda _m: None, on_idle=on_idle)
    # three reminders the day before and three on the deadline day, each on that day's first idle poll
    assert idle == [3, 3, 6, 6, 6], printed.getvalue()
    assert reminders_to(box) == sorted([("head.a@example.go.th", "plan.a@example.go.th"), B, C] * 2)
    without_mail = DailyReminders(load_settings(toml), printed, today=lambda: dt.date(2020, 10, 10))
    without_mail()  # [email] enabled is off: nobody is reminded
    assert len(box.messages) == 6


def test_a_division_name_is_data_in_the_reminder_never_a_header_or_markup(tmp_path: Path) -> None:
    toml = config(tmp_path, free_port(), dt.date(2020, 10, 10))
    (tmp_path / "divisions.toml").write_text(
        '[[division]]\nname = "กอง<script>x</script>\\nBcc: evil@example.com"\n'
        'reporter = ["plan.x@example.go.th"]\n',
        encoding="utf-8",
    )
    code, printed = cli("remind", "--config", toml, "--date", "2020-10-10", "--dry-run")
    assert code == 0, printed
    [eml] = (tmp_path / "out" / "reminders" / "2563-r12").glob("*.eml")
    msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert msg["Bcc"] is None and "evil@example.com" not in str(msg["To"])
    assert [a.addr_spec for a in msg["To"].addresses] == ["plan.x@example.go.th"]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_dry_run_writes_the_days_reminders_as_eml_too(tmp_path: Path) -> None:
    toml = config(tmp_path, free_port(), dt.date.today(), "[remind]\ndays_before = [3, 0]\n")
    division_book(tmp_path / "inbox" / "a.xlsx", "กองเอ")
    code, printed = cli("run", "--config", toml, "--dry-run")
    assert code == 0, printed
    written = sorted((tmp_path / "out" / "reminders" / "2563-r12").glob("*.eml"))
    assert len(written) == 2 and "reminder written (not sent)" in printed  # กองบี and กองซี
    with sqlite3.connect(tmp_path / "out" / "ledger.sqlite3") as db:
        found = db.execute("SELECT name FROM sqlite_master WHERE name = 'reminders'").fetchall()
        assert found == [] or db.execute("SELECT COUNT(*) FROM reminders").fetchone() == (0,)


def test_watch_waits_before_trying_undelivered_reminders_again(tmp_path: Path) -> None:
    """With the mail server down, the watcher's next try comes RETRY_S later, not at the next poll."""
    import io

    from kpibatch.commands.remind import DailyReminders
    from kpibatch.config import load_settings

    toml = config(tmp_path, free_port(), dt.date(2020, 10, 10), "[remind]\ndays_before = [0]\n")
    settings = load_settings(toml, overrides={"email_enabled": True})
    now = [0.0]
    reminders = DailyReminders(
        settings, io.StringIO(), today=lambda: dt.date(2020, 10, 10), clock=lambda: now[0]
    )

    def attempts() -> list[int]:
        with sqlite3.connect(tmp_path / "out" / "ledger.sqlite3") as db:
            return [n for (n,) in db.execute("SELECT attempts FROM reminders ORDER BY id")]

    reminders()
    assert attempts() == [1, 1, 1]
    now[0] = DailyReminders.RETRY_S - 1
    reminders()
    assert attempts() == [1, 1, 1]  # too soon: not tried
    now[0] = DailyReminders.RETRY_S + 1
    reminders()
    assert attempts() == [2, 2, 2]
