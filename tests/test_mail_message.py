"""The message: parts, the attachment and its Thai name, templates, and text typed by divisions."""

from __future__ import annotations

import dataclasses
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from conftest import EXAMPLES
from helpers import simple_kpis, write_submission
from mailserver import mail_settings

from kpibatch.config import ConfigError, Settings, load_settings
from kpibatch.deliver.message import envelope
from kpibatch.deliver.render import check_templates
from kpibatch.deliver.service import message_for
from kpibatch.pipeline import GroupOutput, inbox_files, run_batch

SIX = [
    "สำนักงานเลขาธิการกรม",
    "กองพัฒนาระบบการบังคับคดีและประเมินราคาทรัพย์สิน",
    "กองบริหารทรัพยากรบุคคล",
    "กองติดตามและเฉลี่ยทรัพย์สินในคดีล้มละลาย",
    "กองบริหารการคลัง",
    "ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร",
]


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> GroupOutput:
    out = tmp_path_factory.mktemp("out")
    return run_batch(inbox_files(EXAMPLES), out, Settings()).outputs[0]


def roundtrip(msg: EmailMessage) -> tuple[bytes, EmailMessage]:
    """The bytes that go on the wire, and what a mail client parses from them."""
    raw = msg.as_bytes()
    return raw, BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[return-value]


def parts(msg: EmailMessage) -> tuple[str, str, EmailMessage]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    attachments = list(msg.iter_attachments())
    assert text is not None and html is not None and len(attachments) == 1
    return text.get_content(), html.get_content(), attachments[0]


def test_attachment_is_the_workbook_byte_for_byte_with_its_thai_name_in_rfc_2231(
    output: GroupOutput,
) -> None:
    settings = mail_settings()
    raw, msg = roundtrip(message_for(output.workbook, settings, envelope(settings.mail)))
    _, _, attachment = parts(msg)
    assert attachment.get_content() == output.workbook.read_bytes()
    assert attachment.get_filename() == "สรุปผลคะแนน-2563-รอบ12.xlsx" == output.workbook.name
    assert attachment.get_content_type().endswith("spreadsheetml.sheet")
    # RFC 2231: a charset-tagged, percent-encoded parameter (split into numbered pieces when long).
    assert re.search(rb"filename\*(0\*)?=utf-8''%E0%B8%AA%E0%B8%A3", raw)
    assert raw.isascii()


def test_text_and_html_carry_the_same_content(output: GroupOutput) -> None:
    settings = mail_settings(expected_divisions=(*SIX, "กองที่ยังไม่ส่ง"))
    _, msg = roundtrip(message_for(output.workbook, settings, envelope(settings.mail)))
    text, html, _ = parts(msg)
    subject = str(msg["Subject"])
    assert "2563" in subject and "12" in subject and "\n" not in subject
    for body in (text, html):
        for name in SIX:
            assert name in body
        assert "ประจำปีงบประมาณ พ.ศ. 2563 รอบ 12 เดือน" in body
        assert "4.5500" in body and "5.0000" in body
        assert "หน่วยงานที่ยังไม่ได้ส่ง" in body and "กองที่ยังไม่ส่ง" in body
        assert str(output.workbook.resolve()) in body


def test_english_templates(output: GroupOutput) -> None:
    settings = mail_settings(mail_language="en")
    _, msg = roundtrip(message_for(output.workbook, settings, envelope(settings.mail)))
    text, html, _ = parts(msg)
    assert str(msg["Subject"]).startswith("KPI score summary")
    assert "Fiscal year 2563 (B.E.), 12-month round" in text
    assert '<html lang="en">' in html and "Rank" in html


