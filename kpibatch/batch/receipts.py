"""Receipts (issue 16 item 3): after each run, one mail per claimed submission to its division's
registry contacts, sent exactly once.

What each says: an accepted file its total, rank, every KPI's score, its warnings and its own summary
page as a PDF (when LibreOffice is installed); a rejected file every error with file, sheet, cell,
Thai and English text, how to fix it, and the round's deadline; a superseded or duplicate file which
submission now counts. The addresses are the registry's only (``kpibatch.registry``): nothing typed
inside a submitted file is ever an address, and a file whose division the registry does not list
gets no receipt (its row says so, and the run prints it).

The table ``receipts`` lives in the ledger file beside ``mail`` and follows the report mail's rules
(``kpibatch.deliver.outbox``, docs/decisions/0006): one row per (submission, kind), written with the
receipt's whole content *before* anything is sent; a sender claims a row (``pending`` -> ``sending``)
under the same ``mail_lock`` before it sends; a row a killed sender left ``sending`` is ``maybe_sent``
once its message text had started to go out, else ``pending`` again. A submission never gets a second
row, so a rerun after a kill sends only what was not delivered, and ``kpibatch send`` retries what is
pending.

Which submissions are due: every filed submission of the runs from the table's starting point on
(``receipts_meta.from_run``: the first run with receipts on, set before that run claims anything, and
moved past every run with receipts off) that has no row yet. So a run killed before it recorded its
receipts has them recorded by the next run, and switching receipts on never mails a division about
last year's files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email.policy
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TextIO

import jinja2

from kpibatch.batch.crash import crash_point
from kpibatch.batch.ledger import Ledger, SubmissionRow
from kpibatch.batch.paths import BatchPaths
from kpibatch.batch.rebuild import require_ledger
from kpibatch.config import ConfigError, Divisions, Mail, Paths, Printing, ReportStyle, Smtp
from kpibatch.consolidate import Group, competition_ranks
from kpibatch.deadlines import parse_deadlines
from kpibatch.deliver import outbox as ob
from kpibatch.deliver.claimed import CLAIM_COLUMNS, ClaimedTable, now_text
from kpibatch.deliver.message import Envelope, parse_address
from kpibatch.deliver.pdf import PdfFailed, PdfUnavailable, division_pdf, find_soffice
from kpibatch.deliver.render import environment, language, one_line
from kpibatch.deliver.smtp import MailError, check_smtp_settings, send
from kpibatch.fsutil import write_atomic
from kpibatch.registry import Registry, RegistryError, load_registry
from kpibatch.results import RecordUnreadable, record_outcome
from kpibatch.text import division_key

log = logging.getLogger("kpibatch.receipts")

ACCEPTED, REJECTED, SUPERSEDED, DUPLICATE = "accepted", "rejected", "superseded", "duplicate"
KINDS = (ACCEPTED, REJECTED, SUPERSEDED, DUPLICATE)
NO_CONTACT = "no_contact"
"""A submission whose division the registry does not list (or that names none): nothing to send."""
STATUSES = (ob.UNSENT, ob.PENDING, ob.SENT, ob.SENDING, ob.MAYBE_SENT, ob.FAILED, NO_CONTACT)
TEMPLATE_NAMES = ("receipt_subject.txt.j2", "receipt_body.txt.j2", "receipt_body.html.j2")
FOLDER = "receipts"
"""``OUT/receipts/``: each accepted division's receipt PDF, and a dry run's ``.eml`` files."""

TABLE = f"""
CREATE TABLE IF NOT EXISTS receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ({", ".join(f"'{k}'" for k in KINDS)})),
    run_id INTEGER,
    file_name TEXT NOT NULL,
    division TEXT,
    recipients TEXT NOT NULL DEFAULT '[]',
    content TEXT NOT NULL,
    attachment TEXT,
    status TEXT NOT NULL CHECK (status IN ({", ".join(f"'{s}'" for s in STATUSES)})),
{CLAIM_COLUMNS},
    UNIQUE (submission_id, kind)
);
CREATE INDEX IF NOT EXISTS receipts_status ON receipts (status);
CREATE TABLE IF NOT EXISTS receipts_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class ReceiptRow:
    id: int
    submission_id: int
    kind: str
    file_name: str
    division: str | None
    recipients: tuple[str, ...]
    content: dict[str, Any]
    attachment: Path | None
    status: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class NewReceipt:
    """A receipt about to be recorded: what it says and to whom (no one: ``NO_CONTACT``)."""

    submission_id: int
    kind: str
    file_name: str
    division: str | None
    recipients: tuple[str, ...]
    content: dict[str, Any]
    attachment: Path | None = None


