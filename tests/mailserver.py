"""Real SMTP servers on 127.0.0.1 for the mail tests (aiosmtpd), and a CA made up for each session.

``serve()`` starts a server in one of the three modes kpibatch speaks (plain, STARTTLS, implicit
TLS), optionally with AUTH, and with scripted replies to DATA (``451`` then ``250``...). What the
server received (messages, logins, how often DATA was tried) is in the returned ``Mailbox``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kpibatch.config import Settings

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Certificates:
    ca: Path
    """PEM of the CA that signed the server certificate (what ``smtp_cafile`` names)."""
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificates(folder: Path) -> Certificates:
    """A private CA and a server certificate for 127.0.0.1 and localhost, valid for a day."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kpibatch test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    certs = Certificates(ca=folder / "ca.pem", cert=folder / "server.pem", key=folder / "server.key")
    certs.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    certs.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certs.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return certs


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.data)  # type: ignore[return-value]


@dataclass
class Mailbox:
    """What one server saw; ``replies`` are answered to DATA in turn, then ``250``."""

    replies: list[str] = field(default_factory=list)
    messages: list[Received] = field(default_factory=list)
    data_attempts: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    """(mechanism, user, password) of every AUTH attempt, accepted or not."""
    user: str = ""
    password: str = ""
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_attempts += 1
        if self.replies:
            return self.replies.pop(0)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 2.0.0 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        self.logins.append((mechanism, user, password))
        return AuthResult(success=(user, password) == (self.user, self.password), handled=False)


def free_port() -> int:
    """A port nobody listens on right now (for the server, or for a server that is down)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(
    mode: str = "none",
    *,
    certs: Certificates | None = None,
    replies: list[str] | None = None,
    auth: tuple[str, str] | None = None,
    mechanisms: tuple[str, ...] = ("LOGIN", "PLAIN"),
    port: int | None = None,
) -> Iterator[Mailbox]:
    """Run an SMTP server on 127.0.0.1 for the ``with`` block.

    ``mode``: ``none`` (plain), ``starttls`` (plain, STARTTLS offered) or ``ssl`` (TLS from the first
    byte). With ``auth`` the server requires a login with that user and password.
    """
    box = Mailbox(replies=list(replies or []))
    kwargs: dict[str, Any] = {}
    if mode == "starttls":
        assert certs is not None
        kwargs["tls_context"] = certs.server_context()
    elif mode == "ssl":
        assert certs is not None
        kwargs["ssl_context"] = certs.server_context()
    if auth is not None:
        box.user, box.password = auth
        kwargs.update(
            authenticator=box.authenticate,
            auth_required=True,
            # aiosmtpd counts only STARTTLS as TLS; implicit TLS (ssl) is TLS from the first byte.
            auth_require_tls=mode == "starttls",
            auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN") if m not in mechanisms],
        )
    box.port = port or free_port()
    controller = Controller(box, hostname=HOST, port=box.port, **kwargs)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def mail_settings(box: Mailbox | None = None, **overrides: Any) -> Settings:
    """Settings that reach ``box`` (or a closed port), with retries that wait milliseconds."""
    values: dict[str, Any] = {
        "smtp_host": HOST,
        "smtp_port": box.port if box is not None else free_port(),
        "smtp_security": "none",
        "smtp_backoff": 0.01,
        "smtp_connect_timeout": 5.0,
        "smtp_timeout": 10.0,
        "mail_from": "kpibatch@planning.example.go.th",
        "mail_to": ("director@example.go.th",),
    }
    values.update(overrides)
    return dataclasses.replace(Settings(), **values)
