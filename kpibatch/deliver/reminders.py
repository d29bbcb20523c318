"""Reminders by mail to the registry divisions that have no accepted submission for an open round.

``kpibatch remind`` reminds every such division of the open round (the nearest deadline that has not
passed); ``kpibatch run`` and ``watch`` do it on the days ``[remind] days_before`` gives (``[3, 0]``:
three days before each deadline and on the day). A reminder goes to the division's registry contacts
only, never to an address from a submitted file, and says the round, the deadline and how to submit
(``[remind] how_to_submit``), in Thai and English (templates ``remind/`` beside the report mail's).

At most one a day per division and round: the table ``reminders`` in the ledger file holds one row
per (fiscal year, round, division, day), made before anything is sent (the unique key is what stops a
second one the same day). Sending claims a row as ``deliver.outbox`` claims a mail (``pending`` ->
``sending`` in one transaction, every sender under the ledger's mail lock): ``sent``, ``pending``
again when it could not go (the next ``remind``, run or watch pass the same day retries it), or
``maybe_sent`` when the message text left and no reply came (never sent again on its own). A row of
an earlier day not sent, or of a division that has submitted since, is ``cancelled``.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Literal

import jinja2

from kpibatch.config import ConfigError, Mail, Reminders, Smtp
from kpibatch.deliver.claimed import CLAIM_COLUMNS, ClaimedTable, now_text
from kpibatch.deliver.message import Envelope, parse_address
from kpibatch.deliver.outbox import mail_lock
from kpibatch.deliver.render import environment, one_line
from kpibatch.deliver.smtp import MailError, check_smtp_settings, send
from kpibatch.errors import MailLocked
from kpibatch.fsutil import write_atomic
from kpibatch.registry import Division, Registry
from kpibatch.text import BUDDHIST_ERA_OFFSET, THAI_MONTHS, division_key

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
MAYBE_SENT = "maybe_sent"
CANCELLED = "cancelled"
SCHEMA_VERSION = 1
"""Version of the ``reminders`` table, kept in ``ledger_meta`` (``reminders_schema``) for migrations."""
TEMPLATE_NAMES = ("remind/subject.txt.j2", "remind/body.txt.j2", "remind/body.html.j2")

TABLE = f"""
CREATE TABLE IF NOT EXISTS reminders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fiscal_year INTEGER NOT NULL,
    round INTEGER NOT NULL,
    division TEXT NOT NULL,
    division_key TEXT NOT NULL,
    day TEXT NOT NULL,
    deadline TEXT NOT NULL,
    recipients TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'maybe_sent', 'cancelled')),
{CLAIM_COLUMNS},
    UNIQUE (fiscal_year, round, division_key, day)
)
"""
META = "CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"

Log = Callable[[str], None]
Outcome = Literal["sent", "pending", "maybe_sent", "written", "no-contact", "already"]
"""``already``: the division was reminded of the round on this day before (sent, or maybe sent)."""


def _silent(_: str) -> None:
    pass


@dataclass(frozen=True)
class OpenRound:
    fiscal_year: int
    round: int
    deadline: dt.date

    @property
    def key(self) -> str:
        return f"{self.fiscal_year}-r{self.round}"


def open_rounds(deadlines: Mapping[tuple[int, int], dt.date], today: dt.date) -> list[OpenRound]:
    """The round(s) being collected on ``today``: the nearest deadline that has not passed.

    Only the nearest: with the year's three deadlines configured in advance, round 12's divisions
    are not chased in round 6's weeks. A round whose deadline has passed is closed (the report marks
    its missing divisions; a reminder cannot make them on time).
    """
    upcoming = sorted((day, key) for key, day in deadlines.items() if day >= today)
    if not upcoming:
        return []
    nearest = upcoming[0][0]
    return [OpenRound(year, round_, day) for day, (year, round_) in upcoming if day == nearest]


def rounds_on_reminder_days(
    deadlines: Mapping[tuple[int, int], dt.date], today: dt.date, days_before: Iterable[int]
) -> list[OpenRound]:
    """The rounds whose deadline is one of ``days_before`` days after ``today`` (``[remind]``)."""
    wanted = set(days_before)
    return [
        OpenRound(year, round_, day)
        for (year, round_), day in sorted(deadlines.items(), key=lambda item: item[1])
        if (day - today).days in wanted
    ]


def missing(registry: Registry, submitted: Iterable[str]) -> list[Division]:
    """The registry's divisions none of ``submitted`` (accepted division names) belongs to."""
    done = {found.name for name in submitted if (found := registry.match(name)) is not None}
    return [division for division in registry.divisions if division.name not in done]


