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
import threading
import time
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


class ScriptedServer:
    """A hand-written SMTP server on 127.0.0.1 that misbehaves on purpose, one thread per connection.

    ``trickle``: ``"greeting"`` or ``"ehlo"`` sends that reply one byte every ``interval`` seconds and
    never ends it (until ``limit`` seconds, when it gives up and closes). ``final``: what follows the
    message's final dot: ``"ok"`` (250), ``"late"`` (250 after ``delay`` seconds), ``"stall"`` (no
    reply until the client leaves) or ``"drop"`` (the connection is closed). ``messages`` holds every
    message text received in full; ``hung_up`` is set when the client left while the server was still
    trickling or holding back a reply, ``gave_up`` when the server ran out of patience first.
    """

    def __init__(
        self,
        *,
        trickle: str | None = None,
        final: str = "ok",
        delay: float = 0.0,
        interval: float = 0.1,
        limit: float = 8.0,
    ) -> None:
        self.trickle, self.final, self.delay = trickle, final, delay
        self.interval, self.limit = interval, limit
        self.messages: list[bytes] = []
        self.hung_up = threading.Event()
        self.gave_up = threading.Event()
        self.stop = threading.Event()
        self.sock = socket.create_server((HOST, 0))
        self.port = int(self.sock.getsockname()[1])
        self.threads: list[threading.Thread] = []
        self.accepter = threading.Thread(target=self._accept, daemon=True)
        self.accepter.start()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.accepter.join()
        for thread in self.threads:
            thread.join(timeout=5)
        self.sock.close()

    def message_ids(self) -> list[str]:
        parse = BytesParser(policy=policy.default).parsebytes
        return [str(parse(m)["Message-ID"]).strip() for m in self.messages]

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(self.limit)
        with conn:
            try:
                self._talk(conn)
            except (BrokenPipeError, ConnectionResetError):
                self.hung_up.set()
            except OSError:  # our own read timed out (limit): the client neither spoke nor left
                self.gave_up.set()

    def _drip_forever(self, conn: socket.socket, start: bytes) -> None:
        ends = time.monotonic() + self.limit
        for byte in iter_bytes(start):
            conn.sendall(byte)
            if self.stop.wait(self.interval):
                return
        while time.monotonic() < ends:
            conn.sendall(b"x")  # a line that never ends
            if self.stop.wait(self.interval):
                return
        self.gave_up.set()

    def _wait_for_hang_up(self, conn: socket.socket) -> None:
        import time

        conn.settimeout(0.1)
        ends = time.monotonic() + self.limit
        while time.monotonic() < ends and not self.stop.is_set():
            try:
                if conn.recv(1024) == b"":
                    self.hung_up.set()
                    return
            except TimeoutError:
                continue
        self.gave_up.set()

    def _talk(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        if self.trickle == "greeting":
            self._drip_forever(conn, b"220 ")
            return
        conn.sendall(b"220 scripted.example ESMTP\r\n")
        while True:
            line = reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                if self.trickle == "ehlo":
                    self._drip_forever(conn, b"250-")
                    return
                conn.sendall(b"250-scripted.example\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 end with <CRLF>.<CRLF>\r\n")
                body: list[bytes] = []
                while (text := reader.readline()) not in (b".\r\n", b""):
                    body.append(text[1:] if text.startswith(b"..") else text)
                if not text:
                    return
                self.messages.append(b"".join(body))
                if self.final == "drop":
                    return
                if self.final == "stall":
                    self._wait_for_hang_up(conn)
                    return
                if self.final == "late" and self.stop.wait(self.delay):
                    return
                conn.sendall(b"250 2.0.0 queued\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 2.0.0 bye\r\n")
                return
            else:
                conn.sendall(b"250 2.0.0 OK\r\n")


def iter_bytes(data: bytes) -> Iterator[bytes]:
    return (data[i : i + 1] for i in range(len(data)))
