"""Receipts to each division after each run (issue 16 item 3), against a real SMTP server on 127.0.0.1.

A night with an accepted, a rejected and a superseded file sends exactly three receipts, each to the
registry's addresses of its division; a run killed by SIGKILL after the first receipt is followed by
one that sends only the other two; an address typed inside a submitted file receives nothing; a dry
run writes the receipts as ``.eml``; ``kpibatch send`` retries those left pending.
"""

from __future__ import annotations

import email.policy
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from batchkit import cli, copy_in, division_book, rejected_book
from helpers import simple_kpis, write_submission
from mailserver import HOST, Mailbox, free_port, serve

from kpibatch.batch import receipts as rc
from kpibatch.batch.crash import ENV as CRASH_ENV
from kpibatch.config import load_settings
from kpibatch.deliver.message import Envelope, parse_address
from kpibatch.deliver.pdf import find_soffice

ROOT = Path(__file__).resolve().parent.parent
ATTACKER = "attacker@evil.example"
REGISTRY = """
[[division]]
name = "กองเอ"
short_name = "กอ."
reporter = ["a.reporter@example.go.th"]
head = ["A Head <a.head@example.go.th>"]

[[division]]
name = "กองบี"
reporter = ["b.reporter@example.go.th"]
"""
A_CONTACTS = ["a.reporter@example.go.th", "a.head@example.go.th"]
B_CONTACTS = ["b.reporter@example.go.th"]


@pytest.fixture
def night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings in the environment (as cron would give them) and a night in the inbox: กองเอ's first
    try and its fix (the fix is newer, so the first try is superseded), and กองบี's rejected file."""
    monkeypatch.chdir(tmp_path)  # no kpibatch.toml from the repository
    registry = tmp_path / "divisions.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    for name, value in {
        "DIVISIONS_REGISTRY": str(registry),
        "DEADLINES": "2563-12=2020-10-15",
        "SMTP_HOST": HOST,
        "SMTP_PORT": str(free_port()),
        "SMTP_SECURITY": "none",
        "SMTP_BACKOFF": "0.01",
        "SMTP_RETRIES": "0",
        "SMTP_CONNECT_TIMEOUT": "10",
        "SMTP_TIMEOUT": "10",
        "MAIL_FROM": "kpibatch@planning.example.go.th",
        "MAIL_TO": "director@example.go.th",
        "STABILITY_DELAY": "0",
    }.items():
        monkeypatch.setenv(f"KPIBATCH_{name}", value)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drafts = tmp_path / "drafts"
    first = division_book(drafts / "a-first.xlsx", "กองเอ", 3.0)
    fixed = division_book(drafts / "a-fixed.xlsx", "กองเอ", 5.0)
    os.utime(first, (1_600_000_000, 1_600_000_000))
    os.utime(fixed, (1_600_000_100, 1_600_000_100))
    for book in (first, fixed, rejected_book(drafts / "b-bad.xlsx", "กองบี")):
        copy_in(book, inbox)
    return tmp_path


def run_argv(root: Path, *more: str) -> list[str]:
    return ["run", "--inbox", str(root / "inbox"), "--out", str(root / "out"), "--receipts", *more]


def parsed(data: bytes) -> EmailMessage:
    return BytesParser(policy=email.policy.default).parsebytes(data)  # type: ignore[return-value]


