"""Sending over SMTP: verified TLS, login only over TLS, wall-clock deadlines, and retries with backoff.

``smtplib.starttls()`` and ``SMTP_SSL`` without a context accept any certificate, so a password
would go to whoever answers. Every TLS connection here uses ``ssl.create_default_context()`` (the
system's CAs, host name checked) plus the configured private CA; a certificate that does not verify,
or a server that does not offer STARTTLS when it is required, ends the attempt before ``AUTH``.
Connection errors and 4xx replies are retried (``smtp_retries`` times, the wait doubling from
``smtp_backoff``); a 5xx reply is final.

Deadlines. A socket timeout bounds one read, so a server that trickles its replies a byte at a time
keeps a session alive for as long as it likes. Each attempt therefore talks SMTP in a child process
that reports every step to this one before taking it (through the documented ``smtplib.connect`` and
``smtplib.send`` audit events), and this process ends the child when a step outlives its deadline:
the connection and greeting ``smtp_connect_timeout``, each command ``smtp_timeout``, the message text
``smtp_timeout`` plus ``smtp_data_timeout`` for the final reply (RFC 5321 4.5.3.2.6: ten minutes),
and the caller's overall deadline (``mail_deadline_s``). Ending a process is the one way to stop a
session that needs no private part of ``smtplib``: its ``sock`` and ``file`` attributes are not
documented, so their timeouts cannot be changed from outside, and a thread blocked in a read cannot be
stopped at all. The child also bounds what the socket timeout never did (the name lookup).

Exactly once. Once the message text (which ends with the final dot) is handed to the socket, an
outcome without a reply (a timeout, a dropped connection, a deadline) may still mean the server took
the mail: that is ``MaybeSent``, never retried here. ``on_message`` runs before the text leaves, so
the caller can record that point durably first.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import smtplib
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from kpibatch.config import ConfigError, Smtp
from kpibatch.errors import MailError

if TYPE_CHECKING:  # the session's child process imports this module: only what it needs
    from kpibatch.deliver.message import Envelope

SECURITY_MODES = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
START_S = 60.0
"""How long the child process may take to start (importing the modules it needs)."""
GO = "go"


class MaybeSent(MailError):
    """The message text went out and no final reply came back: the server may have the mail.

    Sending it again could deliver it twice, so it is not retried (``kpibatch send --resend``)."""

    maybe_sent = True

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


@dataclass(frozen=True)
class SendResult:
    attempts: int
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Recipients the server refused while accepting the others (address -> reply)."""


def security(smtp: Smtp) -> str:
    mode = smtp.security.strip().lower()
    if mode not in SECURITY_MODES:
        raise ConfigError(f"smtp_security: {smtp.security!r} is not one of {', '.join(SECURITY_MODES)}")
    return mode


def port(smtp: Smtp) -> int:
    return smtp.port or DEFAULT_PORTS[security(smtp)]


def tls_context(smtp: Smtp) -> ssl.SSLContext:
    """A verifying client context: the system's CAs, plus ``smtp_cafile`` when it is set."""
    context = ssl.create_default_context()
    if smtp.cafile is not None:
        try:
            context.load_verify_locations(cafile=str(smtp.cafile))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"smtp_cafile: cannot load {smtp.cafile}: {exc}") from exc
    return context


def check_smtp_settings(smtp: Smtp) -> list[str]:
    """Raise ``ConfigError`` for settings that cannot send safely; return warnings to print."""
    mode = security(smtp)
    if not smtp.host.strip():
        raise ConfigError("smtp_host is not set (KPIBATCH_SMTP_HOST)")
    if smtp.user and not smtp.password:
        raise ConfigError("smtp_user is set but smtp_password is empty (KPIBATCH_SMTP_PASSWORD)")
    if smtp.password and not smtp.user:
        raise ConfigError("smtp_password is set but smtp_user is empty (KPIBATCH_SMTP_USER)")
    if not (smtp.user.isascii() and smtp.password.isascii()):
        # smtplib encodes AUTH as ASCII; better to say so than to fail half-way through a login.
        raise ConfigError("smtp_user and smtp_password must be ASCII (a limit of Python's smtplib)")
    if smtp.retries < 0 or smtp.backoff < 0:
        raise ConfigError("smtp_retries and smtp_backoff cannot be negative")
    warnings = []
    if mode == "none" and smtp.user:
        if not smtp.allow_plaintext_login:
            raise ConfigError(
                "smtp_security = none would send the SMTP password unencrypted: use starttls or ssl, "
                "or set allow_plaintext_login = true if the network path is trusted"
            )
        warnings.append(
            "คำเตือน: รหัสผ่าน SMTP จะถูกส่งโดยไม่เข้ารหัส / warning: the SMTP password is sent "
            "unencrypted (smtp_security = none, allow_plaintext_login = true)"
        )
    if mode != "none":
        tls_context(smtp)
    return warnings