def test_a_user_template_folder_replaces_single_files(output: GroupOutput, tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    (folder / "th").mkdir(parents=True)
    (folder / "th" / "subject.txt.j2").write_text(
        "รายงาน {{ s.fiscal_year }}: {% for d in s.divisions %}{{ d.name }}\n{% endfor %}", encoding="utf-8"
    )
    settings = mail_settings(mail_templates=folder)
    _, msg = roundtrip(message_for(output.workbook, settings, envelope(settings.mail)))
    text, _, _ = parts(msg)
    assert str(msg["Subject"]) == "รายงาน 2563: " + " ".join(SIX)  # line breaks folded away
    assert "ประจำปีงบประมาณ พ.ศ. 2563" in text  # the shipped body is still used


def test_a_broken_user_template_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "th").mkdir()
    (tmp_path / "th" / "body.html.j2").write_text("{% for %}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"th/body\.html\.j2"):
        check_templates(Settings(mail_templates=tmp_path).mail)
    with pytest.raises(ConfigError, match="mail_language"):
        check_templates(Settings(mail_language="fr").mail)


def test_division_names_cannot_add_headers_and_are_escaped_in_html(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    hostile = [
        "กองทดสอบ\r\nBcc: thief@example.com\r\nX-Injected: yes",
        "<script>alert('x')</script>",
    ]
    for i, name in enumerate(hostile):
        write_submission(inbox / f"{i}.xlsx", simple_kpis({"1": 5}, {"1": 100}), division=name)
    out = run_batch(inbox_files(inbox), tmp_path / "out", Settings()).outputs[0]
    folder = tmp_path / "templates" / "th"
    folder.mkdir(parents=True)
    # A template that puts the names into the subject: the worst case for header injection.
    (folder / "subject.txt.j2").write_text("{% for d in s.divisions %}{{ d.name }} {% endfor %}", "utf-8")
    settings = mail_settings(mail_templates=folder.parent)
    raw, msg = roundtrip(message_for(out.workbook, settings, envelope(settings.mail)))
    assert set(msg.keys()) == {"Subject", "From", "To", "Date", "Message-ID", "MIME-Version", "Content-Type"}
    header_lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    starts = [line.split(b":", 1)[0] for line in header_lines if not line[:1].isspace()]
    assert starts == [b"Subject", b"From", b"To", b"Date", b"Message-ID", b"MIME-Version", b"Content-Type"]
    assert "X-Injected" not in msg and "Bcc" not in msg
    text, html, _ = parts(msg)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "กองทดสอบ Bcc: thief@example.com X-Injected: yes" in html  # shown, flattened, inert
    assert "<script>alert('x')</script>" in text  # plain text is plain


def test_addresses_from_the_environment_are_checked(tmp_path: Path) -> None:
    environ = {
        "KPIBATCH_MAIL_FROM": "kpi@example.go.th",
        "KPIBATCH_MAIL_TO": "a@example.go.th, b@example.go.th",
    }
    settings = load_settings(environ=environ, cwd=tmp_path)
    assert envelope(settings.mail).recipients == ["a@example.go.th", "b@example.go.th"]
    for bad in ("a@example.go.th\nBcc: thief@example.com", "not-an-address", "a@b@c"):
        with pytest.raises(ConfigError, match="mail_to"):
            envelope(dataclasses.replace(settings, mail_to=(bad,)).mail)
    with pytest.raises(ConfigError, match="mail_from"):
        envelope(dataclasses.replace(settings, mail_from="").mail)
    with pytest.raises(ConfigError, match="recipients"):
        envelope(dataclasses.replace(settings, mail_to=()).mail)


def test_contacts_and_signatories_typed_in_a_file_add_no_header_and_no_recipient(tmp_path: Path) -> None:
    """Who answers for a KPI and who certified the figures are text in the file: an address or a
    header typed there reaches no mail header and no envelope."""
    inbox = tmp_path / "inbox"
    hostile = "thief@example.com\r\nBcc: thief@example.com\r\nX-Injected: yes"
    row = simple_kpis({"1": 5}, {"1": 100})[0] | {"supervisor": hostile, "collector_phone": hostile}
    write_submission(
        inbox / "c.xlsx",
        [row],
        columns=("code", "name", "weight", "method", "result", "supervisor", "collector_phone"),
        division_rows=[
            ("division", "กองทดสอบ"),
            ("fiscal_year", 2563),
            ("round", 12),
            ("certifier", hostile),
        ],
    )
    out = run_batch(inbox_files(inbox), tmp_path / "out", Settings()).outputs[0]
    settings = mail_settings()
    sending = envelope(settings.mail)
    raw, msg = roundtrip(message_for(out.workbook, settings, sending))
    assert sending.recipients == ["director@example.go.th"]
    assert set(msg.keys()) == {"Subject", "From", "To", "Date", "Message-ID", "MIME-Version", "Content-Type"}
    assert msg["To"] == "director@example.go.th" and b"thief" not in raw.split(b"\r\n\r\n", 1)[0]