@dataclass(frozen=True)
class Reminder:
    """One reminder: what it is about and whom it goes to."""

    round: OpenRound
    division: str
    contacts: tuple[str, ...]
    day: dt.date
    id: int | None = None

    @property
    def days_left(self) -> int:
        return (self.round.deadline - self.day).days

    @property
    def label(self) -> str:
        return f"{self.round.key} {self.division}"


@dataclass(frozen=True)
class Result:
    """What became of one reminder."""

    reminder: Reminder
    outcome: Outcome
    detail: str = ""
    eml: Path | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("sent", "written", "no-contact", "already")


class ReminderBook(ClaimedTable):
    """The ``reminders`` table of one ledger file; use as a context manager."""

    table = "reminders"

    def _create(self) -> None:
        """Add the table to a ledger of an earlier version (its other tables are left as they are)."""
        with self._transaction():
            self.db.execute(META)
            self.db.execute(TABLE)
            self.db.execute("CREATE INDEX IF NOT EXISTS reminders_status ON reminders (status, day)")
            found = self.db.execute("SELECT value FROM ledger_meta WHERE key = 'reminders_schema'").fetchone()
            if found is not None and int(found[0]) > SCHEMA_VERSION:
                raise ConfigError(f"reminders table written by a newer kpibatch (schema {found[0]})")
            self.db.execute(
                "INSERT INTO ledger_meta (key, value) VALUES ('reminders_schema', ?)"
                " ON CONFLICT (key) DO NOTHING",
                (str(SCHEMA_VERSION),),
            )

    def plan(self, reminders: Sequence[Reminder], rounds: Sequence[OpenRound], day: dt.date) -> None:
        """Record today's reminders before any is sent (one a day: a row already there stays as it is);
        cancel the unsent rows of earlier days, and of ``rounds``' divisions no longer missing."""
        now = now_text()
        wanted = {(r.round.fiscal_year, r.round.round, division_key(r.division)) for r in reminders}
        asked = {(r.fiscal_year, r.round) for r in rounds}
        with self._transaction():
            for r in reminders:
                self.db.execute(
                    "INSERT INTO reminders (fiscal_year, round, division, division_key, day, deadline,"
                    " recipients, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (fiscal_year, round, division_key, day) DO NOTHING",
                    (
                        r.round.fiscal_year,
                        r.round.round,
                        r.division,
                        division_key(r.division),
                        day.isoformat(),
                        r.round.deadline.isoformat(),
                        json.dumps(list(r.contacts)),
                        PENDING,
                        now,
                        now,
                    ),
                )
            for row in self.db.execute(
                "SELECT id, fiscal_year, round, division_key, day FROM reminders WHERE status = ?", (PENDING,)
            ).fetchall():
                stale = row["day"] != day.isoformat()
                done = (row["fiscal_year"], row["round"]) in asked and (
                    (row["fiscal_year"], row["round"], row["division_key"]) not in wanted
                )
                if stale or done:
                    why = "a later day's reminder replaces it" if stale else "no longer missing or due"
                    self.db.execute(
                        "UPDATE reminders SET status = ?, last_error = ?, updated_at = ? WHERE id = ?",
                        (CANCELLED, why, now, row["id"]),
                    )

    def pending(self, day: dt.date) -> list[Reminder]:
        rows = self.db.execute(
            "SELECT * FROM reminders WHERE status = ? AND day = ? ORDER BY id", (PENDING, day.isoformat())
        ).fetchall()
        return [
            Reminder(
                round=OpenRound(r["fiscal_year"], r["round"], dt.date.fromisoformat(r["deadline"])),
                division=r["division"],
                contacts=tuple(json.loads(r["recipients"])),
                day=dt.date.fromisoformat(r["day"]),
                id=r["id"],
            )
            for r in rows
        ]

    def recover(self) -> int:
        """Settle rows a killed sender left ``sending``; call only under the mail lock."""
        now = now_text()
        with self._transaction():
            cursor = self.db.execute(
                "UPDATE reminders SET status = CASE WHEN message_at IS NULL THEN ? ELSE ? END,"
                " last_error = 'the sender was stopped', updated_at = ? WHERE status = ?",
                (PENDING, MAYBE_SENT, now, SENDING),
            )
        return cursor.rowcount