def _reply(code: int, text: bytes | str) -> str:
    body = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {body}".strip()


def classify(exc: BaseException, host: str) -> MailError:
    """What an exception from smtplib or the socket means for retrying."""
    if isinstance(exc, MailError):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailError(
            f"the certificate of {host} does not verify ({exc.verify_message}); nothing was sent and no "
            "password left this machine. Set smtp_cafile to the CA that signed the server's certificate",
            permanent=True,
        )
    if isinstance(exc, ssl.SSLError):
        return MailError(f"TLS with {host} failed: {exc}", permanent=True)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        replies = "; ".join(f"{rcpt}: {_reply(code, text)}" for rcpt, (code, text) in exc.recipients.items())
        transient = all(400 <= code < 500 for code in codes)
        return MailError(f"every recipient was refused: {replies}", permanent=not transient, code=max(codes))
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        transient = not 500 <= code < 600
        return MailError(
            f"{host} answered {_reply(code, exc.smtp_error)}", permanent=not transient, code=code
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return MailError(f"{host} closed the connection: {exc}", permanent=False)
    if isinstance(exc, smtplib.SMTPException):
        return MailError(f"{host}: {exc}", permanent=True)
    if isinstance(exc, OSError):
        return MailError(f"cannot reach {host}: {exc.strerror or exc}", permanent=False)
    raise exc


@dataclass(frozen=True)
class _Failure:
    """An attempt's error as the child reports it (exceptions of smtplib do not all pickle)."""

    message: str
    permanent: bool
    code: int | None
    replied: bool
    """The server answered with a reply code: the outcome is known even after the final dot."""


def _session(conn: Connection, msg: EmailMessage, sender: str, recipients: list[str], smtp: Smtp) -> None:
    """The child process: one SMTP session, each step announced to the parent before it is taken."""

    def announce(event: str, args: tuple[Any, ...]) -> None:
        if event == "smtplib.connect":
            conn.send(("step", "connect"))
        elif event == "smtplib.send":
            data = args[1]
            if isinstance(data, bytes) and data.endswith(b"\r\n.\r\n"):
                # The message text with its final dot: the parent records that before it leaves.
                conn.send(("step", "message"))
                if not conn.poll(START_S) or conn.recv() != GO:
                    raise MailError("the sending process did not confirm the message", permanent=False)
            else:
                conn.send(("step", "command"))

    sys.addaudithook(announce)
    host = smtp.host.strip()
    try:
        refused = _talk(msg, sender, recipients, smtp, lambda refused: conn.send(("sent", refused)))
    except Exception as exc:
        try:
            error = classify(exc, host)
        except Exception as unknown:  # a defect, not a mail outcome: say what it was
            error = MailError(f"{host}: {type(unknown).__name__}: {unknown}", permanent=False)
        replied = isinstance(exc, smtplib.SMTPResponseException)
        conn.send(("error", _Failure(str(error), error.permanent, error.code, replied)))
    else:
        conn.send(("done", refused))


def _talk(
    msg: EmailMessage,
    sender: str,
    recipients: list[str],
    smtp: Smtp,
    accepted: Callable[[dict], None],
) -> dict:
    mode = security(smtp)
    host = smtp.host.strip()
    context = tls_context(smtp) if mode != "none" else None
    # The socket timeout is only a backstop here; the parent's wall-clock deadlines are the limits.
    backstop = max(smtp.connect_timeout, smtp.timeout, smtp.data_timeout)
    client: smtplib.SMTP
    # Connecting in the constructor is what gives starttls() and SMTP_SSL the host name to check.
    if mode == "ssl":
        client = smtplib.SMTP_SSL(host, port(smtp), context=context, timeout=backstop)
    else:
        client = smtplib.SMTP(host, port(smtp), timeout=backstop)
    try:
        client.ehlo()
        if mode == "starttls":
            if not client.has_extn("starttls"):
                raise MailError(
                    f"{host} does not offer STARTTLS (smtp_security = starttls); nothing was sent and no "
                    "password left this machine",
                    permanent=True,
                )
            client.starttls(context=context)
            client.ehlo()
        if smtp.user:
            client.login(smtp.user, smtp.password)
        refused = client.send_message(msg, from_addr=sender, to_addrs=recipients)
        accepted(refused)
        # The server has the mail; a lost goodbye changes nothing.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
        return refused
    finally:
        client.close()


def _context() -> multiprocessing.context.BaseContext:
    # Not fork: the parent may run threads (a test's mail server, a progress bar), and a forked child
    # can inherit a lock one of them held.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _step_limits(smtp: Smtp) -> dict[str, float]:
    return {
        "start": START_S,
        "connect": smtp.connect_timeout,
        "command": smtp.timeout,
        "message": smtp.timeout + smtp.data_timeout,
    }


STEP_NAMES = {
    "start": "starting the mail process",
    "connect": "connecting and the greeting",
    "command": "a command",
    "message": "the message and its final reply",
}


def _attempt(
    msg: EmailMessage,
    env: Envelope,
    smtp: Smtp,
    deadline: float,
    on_message: Callable[[], None],
) -> dict:
    """One session in a child process, ended when a step or the whole attempt outlives its deadline."""
    assert env.sender is not None
    host = smtp.host.strip()
    limits = _step_limits(smtp)
    context = _context()
    conn, child_conn = context.Pipe()
    process = context.Process(
        target=_session,
        args=(child_conn, msg, env.sender.addr_spec, env.recipients, smtp),
        name="kpibatch-smtp",
        daemon=True,
    )
    process.start()
    child_conn.close()
    step = "start"
    step_ends = time.monotonic() + limits[step]
    refused: dict | None = None
    try:
        while True:
            limit = min(step_ends, deadline)
            remaining = limit - time.monotonic()
            if remaining <= 0 or not conn.poll(remaining):
                if refused is not None:  # only the goodbye is late
                    return refused
                raise _late(host, step, limits[step], overall=deadline <= step_ends)
            try:
                kind, value = conn.recv()
            except EOFError:
                if refused is not None:
                    return refused
                raise _lost(host, step) from None
            if kind == "step":
                step = value
                step_ends = time.monotonic() + limits[step]
                if step == "message":
                    on_message()
                    conn.send(GO)
            elif kind == "sent":
                refused = value
            elif kind == "done":
                return value
            else:
                failure: _Failure = value
                if step == "message" and not failure.replied:
                    raise MaybeSent(f"{failure.message}; the message had been sent, so {host} may have it")
                raise MailError(failure.message, permanent=failure.permanent, code=failure.code)
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        conn.close()


def _late(host: str, step: str, limit: float, *, overall: bool) -> MailError:
    what = (
        "the mail step's deadline (mail_deadline_s) was reached"
        if overall
        else f"{host} did not finish {STEP_NAMES[step]} within {limit:g} s"
    )
    if step == "message":
        return MaybeSent(f"{what} after the message was sent; {host} may have it")
    return MailError(f"{what}; nothing was sent", permanent=False)


def _lost(host: str, step: str) -> MailError:
    if step == "message":
        return MaybeSent(f"the mail process ended after the message was sent; {host} may have it")
    return MailError(f"the mail process ended while {STEP_NAMES[step]} with {host}", permanent=False)


def send(
    msg: EmailMessage,
    env: Envelope,
    smtp: Smtp,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[MailError, float], None] | None = None,
    deadline: float,
    on_message: Callable[[], None] | None = None,
) -> SendResult:
    """Deliver ``msg`` to every recipient of ``env``; raise ``MailError`` when it cannot be done.

    ``deadline`` is a ``time.monotonic()`` value no attempt or wait goes past (the mail step's:
    ``deliver.service.mail_deadline``, ``mail_deadline_s`` from its start); ``on_message`` runs each
    time, before the message text is sent.
    """
    delay = smtp.backoff
    attempts = 0
    while True:
        attempts += 1
        try:
            refused = _attempt(msg, env, smtp, deadline, on_message or (lambda: None))
        except MailError as error:
            error.attempts = attempts
            retry = not error.permanent and attempts <= smtp.retries
            if retry and time.monotonic() + delay >= deadline:
                error.args = (f"{error}; no retry: the mail step's deadline (mail_deadline_s) is near",)
                retry = False
            if not retry:
                raise
            if on_retry is not None:
                on_retry(error, delay)
            sleep(delay)
            delay *= 2
            continue
        return SendResult(
            attempts=attempts,
            refused={rcpt: (code, _reply(code, text)) for rcpt, (code, text) in refused.items()},
        )
