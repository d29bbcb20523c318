"""Delivery as the commands use it: after a run, on ``kpibatch send``, and as ``.eml`` for a dry run.

Every workbook of a run gets a row in the outbox before anything is sent, so a crash or a mail
server that is down leaves the mail pending rather than forgotten; each send claims its row first
and updates it after. The whole mail step (waiting for another sender's lock included) ends by
``mail_deadline_s``: what is not sent by then stays pending for the next run or ``kpibatch send``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from kpibatch.config import ConfigError, Settings
from kpibatch.deliver import outbox as ob
from kpibatch.deliver.message import Envelope, build_message, envelope, report_message_id
from kpibatch.deliver.render import check_templates, render
from kpibatch.deliver.report import expected_of, summarize
from kpibatch.deliver.smtp import MailError, check_smtp_settings, send
from kpibatch.deliver.summary import SummaryError, group_key, load_results
from kpibatch.fsutil import write_atomic

Log = Callable[[str], None]
Outcome = Literal["sent", "pending", "failed", "written", "maybe_sent"]


def _silent(_: str) -> None:
    pass


@dataclass(frozen=True)
class Delivery:
    """What became of one workbook's mail."""

    workbook: Path
    outcome: Outcome
    """``sent``, ``pending`` (will be retried), ``failed`` (cannot be sent), ``written`` (.eml) or
    ``maybe_sent`` (the server may have it; not retried without ``kpibatch send --resend``)."""
    detail: str = ""
    attempts: int = 0
    eml: Path | None = None
    refused: tuple[str, ...] = ()
    row_id: int | None = None
    """The outbox row (what ``kpibatch send --resend`` takes)."""

    @property
    def ok(self) -> bool:
        return self.outcome in ("sent", "written") and not self.refused


@dataclass
class MailRun:
    run_id: int | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(not d.ok for d in self.deliveries)


def prepare(settings: Settings, *, email: bool, dry_run: bool) -> list[str]:
    """Check templates and, when mail is asked for, the mail settings, before any work is done.

    A dry run makes every check a real send makes; it only does not connect. Raises ``ConfigError``;
    returns warnings to print (a login over an unencrypted connection).
    """
    check_templates(settings.mail)
    if email or dry_run:
        envelope(settings.mail)
        return check_smtp_settings(settings.smtp)
    return []


def message_for(workbook: Path, settings: Settings, env: Envelope) -> EmailMessage:
    results = load_results(workbook)
    summary = summarize(results, workbook, settings.style, expected_of(results, settings.divisions))
    return build_message(
        render(summary, settings.mail), workbook, env, message_id=report_message_id(results, env)
    )


def eml_path(workbook: Path) -> Path:
    return workbook.with_suffix(".eml")


def write_eml(workbook: Path, settings: Settings) -> Delivery:
    """The mail as it would be sent, written beside the workbook instead of being sent."""
    msg = message_for(workbook, settings, envelope(settings.mail))
    target = write_atomic(eml_path(workbook), lambda tmp: tmp.write_bytes(msg.as_bytes()) and None)
    return Delivery(workbook=workbook, outcome="written", eml=target)


def mail_deadline(settings: Settings) -> float:
    """The ``time.monotonic()`` value by which a mail step starting now ends."""
    return time.monotonic() + settings.mail_deadline_s