# --- the mail -------------------------------------------------------------------------------------


def thai_date(day: dt.date) -> str:
    """``10 เมษายน 2569``: a date as Thai letters write it (Buddhist-era year)."""
    return f"{day.day} {THAI_MONTHS[day.month - 1]} {day.year + BUDDHIST_ERA_OFFSET}"


def check_templates(mail: Mail) -> None:
    """Load the reminder templates once, so a broken user template stops before anything is sent."""
    env = environment(mail)
    for name in TEMPLATE_NAMES:
        try:
            env.get_template(name)
        except jinja2.TemplateError as exc:
            raise ConfigError(f"mail template {name}: {exc}") from exc


def message(
    reminder: Reminder, mail: Mail, how_to_submit: str, sender: Envelope
) -> tuple[EmailMessage, Envelope]:
    """The reminder's mail (Thai, then English) and its envelope: the division's registry contacts."""
    env = Envelope(
        sender=sender.sender,
        to=tuple(parse_address(f"registry contact of {reminder.division}", a) for a in reminder.contacts),
        cc=(),
        bcc=(),
    )
    context = {
        "r": reminder,
        "fiscal_year": reminder.round.fiscal_year,
        "round": reminder.round.round,
        "deadline": reminder.round.deadline.isoformat(),
        "deadline_th": thai_date(reminder.round.deadline),
        "days_left": reminder.days_left,
        "how_to_submit": how_to_submit.strip(),
        "reply_to": sender.sender.addr_spec if sender.sender is not None else "",
    }
    templates = environment(mail)
    parts = []
    for name in TEMPLATE_NAMES:
        try:
            parts.append(templates.get_template(name).render(context))
        except jinja2.TemplateError as exc:
            raise ConfigError(f"mail template {name}: {exc}") from exc
    subject, text, html = parts
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = one_line(subject)
    if env.sender is not None:
        msg["From"] = env.sender
    msg["To"] = env.to
    msg["Date"] = format_datetime(dt.datetime.now(dt.UTC).astimezone())
    msg["Message-ID"] = message_id(reminder, env)
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg, env


def message_id(reminder: Reminder, env: Envelope) -> str:
    """The same ``Message-ID`` each time one day's reminder goes out, so a receiver can drop a copy."""
    key = f"{reminder.round.key}|{division_key(reminder.division)}|{reminder.day.isoformat()}"
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    domain = env.sender.domain if env.sender is not None else ""
    if not domain or not domain.isascii():
        domain = "kpibatch.invalid"
    return f"<kpibatch.remind.{digest}@{domain}>"


def eml_path(folder: Path, reminder: Reminder) -> Path:
    """``<folder>/<year>-r<round>/<day>-<digest>.eml``: a registry name is never part of a path."""
    digest = hashlib.sha256(division_key(reminder.division).encode("utf-8", "surrogatepass")).hexdigest()
    return folder / reminder.round.key / f"{reminder.day.isoformat()}-{digest[:12]}.eml"


# --- the step -------------------------------------------------------------------------------------


def due(
    registry: Registry,
    rounds: Sequence[OpenRound],
    accepted: Callable[[OpenRound], Iterable[str]],
    day: dt.date,
) -> list[Reminder]:
    """A reminder for every registry division with no accepted submission in each of ``rounds``."""
    return [
        Reminder(round=round_, division=division.name, contacts=division.contacts, day=day)
        for round_ in rounds
        for division in missing(registry, accepted(round_))
    ]