def text_of(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()


def by_subject(box: Mailbox) -> dict[str, tuple[list[str], EmailMessage]]:
    """The receipts received, by what their subject says they are."""
    found: dict[str, tuple[list[str], EmailMessage]] = {}
    for received in box.messages:
        msg = parsed(received.data)
        subject = str(msg["Subject"])
        kind = next(k for k in ("รับแล้ว", "ไม่ผ่าน", "ถูกแทนที่") if k in subject)
        assert kind not in found, f"two receipts of one kind: {subject}"
        found[kind] = (sorted(received.rcpt_tos), msg)
    return found


def receipt_rows(root: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(root / "out" / "ledger.sqlite3") as db:
        rows = db.execute("SELECT file_name, kind, status FROM receipts ORDER BY submission_id")
        return list(rows)


def test_a_night_sends_one_receipt_per_file_to_the_registry_addresses(
    night: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve("none") as box:
        monkeypatch.setenv("KPIBATCH_SMTP_PORT", str(box.port))
        code, printed = cli(*run_argv(night))
    assert code == 3, printed  # a rejected file; every receipt delivered
    assert len(box.messages) == 3, printed
    receipts = by_subject(box)
    assert set(receipts) == {"รับแล้ว", "ไม่ผ่าน", "ถูกแทนที่"}

    to, accepted = receipts["รับแล้ว"]
    assert to == sorted(A_CONTACTS)
    body = text_of(accepted)
    assert "a-fixed.xlsx" in body and "5.0000" in str(accepted["Subject"])
    assert "ลำดับ / rank: 1 จาก / of 1" in body  # the round's report holds กองเอ alone
    for code_ in ("1", "2"):  # every KPI with its score
        assert f"  {code_} " in body
    assert body.count("คะแนน / score 5.0000") == 2
    pdfs = [part for part in accepted.iter_attachments() if part.get_content_type() == "application/pdf"]
    if find_soffice() is not None:
        (pdf,) = pdfs
        assert pdf.get_content().startswith(b"%PDF")
        if shutil.which("pdftotext") is not None:  # its own page: its total is printed on it
            printed_pdf = night / "receipt.pdf"
            printed_pdf.write_bytes(pdf.get_content())
            done = subprocess.run(["pdftotext", str(printed_pdf), "-"], capture_output=True, check=True)
            assert "5.0000" in done.stdout.decode("utf-8")
    else:
        assert pdfs == []
        assert "sent without the PDF" in printed

    to, rejected = receipts["ไม่ผ่าน"]
    assert to == B_CONTACTS
    body = text_of(rejected)
    assert "b-bad.xlsx" in body and "2020-10-15" in body  # the file, and the round's deadline
    assert "วิธีแก้ / how to fix" in body
    # the weight-sum error as the .txt beside the rejected file has it: Thai and English, with its place
    (reason,) = (night / "out" / "rejected").rglob("*.txt")
    reason_text = reason.read_text(encoding="utf-8")
    error_lines = [line.strip() for line in body.splitlines() if line.strip()]
    assert any(line in reason_text for line in error_lines if "น้ำหนัก" in line)
    assert any("weight" in line.lower() for line in error_lines)

    to, superseded = receipts["ถูกแทนที่"]
    assert to == sorted(A_CONTACTS)
    body = text_of(superseded)
    assert "a-first.xlsx" in body and "the submission that now counts: a-fixed.xlsx" in body

    assert sorted(receipt_rows(night)) == [
        ("a-first.xlsx", "superseded", "sent"),
        ("a-fixed.xlsx", "accepted", "sent"),
        ("b-bad.xlsx", "rejected", "sent"),
    ]
    # a second run with nothing new sends nothing again
    with serve("none") as again:
        monkeypatch.setenv("KPIBATCH_SMTP_PORT", str(again.port))
        cli(*run_argv(night))
    assert again.messages == []


def test_a_run_killed_after_the_first_receipt_is_followed_by_the_other_two_only(
    night: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve("none") as box:
        env = {
            **os.environ,
            "KPIBATCH_SMTP_PORT": str(box.port),
            "KPIBATCH_PDF_TIMEOUT_S": "300",
            CRASH_ENV: "receipted",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        killed = subprocess.run(
            [sys.executable, "-m", "kpibatch", *run_argv(night)],
            env=env,
            cwd=night,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
        assert len(box.messages) == 1
        statuses = sorted(status for _, _, status in receipt_rows(night))
        assert statuses == ["pending", "pending", "sent"]  # every receipt was recorded before sending

        monkeypatch.setenv("KPIBATCH_SMTP_PORT", str(box.port))
        code, printed = cli(*run_argv(night))
    assert code == 0, printed  # the rerun filed nothing; its receipts all went
    assert len(box.messages) == 3
    assert printed.count("receipt sent") == 2
    ids = [str(parsed(m.data)["Message-ID"]) for m in box.messages]
    assert len(set(ids)) == 3  # three different receipts, none sent twice
    by_subject(box)  # one of each kind
    assert sorted(status for _, _, status in receipt_rows(night)) == ["sent"] * 3


def test_an_address_typed_in_a_submission_receives_nothing(
    night: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = night / "inbox"
    for path in inbox.iterdir():
        path.unlink()
    rows = [("division", "กองเอ"), ("fiscal_year", 2563), ("round", 12), ("email", ATTACKER)]
    kpis = simple_kpis({"1": 4, "2": 4}, {"1": 60, "2": 40})
    kpis[0]["name"] = f"ส่งผลให้ {ATTACKER}\r\nBcc: {ATTACKER}"
    write_submission(inbox / "a.xlsx", kpis, division_rows=rows)
    write_submission(inbox / "stranger.xlsx", kpis, division=ATTACKER)  # not in the registry
    with serve("none") as box:
        monkeypatch.setenv("KPIBATCH_SMTP_PORT", str(box.port))
        code, printed = cli(*run_argv(night))
    assert code == 0, printed
    (received,) = box.messages  # กองเอ's receipt only
    assert sorted(received.rcpt_tos) == sorted(A_CONTACTS)
    msg = parsed(received.data)
    headers = " ".join(f"{k}: {v}" for k, v in msg.items())
    assert ATTACKER not in headers and msg["Bcc"] is None
    assert f"no receipt: stranger.xlsx: division '{ATTACKER}' is not in the registry" in printed
    assert ("stranger.xlsx", "accepted", "no_contact") in receipt_rows(night)


def test_a_subject_holds_a_divisions_text_on_one_line_and_adds_no_header() -> None:
    hostile = f"กองเอ\r\nBcc: {ATTACKER}\nX-Evil: 1"
    settings = load_settings(environ={})
    row = rc.ReceiptRow(
        id=1,
        submission_id=7,
        kind="rejected",
        file_name=f"bad\nTo: {ATTACKER}.xlsx",
        division=hostile,
        recipients=("b.reporter@example.go.th",),
        content={
            "kind": "rejected",
            "submission": 7,
            "file_name": f"bad\nTo: {ATTACKER}.xlsx",
            "division": hostile,
            "registry_name": "",
            "fiscal_year": "2563",
            "round": "12",
            "received": "",
            "errors": [],
            "deadline": "",
        },
        attachment=None,
        status="pending",
        attempts=0,
        last_error=None,
    )
    env = Envelope(
        sender=parse_address("mail_from", "kpibatch@planning.example.go.th"),
        to=(parse_address("registry", "b.reporter@example.go.th"),),
        cc=(),
        bcc=(),
    )
    data = rc.build_receipt(row, settings.mail, env).as_bytes()
    msg = parsed(data)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert str(msg["To"]) == "b.reporter@example.go.th"
    subject = str(msg["Subject"])
    assert "\n" not in subject and "\r" not in subject and "Bcc:" in subject  # kept as text
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and "<script>" not in html.get_content()


def test_a_dry_run_writes_each_receipt_as_eml_and_sends_nothing(night: Path) -> None:
    code, printed = cli(*run_argv(night, "--dry-run"))
    assert code == 3, printed
    emls = sorted((night / "out" / "receipts").glob("*.eml"))
    assert len(emls) == 3, printed
    for eml in emls:
        assert f"receipt written (not sent): {eml}" in printed
    recipients = sorted(str(parsed(p.read_bytes())["To"]) for p in emls)
    assert recipients == sorted([", ".join(A_CONTACTS)] * 2 + B_CONTACTS)
    assert sorted(status for _, _, status in receipt_rows(night)) == ["unsent"] * 3


def test_send_retries_receipts_left_pending(night: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, printed = cli(*run_argv(night))  # nobody listens on the port: the receipts stay pending
    assert code == 5, printed
    assert "receipt NOT sent" in printed
    assert sorted(status for _, _, status in receipt_rows(night)) == ["pending"] * 3
    code, printed = cli("send", "--out", str(night / "out"), "--dry-run")
    assert code == 0 and printed.count("receipt written (not sent)") == 3, printed
    assert len(list((night / "out" / "receipts").glob("*.eml"))) == 3
    with serve("none") as box:
        monkeypatch.setenv("KPIBATCH_SMTP_PORT", str(box.port))
        code, printed = cli("send", "--out", str(night / "out"))
    assert code == 0, printed
    assert len(box.messages) == 3 and printed.count("receipt sent") == 3
    assert sorted(status for _, _, status in receipt_rows(night)) == ["sent"] * 3


def test_switching_receipts_on_sends_none_for_files_received_before(
    night: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, printed = cli("run", "--inbox", str(night / "inbox"), "--out", str(night / "out"))
    assert code == 3, printed
    copy_in(division_book(night / "drafts" / "b.xlsx", "กองบี", 4.0), night / "inbox")
    copy_in(night / "drafts" / "a-fixed.xlsx", night / "inbox", "a-again.xlsx")  # same bytes
    with serve("none") as box:
        monkeypatch.setenv("KPIBATCH_SMTP_PORT", str(box.port))
        code, printed = cli(*run_argv(night))
    assert code == 0, printed
    receipts = {str(parsed(m.data)["Subject"]): (m.rcpt_tos, parsed(m.data)) for m in box.messages}
    assert len(receipts) == 2, printed
    (accepted,) = [k for k in receipts if "รับแล้ว" in k]
    assert receipts[accepted][0] == B_CONTACTS
    (duplicate,) = [k for k in receipts if "ซ้ำ" in k]
    to, msg = receipts[duplicate]
    assert sorted(to) == sorted(A_CONTACTS)
    body = text_of(msg)
    assert "the earlier file: a-fixed.xlsx" in body
    assert "the submission that now counts: a-fixed.xlsx" in body
    assert sorted(receipt_rows(night)) == [
        ("a-again.xlsx", "duplicate", "sent"),
        ("b.xlsx", "accepted", "sent"),
    ]


def test_receipts_without_a_registry_stop_the_run_before_it_starts(
    night: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KPIBATCH_DIVISIONS_REGISTRY")
    code, _ = cli(*run_argv(night))
    assert code == 2
    assert "receipts = true needs the division registry" in capsys.readouterr().err
    assert len(list((night / "inbox").iterdir())) == 3  # nothing claimed


def killed(root: Path, point: str, port: int) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KPIBATCH_SMTP_PORT": str(port),
        CRASH_ENV: point,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "kpibatch", *run_argv(root)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("point", ["recorded:2", "reported"])
def test_files_of_a_run_killed_before_its_receipts_get_them_from_the_next_run(
    night: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    with serve("none") as box:
        crashed = killed(night, point, box.port)
        assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
        assert box.messages == []
        monkeypatch.setenv("KPIBATCH_SMTP_PORT", str(box.port))
        code, printed = cli(*run_argv(night))
    assert code in (0, 3), printed
    assert len(box.messages) == 3, printed
    by_subject(box)
    assert sorted(status for _, _, status in receipt_rows(night)) == ["sent"] * 3


def test_a_receipt_that_may_have_arrived_goes_again_only_on_purpose(
    night: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailserver import ScriptedServer

    for path in (night / "inbox").iterdir():
        if path.name != "b-bad.xlsx":
            path.unlink()
    monkeypatch.setenv("KPIBATCH_SMTP_DATA_TIMEOUT", "1")
    with ScriptedServer(final="stall") as server:
        monkeypatch.setenv("KPIBATCH_SMTP_PORT", str(server.port))
        code, printed = cli(*run_argv(night))
        assert code == 5, printed
        assert "receipt MAYBE sent" in printed and "kpibatch send --resend-receipt 1" in printed
        assert receipt_rows(night) == [("b-bad.xlsx", "rejected", "maybe_sent")]
        code, printed = cli("send", "--out", str(night / "out"))  # not on its own
        assert code == 0 and len(server.messages) == 1, printed
        server.final = "ok"
        code, printed = cli("send", "--out", str(night / "out"), "--resend-receipt", "1")
    assert code == 0, printed
    assert receipt_rows(night) == [("b-bad.xlsx", "rejected", "sent")]
    first, again = server.message_ids()
    assert first == again  # the same receipt: a receiving system can drop the copy


def test_without_libreoffice_an_accepted_receipt_goes_without_its_pdf_and_the_run_says_so(
    night: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(night / "no-programs-here"))
    assert find_soffice() is None
    with serve("none") as box:
        monkeypatch.setenv("KPIBATCH_SMTP_PORT", str(box.port))
        code, printed = cli(*run_argv(night))
    assert code == 3, printed
    assert "receipt for a-fixed.xlsx: LibreOffice is not installed; sent without the PDF" in printed
    _, accepted = by_subject(box)["รับแล้ว"]
    assert list(accepted.iter_attachments()) == []
    assert "attached as a PDF" not in text_of(accepted)


def test_watch_sends_the_receipts_of_each_pass(night: Path) -> None:
    with serve("none") as box:
        env = {
            **os.environ,
            "KPIBATCH_SMTP_PORT": str(box.port),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        argv = ["watch", "--inbox", str(night / "inbox"), "--out", str(night / "out"), "--receipts"]
        watcher = subprocess.Popen(
            [sys.executable, "-m", "kpibatch", *argv, "--interval", "0.2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=night,
        )
        try:
            # the limit only ends a failure; the test waits for the receipts, not for a time
            give_up = time.monotonic() + 300
            while len(box.messages) < 3 and watcher.poll() is None and time.monotonic() < give_up:
                time.sleep(0.2)
            watcher.send_signal(signal.SIGTERM)
            printed, err = watcher.communicate(timeout=120)
        finally:
            if watcher.poll() is None:
                watcher.kill()
    assert watcher.returncode == 0, err
    assert printed.count("receipt sent") == 3, printed + err
    by_subject(box)
