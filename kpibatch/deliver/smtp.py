"""Sending over SMTP: verified TLS, login only over TLS, timeouts, and retries with backoff.

``smtplib.starttls()`` and ``SMTP_SSL`` without a context accept any certificate, so a password
would go to whoever answers. Every TLS connection here uses ``ssl.create_default_context()`` (the
system's CAs, host name checked) plus the configured private CA; a certificate that does not verify,
or a server that does not offer STARTTLS when it is required, ends the attempt before ``AUTH``.
Connection errors and 4xx replies are retried (``smtp_retries`` times, the wait doubling from
``smtp_backoff``); a 5xx reply is final.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from kpibatch.config import ConfigError, Settings
from kpibatch.deliver.message import Envelope

SECURITY_MODES = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class MailError(Exception):
    """The mail was not delivered. ``permanent`` errors are not retried."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.attempts = 0


@dataclass(frozen=True)
class SendResult:
    attempts: int
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Recipients the server refused while accepting the others (address -> reply)."""


def security(settings: Settings) -> str:
    mode = settings.smtp_security.strip().lower()
    if mode not in SECURITY_MODES:
        raise ConfigError(
            f"smtp_security: {settings.smtp_security!r} is not one of {', '.join(SECURITY_MODES)}"
        )
    return mode


def port(settings: Settings) -> int:
    return settings.smtp_port or DEFAULT_PORTS[security(settings)]


def tls_context(settings: Settings) -> ssl.SSLContext:
    """A verifying client context: the system's CAs, plus ``smtp_cafile`` when it is set."""
    context = ssl.create_default_context()
    if settings.smtp_cafile is not None:
        try:
            context.load_verify_locations(cafile=str(settings.smtp_cafile))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"smtp_cafile: cannot load {settings.smtp_cafile}: {exc}") from exc
    return context


def check_smtp_settings(settings: Settings) -> list[str]:
    """Raise ``ConfigError`` for settings that cannot send safely; return warnings to print."""
    mode = security(settings)
    if not settings.smtp_host.strip():
        raise ConfigError("smtp_host is not set (KPIBATCH_SMTP_HOST)")
    if settings.smtp_user and not settings.smtp_password:
        raise ConfigError("smtp_user is set but smtp_password is empty (KPIBATCH_SMTP_PASSWORD)")
    if settings.smtp_password and not settings.smtp_user:
        raise ConfigError("smtp_password is set but smtp_user is empty (KPIBATCH_SMTP_USER)")
    if not (settings.smtp_user.isascii() and settings.smtp_password.isascii()):
        # smtplib encodes AUTH as ASCII; better to say so than to fail half-way through a login.
        raise ConfigError("smtp_user and smtp_password must be ASCII (a limit of Python's smtplib)")
    if settings.smtp_retries < 0 or settings.smtp_backoff < 0:
        raise ConfigError("smtp_retries and smtp_backoff cannot be negative")
    warnings = []
    if mode == "none" and settings.smtp_user:
        if not settings.allow_plaintext_login:
            raise ConfigError(
                "smtp_security = none would send the SMTP password unencrypted: use starttls or ssl, "
                "or set allow_plaintext_login = true if the network path is trusted"
            )
        warnings.append(
            "คำเตือน: รหัสผ่าน SMTP จะถูกส่งโดยไม่เข้ารหัส / warning: the SMTP password is sent "
            "unencrypted (smtp_security = none, allow_plaintext_login = true)"
        )
    if mode != "none":
        tls_context(settings)
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


def _attempt(msg: EmailMessage, env: Envelope, settings: Settings, context: ssl.SSLContext | None) -> dict:
    mode = security(settings)
    host = settings.smtp_host.strip()
    client: smtplib.SMTP
    # Connecting in the constructor is what gives starttls() and SMTP_SSL the host name to check.
    if mode == "ssl":
        client = smtplib.SMTP_SSL(
            host, port(settings), context=context, timeout=settings.smtp_connect_timeout
        )
    else:
        client = smtplib.SMTP(host, port(settings), timeout=settings.smtp_connect_timeout)
    try:
        if client.sock is not None:
            # The connect timeout covers reaching the server; commands (DATA with a large
            # attachment) get their own.
            client.sock.settimeout(settings.smtp_timeout)
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
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password)
        assert env.sender is not None
        refused = client.send_message(msg, from_addr=env.sender.addr_spec, to_addrs=env.recipients)
        # The server has the mail; a lost goodbye changes nothing.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
        return refused
    finally:
        client.close()


def send(
    msg: EmailMessage,
    env: Envelope,
    settings: Settings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[MailError, float], None] | None = None,
) -> SendResult:
    """Deliver ``msg`` to every recipient of ``env``; raise ``MailError`` when it cannot be done."""
    context = tls_context(settings) if security(settings) != "none" else None
    delay = settings.smtp_backoff
    attempts = 0
    while True:
        attempts += 1
        try:
            refused = _attempt(msg, env, settings, context)
        except (MailError, smtplib.SMTPException, OSError) as exc:
            error = classify(exc, settings.smtp_host)
            error.attempts = attempts
            if error.permanent or attempts > settings.smtp_retries:
                if error is exc:
                    raise
                raise error from exc
            if on_retry is not None:
                on_retry(error, delay)
            sleep(delay)
            delay *= 2
            continue
        return SendResult(
            attempts=attempts,
            refused={rcpt: (code, _reply(code, text)) for rcpt, (code, text) in refused.items()},
        )