class ReceiptBox(ClaimedTable):
    """The ``receipts`` table of one ledger file; use as a context manager."""

    table = "receipts"

    def _create(self) -> None:
        with self._transaction():
            for statement in TABLE.split(";"):
                if statement.strip():
                    self.db.execute(statement)

    def _start(self) -> int | None:
        found = self.db.execute("SELECT value FROM receipts_meta WHERE key = 'from_run'").fetchone()
        return int(found[0]) if found is not None else None

    def _set_start(self, value: int) -> None:
        self.db.execute(
            "INSERT INTO receipts_meta (key, value) VALUES ('from_run', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(value),),
        )

    def _next_run(self) -> int:
        return int(self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM runs").fetchone()[0])

    def begin(self) -> None:
        """Receipts are on from the next run: set the starting point (once per ledger) before a run
        claims anything, so the files of a run killed before it recorded its receipts get theirs."""
        with self._transaction():
            if self._start() is None:
                self._set_start(self._next_run())

    def skip_to_now(self) -> None:
        """Receipts are off: the files of the runs so far never get one, even if switched on later."""
        with self._transaction():
            self._set_start(self._next_run())

    def due(self, run_id: int) -> list[int]:
        """Filed submissions with no receipt yet: this run's, and any a killed run left without one
        (the runs from the starting point on; without one, from ``run_id``)."""
        with self._transaction():
            if self._start() is None:
                self._set_start(run_id)
        found = self.db.execute(
            "SELECT s.id FROM submissions s WHERE s.run_id >= ? AND s.filed_at IS NOT NULL"
            " AND s.status != 'missing'"
            " AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.submission_id = s.id) ORDER BY s.id",
            (self._start(),),
        )
        return [int(r[0]) for r in found.fetchall()]

    def add(
        self, receipts: Sequence[NewReceipt], *, status: str, run_id: int | None = None
    ) -> list[ReceiptRow]:
        """Record receipts in one transaction; one with no recipient is ``NO_CONTACT``. A submission
        that has a receipt already gets no second one."""
        now = now_text()
        ids = []
        with self._transaction():
            for r in receipts:
                cursor = self.db.execute(
                    "INSERT INTO receipts (submission_id, kind, run_id, file_name, division, recipients,"
                    " content, attachment, status, created_at, updated_at)"
                    " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
                    " WHERE NOT EXISTS (SELECT 1 FROM receipts WHERE submission_id = ?)",
                    (
                        r.submission_id,
                        r.kind,
                        run_id,
                        r.file_name,
                        r.division,
                        json.dumps(list(r.recipients)),
                        json.dumps(r.content, ensure_ascii=False),
                        str(r.attachment) if r.attachment is not None else None,
                        status if r.recipients else NO_CONTACT,
                        now,
                        now,
                        r.submission_id,
                    ),
                )
                if cursor.rowcount == 1:
                    ids.append(int(cursor.lastrowid or 0))
        return [self.get(i) for i in ids]

    def get(self, row_id: int) -> ReceiptRow:
        rows = self._rows("SELECT * FROM receipts WHERE id = ?", (row_id,))
        if not rows:
            raise LookupError(f"no receipt {row_id} in the ledger")
        return rows[0]

    def pending(self) -> list[ReceiptRow]:
        return self._rows("SELECT * FROM receipts WHERE status = ? ORDER BY id", (ob.PENDING,))

    def all(self) -> list[ReceiptRow]:
        return self._rows("SELECT * FROM receipts ORDER BY id", ())

    def recover(self) -> list[ReceiptRow]:
        """Settle receipts a killed sender left ``sending``; call only under ``mail_lock``."""
        now = now_text()
        with self._transaction():
            stale = self.db.execute(
                "SELECT id, message_at FROM receipts WHERE status = ? ORDER BY id", (ob.SENDING,)
            ).fetchall()
            for row in stale:
                status, note = (
                    (
                        ob.MAYBE_SENT,
                        "the sender was stopped after the message went out; the server may have it",
                    )
                    if row["message_at"]
                    else (ob.PENDING, "the sender was stopped before the message went out")
                )
                self.db.execute(
                    "UPDATE receipts SET status = ?, last_error = ?, updated_at = ? WHERE id = ?",
                    (status, note, now, row["id"]),
                )
        return [self.get(int(row["id"])) for row in stale]

    def resend(self, row_id: int) -> ReceiptRow:
        """``kpibatch send --resend-receipt ID``: pending again whatever it was (a maybe sent one)."""
        row = self.get(row_id)
        if row.status in (ob.SENDING, NO_CONTACT):
            raise LookupError(f"receipt {row_id} is {row.status}: it cannot be sent again now")
        now = now_text()
        with self._transaction():
            self.db.execute(
                "UPDATE receipts SET status = ?, updated_at = ? WHERE id = ?", (ob.PENDING, now, row_id)
            )
        return self.get(row_id)

    def _rows(self, sql: str, params: tuple) -> list[ReceiptRow]:
        return [
            ReceiptRow(
                id=r["id"],
                submission_id=r["submission_id"],
                kind=r["kind"],
                file_name=r["file_name"],
                division=r["division"],
                recipients=tuple(json.loads(r["recipients"])),
                content=json.loads(r["content"]),
                attachment=Path(r["attachment"]) if r["attachment"] else None,
                status=r["status"],
                attempts=r["attempts"],
                last_error=r["last_error"],
            )
            for r in self.db.execute(sql, params).fetchall()
        ]


def has_table(ledger: Path) -> bool:
    if not ledger.is_file():
        return False
    with contextlib.closing(sqlite3.connect(str(ledger))) as db:
        found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'receipts'")
        return found.fetchone() is not None


# --- what a receipt says ---------------------------------------------------------------------------


def registry_for(divisions: Divisions) -> Registry:
    """The registry receipts are addressed from; receipts without one are a configuration error."""
    if divisions.registry is None:
        raise ConfigError(
            "receipts = true ต้องมีทะเบียนหน่วยงาน ([divisions] registry) / receipts = true needs the "
            "division registry ([divisions] registry): receipts go only to the addresses it lists"
        )
    try:
        return load_registry(divisions.registry)
    except RegistryError as exc:
        raise ConfigError(f"setting divisions_registry: {exc}") from exc


@dataclass(frozen=True)
class Receipting:
    """The parts receipts need: the registry and deadlines (whom, by when), the mail and its server,
    the division's printed page, and the output folder and ledger."""

    mail: Mail
    smtp: Smtp
    divisions: Divisions
    printing: Printing
    style: ReportStyle
    paths: Paths


def prepare(settings: Receipting) -> None:
    """Before a run with receipts: the registry they are addressed from, the sender and the templates
    (raises ``ConfigError``)."""
    registry_for(settings.divisions)
    # The starting point goes into the ledger before the run claims anything. A missing ledger the
    # run would refuse (earlier output without one: ``kpibatch ledger rebuild``) is refused here.
    paths = BatchPaths.of(settings.paths)
    require_ledger(paths)
    with Ledger(paths.ledger), ReceiptBox(paths.ledger) as box:
        box.begin()
    if not settings.mail.sender.strip():
        raise ConfigError("receipts = true needs mail_from (KPIBATCH_MAIL_FROM)")
    parse_address("mail_from", settings.mail.sender)
    check_receipt_templates(settings.mail)


def check_receipt_templates(mail: Mail) -> None:
    env = environment(mail)
    lang = language(mail)
    for name in TEMPLATE_NAMES:
        try:
            env.get_template(f"{lang}/{name}")
        except jinja2.TemplateError as exc:
            raise ConfigError(f"mail template {lang}/{name}: {exc}") from exc


def _local(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _about(row: SubmissionRow) -> dict[str, Any]:
    """A submission as another receipt names it."""
    received = _local(row.received_at)
    return {"id": row.id, "file_name": row.file_name, "received": received, "status": row.status}


def kind_of(row: SubmissionRow) -> str:
    if row.status == "accepted":
        return SUPERSEDED if row.superseded_by is not None else ACCEPTED
    return DUPLICATE if row.status == "duplicate" else REJECTED


def _counting(ledger: Ledger, row: SubmissionRow) -> SubmissionRow | None:
    """The division's submission that counts now for the row's round (None: none is accepted)."""
    if row.group is None or row.division_key is None:
        return None
    current = [r for r in ledger.current(*row.group) if r.division_key == row.division_key]
    return current[0] if current else None


def _rank(out: Path, row: SubmissionRow) -> tuple[str, str]:
    """The division's rank in the round's report as written (``results.json``), and of how many."""
    try:
        text = (out / f"{row.fiscal_year}-r{row.round}" / "results.json").read_text("utf-8")
        data = json.loads(text, parse_float=Decimal)
    except (OSError, ValueError):
        return "-", "-"
    divisions = data.get("divisions", [])
    totals = [Decimal(str(d["total"])) if d.get("total") is not None else None for d in divisions]
    ranks = competition_ranks(totals)
    for d, rank in zip(divisions, ranks, strict=True):
        if division_key(d.get("division", "")) == row.division_key:
            return (str(rank) if rank is not None else "-"), str(len(divisions))
    return "-", str(len(divisions))


def _accepted_content(row: SubmissionRow, out: Path) -> dict[str, Any]:
    scores = json.loads(row.scores or "{}", parse_float=Decimal)
    rank, of = _rank(out, row)
    return {
        "total": str(scores.get("total")) if scores.get("total") is not None else "-",
        "rank": rank,
        "ranked_of": of,
        "kpis": [
            {
                "code": str(k.get("code", "")),
                "name": str(k.get("name", "")),
                "weight": str(k.get("weight")) if k.get("weight") is not None else "",
                "score": str(k.get("score")) if k.get("score") is not None else "-",
                "top": k.get("parent") is None,
            }
            for k in scores.get("kpis", [])
        ],
        "warnings": [str(w) for w in scores.get("warnings", [])],
    }


def _rejected_content(row: SubmissionRow, divisions: Divisions) -> dict[str, Any]:
    errors = [
        {
            "file": str(p.get("file") or row.file_name),
            "sheet": str(p.get("sheet") or ""),
            "cell": str(p.get("cell") or ""),
            "th": str(p.get("message_th") or p.get("message") or ""),
            "en": str(p.get("message_en") or ""),
            "fix_th": str(p.get("fix_th") or ""),
            "fix_en": str(p.get("fix_en") or ""),
        }
        for p in row.problem_dicts
        if p.get("severity", "error") == "error"
    ]
    deadline = parse_deadlines(divisions.deadlines).get(row.group) if row.group is not None else None
    return {"errors": errors, "deadline": deadline.isoformat() if deadline else ""}


def receipt_for(
    row: SubmissionRow, ledger: Ledger, registry: Registry, divisions: Divisions, out: Path
) -> NewReceipt:
    """What the receipt for ``row`` says, and the registry addresses it goes to (none: not listed)."""
    kind = kind_of(row)
    found = registry.match(row.division) if row.division else None
    content: dict[str, Any] = {
        "kind": kind,
        "submission": row.id,
        "file_name": row.file_name,
        "division": row.division or "",
        "registry_name": found.name if found is not None else "",
        "fiscal_year": str(row.fiscal_year or ""),
        "round": str(row.round or ""),
        "received": _local(row.received_at),
    }
    if kind == ACCEPTED:
        content.update(_accepted_content(row, out))
    elif kind == REJECTED:
        content.update(_rejected_content(row, divisions))
    else:
        counting = _counting(ledger, row)
        content["counting"] = _about(counting) if counting is not None else None
        if kind == DUPLICATE and row.duplicate_of is not None:
            content["original"] = _about(ledger.get(row.duplicate_of, lean=True))
    recipients = found.contacts if found is not None else ()
    return NewReceipt(row.id, kind, row.file_name, row.division, recipients, content)


def print_pdf(row: SubmissionRow, target: Path, style: ReportStyle, printing: Printing) -> Path:
    """The accepted division's own summary page(s), printed from its stored record."""
    if row.record is None:
        raise PdfFailed(f"submission #{row.id} has no stored record to print from")
    try:
        outcome = record_outcome(row.record, Path(row.location).with_name(row.file_name))
    except RecordUnreadable as exc:
        raise PdfFailed(f"submission #{row.id}: {exc}") from exc
    assert outcome.score is not None and row.group is not None
    group = Group(*row.group, divisions=[outcome.score])
    now = dt.datetime.now().astimezone()
    return division_pdf(group, outcome.score.division, target, style, printing, now)


# --- the mail --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedReceipt:
    subject: str
    text: str
    html: str


def render_receipt(content: dict[str, Any], mail: Mail) -> RenderedReceipt:
    env = environment(mail)
    lang = language(mail)
    parts = []
    for name in TEMPLATE_NAMES:
        try:
            parts.append(env.get_template(f"{lang}/{name}").render(r=content, lang=lang))
        except jinja2.TemplateError as exc:
            raise ConfigError(f"mail template {lang}/{name}: {exc}") from exc
    subject, text, html = parts
    return RenderedReceipt(one_line(subject), text, html)


def envelope_for(row: ReceiptRow, mail: Mail) -> Envelope:
    if not mail.sender.strip():
        raise ConfigError("mail_from is not set (KPIBATCH_MAIL_FROM)")
    to = tuple(parse_address("registry", a) for a in row.recipients)
    return Envelope(sender=parse_address("mail_from", mail.sender), to=to, cc=(), bcc=())


def message_id(row: ReceiptRow, env: Envelope) -> str:
    """The same for every try of one receipt, so a receiving system can drop a copy sent again."""
    digest = hashlib.sha256(f"{row.submission_id}:{row.kind}:{row.file_name}".encode()).hexdigest()[:24]
    domain = env.sender.domain if env.sender is not None else ""
    if not domain or not domain.isascii():
        domain = "kpibatch.invalid"
    return f"<kpibatch.receipt.{row.submission_id}.{row.kind}.{digest}@{domain}>"


def build_receipt(row: ReceiptRow, mail: Mail, env: Envelope) -> EmailMessage:
    """The receipt's mail; the subject is one line (``one_line``), and ``EmailMessage`` refuses a header
    with a line break besides, so no text of a division can add a header."""
    rendered = render_receipt(row.content, mail)
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = rendered.subject
    assert env.sender is not None
    msg["From"] = env.sender
    msg["To"] = env.to
    msg["Date"] = format_datetime(dt.datetime.now(dt.UTC).astimezone())
    msg["Message-ID"] = message_id(row, env)
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    if row.attachment is not None and row.attachment.is_file():
        msg.add_attachment(
            row.attachment.read_bytes(), maintype="application", subtype="pdf", filename=row.attachment.name
        )
    return msg


@dataclass(frozen=True)
class ReceiptDelivery:
    """What became of one receipt."""

    row_id: int
    file_name: str
    division: str | None
    outcome: str
    """``sent``, ``pending``, ``maybe_sent``, ``failed``, ``written`` (.eml) or ``no_contact``."""
    detail: str = ""
    eml: Path | None = None
    refused: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome in ("sent", "written", NO_CONTACT) and not self.refused


@dataclass
class ReceiptRun:
    deliveries: list[ReceiptDelivery] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(not d.ok for d in self.deliveries)


def eml_path(out: Path, row: ReceiptRow) -> Path:
    return out / FOLDER / f"{row.submission_id}-{row.kind}.eml"


def write_eml(row: ReceiptRow, out: Path, mail: Mail) -> ReceiptDelivery:
    msg = build_receipt(row, mail, envelope_for(row, mail))
    target = eml_path(out, row)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, lambda tmp: tmp.write_bytes(msg.as_bytes()) and None)
    return ReceiptDelivery(row.id, row.file_name, row.division, "written", eml=target)


def _send_one(
    box: ReceiptBox, row: ReceiptRow, settings: Receipting, deadline: float, sleep: Callable[[float], None]
) -> ReceiptDelivery:
    def done(outcome: str, detail: str = "", refused: tuple[str, ...] = ()) -> ReceiptDelivery:
        return ReceiptDelivery(row.id, row.file_name, row.division, outcome, detail, refused=refused)

    try:
        env = envelope_for(row, settings.mail)
        msg = build_receipt(row, settings.mail, env)
    except (ConfigError, OSError) as exc:
        box.mark(row, ob.PENDING, error=str(exc))
        return done("pending", f"not sent: {exc}")
    try:
        result = send(
            msg,
            env,
            settings.smtp,
            sleep=sleep,
            deadline=deadline,
            on_message=lambda: box.message_started(row),
        )
    except MailError as exc:
        status = ob.MAYBE_SENT if exc.maybe_sent else ob.PENDING
        box.mark(row, status, attempts=exc.attempts, error=str(exc))
        return done(status, str(exc))
    refused = tuple(f"{rcpt} ({reply})" for rcpt, (_, reply) in result.refused.items())
    # not pending even with refusals: sending again would give the others a second copy
    note = f"refused: {'; '.join(refused)}" if refused else None
    box.mark(row, ob.SENT, attempts=result.attempts, error=note)
    crash_point("receipted")
    return done("sent", f"to {len(env.recipients) - len(refused)} recipient(s)", refused)


def send_pending(
    settings: Receipting, box: ReceiptBox, *, deadline: float, sleep: Callable[[float], None] = time.sleep
) -> list[ReceiptDelivery]:
    """Send every pending receipt under the mail lock, claiming each first, until ``deadline``."""
    try:
        with ob.mail_lock(settings.paths.ledger_path, deadline - time.monotonic()):
            for row in box.recover():
                log.warning("receipt %s: %s; now %s", row.id, row.last_error, row.status)
            rows = box.pending()
            if rows:
                try:
                    for warning in check_smtp_settings(settings.smtp):
                        log.warning("%s", warning)
                except ConfigError as exc:
                    detail = f"not sent: {exc}"
                    return [ReceiptDelivery(r.id, r.file_name, r.division, "pending", detail) for r in rows]
            deliveries = []
            for row in rows:
                if time.monotonic() >= deadline:
                    detail = "not sent: the mail step's deadline (mail_deadline_s) was reached; pending"
                    deliveries.append(ReceiptDelivery(row.id, row.file_name, row.division, "pending", detail))
                elif box.claim(row):
                    deliveries.append(_send_one(box, row, settings, deadline, sleep))
            return deliveries
    except ob.MailLocked as exc:
        return [ReceiptDelivery(r.id, r.file_name, r.division, "pending", str(exc)) for r in box.pending()]


def after_run(
    run_id: int,
    settings: Receipting,
    *,
    dry_run: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> ReceiptRun:
    """Record a receipt for each submission due (this run's), then send every pending one.

    With receipts off, files received so far are marked as never to get one. A dry run records the
    receipts as ``unsent`` and writes each as ``OUT/receipts/<submission>-<kind>.eml``.
    """
    result = ReceiptRun()
    ledger_path = settings.paths.ledger_path
    if not settings.mail.receipts:
        if has_table(ledger_path):
            with ReceiptBox(ledger_path) as box:
                box.skip_to_now()
        return result
    registry = registry_for(settings.divisions)
    out = settings.paths.out
    with ReceiptBox(ledger_path) as box, Ledger(ledger_path) as ledger:
        made = []
        soffice = find_soffice()
        for submission_id in box.due(run_id):
            row = ledger.get(submission_id)
            receipt = receipt_for(row, ledger, registry, settings.divisions, out)
            if receipt.kind == ACCEPTED and receipt.recipients:
                if soffice is None:
                    log.warning("receipt for %s: LibreOffice is not installed; no PDF", row.file_name)
                    result.notes.append(
                        f"receipt for {row.file_name}: LibreOffice is not installed; sent without the PDF"
                    )
                else:
                    target = out / FOLDER / f"{row.fiscal_year}-r{row.round}-{row.id}.pdf"
                    try:
                        receipt = _with_attachment(
                            receipt, print_pdf(row, target, settings.style, settings.printing)
                        )
                    except (PdfFailed, PdfUnavailable, KeyError) as exc:
                        result.notes.append(f"receipt for {row.file_name}: sent without its PDF: {exc}")
            made.append(receipt)
        added = box.add(made, status=ob.UNSENT if dry_run else ob.PENDING, run_id=run_id)
        for row in added:
            if row.status == NO_CONTACT:
                why = (
                    f"division {row.division!r} is not in the registry"
                    if row.division
                    else "the file names no division that could be read"
                )
                log.warning("no receipt for %s: %s", row.file_name, why)
                result.deliveries.append(
                    ReceiptDelivery(row.id, row.file_name, row.division, NO_CONTACT, why)
                )
            elif dry_run:
                result.deliveries.append(write_eml(row, out, settings.mail))
        if not dry_run:
            # the mail step's deadline counts from here: printing the PDFs is not sending
            deadline = time.monotonic() + settings.mail.deadline_s
            result.deliveries += send_pending(settings, box, deadline=deadline, sleep=sleep)
    return result


def _with_attachment(receipt: NewReceipt, pdf: Path) -> NewReceipt:
    return dataclasses.replace(receipt, attachment=pdf, content={**receipt.content, "pdf": pdf.name})


def send_later(
    settings: Receipting,
    *,
    resend: Sequence[int] = (),
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> list[ReceiptDelivery]:
    """``kpibatch send``: every pending receipt (``resend``: these rows, a maybe sent one included)."""
    if not has_table(settings.paths.ledger_path):
        if resend:
            raise LookupError(f"no receipts in {settings.paths.ledger_path}")
        return []
    with ReceiptBox(settings.paths.ledger_path) as box:
        chosen = [box.get(i) for i in resend]
        if dry_run:
            rows = chosen or box.pending()
            return [write_eml(row, settings.paths.out, settings.mail) for row in rows]
        for row in chosen:
            box.resend(row.id)
        return send_pending(settings, box, deadline=time.monotonic() + settings.mail.deadline_s, sleep=sleep)


def print_receipts(deliveries: Sequence[ReceiptDelivery], out: TextIO) -> None:
    for d in deliveries:
        who = d.division or "-"
        if d.outcome == "written":
            print(f"receipt written (not sent): {d.eml}", file=out)
        elif d.outcome == "sent":
            print(f"ส่งใบรับแล้ว / receipt sent: {d.file_name} ({who}) {d.detail}", file=out)
            for refused in d.refused:
                print(f"  ผู้รับถูกปฏิเสธ / recipient refused: {refused}", file=out)
        elif d.outcome == NO_CONTACT:
            print(f"ไม่มีใบรับ / no receipt: {d.file_name}: {d.detail}", file=out)
        elif d.outcome == ob.MAYBE_SENT:
            print(
                f"ไม่ทราบผลการส่งใบรับ / receipt MAYBE sent: {d.file_name} ({who}): {d.detail}\n"
                f"  not sent again automatically; `kpibatch send --resend-receipt {d.row_id}` sends it again",
                file=out,
            )
        else:
            print(
                f"ส่งใบรับไม่สำเร็จ / receipt NOT sent: {d.file_name} ({who}): {d.detail}\n"
                "  it is pending; `kpibatch send` or the next run retries it",
                file=out,
            )