class Sender:
    """Claims outbox rows one by one, sends them and records what happened to each."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        log: Log = _silent,
        deadline: float | None = None,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        self.log = log
        self.deadline = mail_deadline(settings) if deadline is None else deadline

    def send_rows(self, outbox: ob.Outbox, rows: Sequence[ob.MailRow]) -> list[Delivery]:
        if not rows:
            return []
        try:
            env = envelope(self.settings.mail)
            for warning in check_smtp_settings(self.settings.smtp):
                self.log(warning)
        except ConfigError as exc:
            # Mail left pending by an earlier run, and this one has no usable mail settings.
            return [Delivery(row.workbook, "pending", f"not sent: {exc}", row_id=row.id) for row in rows]
        deliveries = []
        for row in rows:
            if time.monotonic() >= self.deadline:
                detail = (
                    f"not sent: the mail step's deadline (mail_deadline_s = {self.settings.mail_deadline_s:g}"
                    " s) was reached; it stays pending"
                )
                deliveries.append(Delivery(row.workbook, "pending", detail, row_id=row.id))
            elif outbox.claim(row):
                deliveries.append(self._send_row(outbox, row, env))
            # else another sender took it between the listing and the claim, and reports it
        return deliveries

    def _send_row(self, outbox: ob.Outbox, row: ob.MailRow, env: Envelope) -> Delivery:
        try:
            msg = message_for(row.workbook, self.settings, env)
        except (SummaryError, OSError) as exc:
            detail = f"workbook cannot be read: {exc}"
            outbox.mark(row, ob.FAILED, error=detail)
            return Delivery(row.workbook, "failed", detail, row_id=row.id)

        def retrying(error: MailError, delay: float) -> None:
            self.log(f"mail: {row.workbook.name}: {error}; retrying in {delay:g} s")

        try:
            result = send(
                msg,
                env,
                self.settings.smtp,
                sleep=self.sleep,
                on_retry=retrying,
                deadline=self.deadline,
                on_message=lambda: outbox.message_started(row),
            )
        except MailError as exc:
            if exc.maybe_sent:
                outbox.mark(row, ob.MAYBE_SENT, attempts=exc.attempts, error=str(exc))
                return Delivery(row.workbook, "maybe_sent", str(exc), attempts=exc.attempts, row_id=row.id)
            outbox.mark(row, ob.PENDING, attempts=exc.attempts, error=str(exc))
            return Delivery(row.workbook, "pending", str(exc), attempts=exc.attempts, row_id=row.id)
        refused = tuple(f"{rcpt} ({reply})" for rcpt, (_, reply) in result.refused.items())
        note = f"refused: {'; '.join(refused)}" if refused else None
        # Not pending even with refusals: sending again would duplicate the mail for the others.
        outbox.mark(row, ob.SENT, attempts=result.attempts, error=note)
        detail = f"to {len(env.recipients) - len(refused)} recipient(s)"
        return Delivery(
            row.workbook, "sent", detail, attempts=result.attempts, refused=refused, row_id=row.id
        )


def send_locked(
    settings: Settings,
    outbox: ob.Outbox,
    rows_of: Callable[[], Sequence[ob.MailRow]],
    *,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
    log: Log = _silent,
) -> list[Delivery]:
    """Send the rows ``rows_of`` lists under the mail lock, waiting for it no longer than ``deadline``."""
    try:
        with ob.mail_lock(settings.ledger_path, deadline - time.monotonic()):
            for row in outbox.recover():
                log(f"mail {row.id}: {row.workbook.name}: {row.last_error}; now {row.status}")
            return Sender(settings, sleep=sleep, log=log, deadline=deadline).send_rows(outbox, rows_of())
    except ob.MailLocked as exc:
        return [Delivery(row.workbook, "pending", str(exc), row_id=row.id) for row in rows_of()]


def after_run(
    workbooks: Sequence[tuple[str, Path]],
    settings: Settings,
    *,
    email: bool,
    dry_run: bool,
    sleep: Callable[[float], None] = time.sleep,
    log: Log = _silent,
    run_id: int | None = None,
) -> MailRun:
    """Record the run's workbooks in the outbox, then send them and any mail left pending before.

    Without ``email`` the workbooks are recorded as ``unsent`` (``kpibatch send --run`` can send them
    later) and only earlier pending mail is retried; a dry run writes ``.eml`` files instead. The
    sending ends by ``mail_deadline_s`` from the start of this step.
    """
    wanted = email and not dry_run
    mail_run = MailRun()
    try:
        outbox = ob.Outbox(settings.ledger_path)
    except (sqlite3.Error, OSError) as exc:
        if wanted:
            raise
        mail_run.notes.append(f"mail outbox {settings.ledger_path} not available: {exc}")
        outbox = None
    if dry_run:
        mail_run.deliveries = [write_eml(workbook, settings) for _, workbook in workbooks]
    if outbox is None:
        return mail_run
    deadline = mail_deadline(settings)
    with outbox:
        mail_run.run_id = outbox.record_run(workbooks, ob.PENDING if wanted else ob.UNSENT, run_id)
        if not dry_run:
            mail_run.deliveries = send_locked(
                settings, outbox, outbox.pending, deadline=deadline, sleep=sleep, log=log
            )
    return mail_run


def send_later(
    settings: Settings,
    *,
    run_id: int | None = None,
    files: Sequence[Path] = (),
    resend: Sequence[int] = (),
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    log: Log = _silent,
) -> list[Delivery]:
    """``kpibatch send``: the given workbooks, the workbooks of a run, the given outbox rows
    (``resend``, whatever their status, a ``maybe_sent`` one included), or else every pending mail.

    Raises ``LookupError`` for a run with no workbooks or an unknown row, and ``SummaryError`` for a
    file that is not a kpibatch workbook.
    """
    deadline = mail_deadline(settings)
    keys = [(_group_key(path), path) for path in files]
    with ob.Outbox(settings.ledger_path) as outbox:
        rows: list[ob.MailRow] = []
        if run_id is not None:
            rows = outbox.for_run(run_id)
            if not rows:
                raise LookupError(f"no workbooks recorded for run {run_id} in {settings.ledger_path}")
        elif resend:
            rows = [outbox.get_or_raise(row_id) for row_id in resend]
        if dry_run:
            listed = rows or outbox.pending()
            paths = [path for _, path in keys] if files else [row.workbook for row in listed]
            return [write_eml(path, settings) for path in paths]
        if files:
            rows = [outbox.add(key, path) for key, path in keys]
        elif run_id is not None:
            outbox.requeue(rows)
        elif resend:
            rows = [outbox.resend(row.id) for row in rows]
        chosen = [row.id for row in rows]

        def rows_of() -> list[ob.MailRow]:
            if not chosen:
                return outbox.pending()
            return [row for row in (outbox.get(row_id) for row_id in chosen) if row.status == ob.PENDING]

        return send_locked(settings, outbox, rows_of, deadline=deadline, sleep=sleep, log=log)


def _group_key(workbook: Path) -> str:
    if not workbook.is_file():
        raise SummaryError(f"workbook not found: {workbook}")
    return group_key(load_results(workbook))