def remind(
    mail: Mail,
    smtp: Smtp,
    options: Reminders,
    registry: Registry,
    rounds: Sequence[OpenRound],
    accepted: Callable[[OpenRound], Iterable[str]],
    *,
    day: dt.date,
    ledger: Path,
    dry_run: bool = False,
    eml_folder: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    log: Log = _silent,
) -> list[Result]:
    """Remind the divisions missing in ``rounds`` on ``day``; what became of each reminder.

    A dry run writes each mail as ``.eml`` under ``eml_folder`` and records nothing. Otherwise, under
    the ledger's mail lock (waiting no longer than ``mail_deadline_s``), today's reminders are recorded,
    then each pending one of today is claimed and sent. ``accepted`` is asked under the lock, so a
    division whose file was accepted meanwhile is not reminded.
    """
    check_templates(mail)
    sender = Envelope(
        sender=parse_address("mail_from", mail.sender) if mail.sender.strip() else None,
        to=(),
        cc=(),
        bcc=(),
    )
    if sender.sender is None:
        raise ConfigError("mail_from is not set (KPIBATCH_MAIL_FROM)")
    if dry_run:
        folder = eml_folder or ledger.parent / "reminders"
        return [_write_eml(r, mail, options, sender, folder) for r in due(registry, rounds, accepted, day)]
    for warning in check_smtp_settings(smtp):
        log(warning)
    deadline = time.monotonic() + mail.deadline_s
    with ReminderBook(ledger) as book:
        try:
            with mail_lock(ledger, deadline - time.monotonic()):
                if book.recover():
                    log("reminders: rows a stopped sender left were settled")
                found = due(registry, rounds, accepted, day)
                book.plan([r for r in found if r.contacts], rounds, day)
                nobody = [r for r in found if not r.contacts]
                results = [Result(r, "no-contact", "no contact in the registry") for r in nobody]
                asked = {(r.fiscal_year, r.round) for r in rounds}
                todo = [r for r in book.pending(day) if (r.round.fiscal_year, r.round.round) in asked]
                waiting = {(r.round.key, division_key(r.division)) for r in todo}
                results += [
                    Result(r, "already", "reminded today already")
                    for r in found
                    if r.contacts and (r.round.key, division_key(r.division)) not in waiting
                ]
                parts = (mail, smtp, options, sender)
                for reminder in todo:
                    results.append(_send_one(book, reminder, *parts, deadline, sleep, log))
                return results
        except MailLocked as exc:
            return [Result(r, "pending", str(exc)) for r in due(registry, rounds, accepted, day)]


def _write_eml(reminder: Reminder, mail: Mail, options: Reminders, sender: Envelope, folder: Path) -> Result:
    if not reminder.contacts:
        return Result(reminder, "no-contact", "no contact in the registry")
    msg, _ = message(reminder, mail, options.how_to_submit, sender)
    target = eml_path(folder, reminder)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = write_atomic(target, lambda tmp: tmp.write_bytes(msg.as_bytes()) and None)
    return Result(reminder, "written", eml=written)


def _send_one(
    book: ReminderBook,
    reminder: Reminder,
    mail: Mail,
    smtp: Smtp,
    options: Reminders,
    sender: Envelope,
    deadline: float,
    sleep: Callable[[float], None],
    log: Log,
) -> Result:
    if time.monotonic() >= deadline:
        return Result(reminder, "pending", "the mail step's deadline (mail_deadline_s) was reached")
    if not book.claim(reminder):
        return Result(reminder, "pending", "claimed by another sender")
    msg, env = message(reminder, mail, options.how_to_submit, sender)

    def retrying(error: MailError, delay: float) -> None:
        log(f"reminder {reminder.label}: {error}; retrying in {delay:g} s")

    try:
        result = send(
            msg,
            env,
            smtp,
            sleep=sleep,
            on_retry=retrying,
            deadline=deadline,
            on_message=lambda: book.message_started(reminder),
        )
    except MailError as exc:
        status = MAYBE_SENT if exc.maybe_sent else PENDING
        book.mark(reminder, status, attempts=exc.attempts, error=str(exc))
        return Result(reminder, "maybe_sent" if exc.maybe_sent else "pending", str(exc))
    refused = "; ".join(f"{rcpt} ({reply})" for rcpt, (_, reply) in result.refused.items())
    book.mark(reminder, SENT, attempts=result.attempts, error=f"refused: {refused}" if refused else None)
    return Result(reminder, "sent", f"to {', '.join(reminder.contacts)}")
