"""The mail itself: an ``EmailMessage`` with a plain-text and an HTML part and the workbook attached.

``EmailMessage`` refuses header values with line breaks, and the subject passes through
``render.one_line`` first, so nothing a division types (a name with a newline in it) can add a
header. Addresses come from the settings, are parsed and must each be one plain address.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import json
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from kpibatch.config import ConfigError, Mail
from kpibatch.deliver.render import Rendered

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
XLSM_TYPE = ("application", "vnd.ms-excel.sheet.macroEnabled.12")


@dataclass(frozen=True)
class Envelope:
    """Who the mail is from and to; ``bcc`` goes only into the SMTP envelope, never a header."""

    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]

    @property
    def recipients(self) -> list[str]:
        unique: dict[str, str] = {}
        for address in (*self.to, *self.cc, *self.bcc):
            unique.setdefault(address.addr_spec.lower(), address.addr_spec)
        return list(unique.values())


def parse_address(setting: str, value: str) -> Address:
    """One address, ``user@domain`` or ``Name <user@domain>``; anything else is a configuration error."""
    if any(ch in value for ch in "\r\n\0"):
        raise ConfigError(f"{setting}: an address cannot contain a line break")
    name, spec = parseaddr(value)
    local, _, domain = spec.partition("@")
    if not local or not domain or "@" in domain or any(ch.isspace() for ch in spec):
        raise ConfigError(f"{setting}: not an e-mail address: {value!r}")
    try:
        return Address(display_name=name, username=local, domain=domain)
    except ValueError as exc:
        raise ConfigError(f"{setting}: not an e-mail address: {value!r}") from exc


def envelope(mail: Mail, *, require: bool = True) -> Envelope:
    """The addresses of the settings, checked; with ``require`` a sender and a recipient must exist."""
    sender = parse_address("mail_from", mail.sender) if mail.sender.strip() else None
    to = tuple(parse_address("mail_to", a) for a in mail.to)
    cc = tuple(parse_address("mail_cc", a) for a in mail.cc)
    bcc = tuple(parse_address("mail_bcc", a) for a in mail.bcc)
    if require and sender is None:
        raise ConfigError("mail_from is not set (KPIBATCH_MAIL_FROM)")
    if require and not (to or cc or bcc):
        raise ConfigError("no recipients: set mail_to (KPIBATCH_MAIL_TO), mail_cc or mail_bcc")
    return Envelope(sender=sender, to=to, cc=cc, bcc=bcc)


def build_message(
    rendered: Rendered,
    workbook: Path,
    env: Envelope,
    *,
    now: dt.datetime | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """The mail for one workbook; the attachment is the file's bytes as they are on disk now."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = rendered.subject
    if env.sender is not None:
        msg["From"] = env.sender
    if env.to:
        msg["To"] = env.to
    if env.cc:
        msg["Cc"] = env.cc
    msg["Date"] = format_datetime(now or dt.datetime.now(dt.UTC).astimezone())
    data = workbook.read_bytes()
    if message_id is None:
        message_id = make_msgid("kpibatch", domain=env.sender.domain if env.sender else "kpibatch.invalid")
    msg["Message-ID"] = message_id
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    maintype, subtype = XLSM_TYPE if workbook.suffix.lower() == ".xlsm" else XLSX_TYPE
    # The default policy writes a non-ASCII file name as an RFC 2231 parameter (filename*=utf-8''...).
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=workbook.name)
    printed = workbook.with_suffix(".pdf")  # written beside it when pdf = true (kpibatch.deliver.pdf)
    if printed.is_file():
        msg.add_attachment(printed.read_bytes(), maintype="application", subtype="pdf", filename=printed.name)
    return msg


def report_message_id(results: dict[str, Any], env: Envelope) -> str:
    """The same ``Message-ID`` for every mail of one report, so that a receiving system can drop a copy
    sent again after a lost reply, a retry, ``kpibatch send --resend`` or a rerun that wrote the same
    report: a digest of its ``results.json`` without the time it was generated."""
    content = {key: value for key, value in results.items() if key != "generated_at"}
    # default=float: the numbers ``load_results`` reads as Decimals digest as before they were
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=float)
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    domain = env.sender.domain if env.sender is not None else ""
    if not domain or not domain.isascii():
        domain = "kpibatch.invalid"
    return f"<kpibatch.{digest}@{domain}>"
