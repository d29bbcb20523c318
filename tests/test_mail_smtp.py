"""Sending against real SMTP servers on 127.0.0.1: plain, STARTTLS and SSL, login, retries, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from mailserver import Certificates, mail_settings, make_certificates, serve

from kpibatch.config import ConfigError, load_settings
from kpibatch.deliver.message import envelope
from kpibatch.deliver.service import mail_deadline, message_for
from kpibatch.deliver.smtp import MailError, check_smtp_settings, send
from kpibatch.pipeline import GroupOutput, inbox_files, run_batch

PASSWORD = "s3cret-P@ss w0rd"

# aiosmtpd warns about its own AUTH-without-STARTTLS setup, which the SSL and plain-login tests need.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> GroupOutput:
    from conftest import EXAMPLES

    out = tmp_path_factory.mktemp("out")
    report = run_batch(inbox_files(EXAMPLES), out, mail_settings())
    return report.outputs[0]


def deliver(output: GroupOutput, settings) -> int:
    env = envelope(settings.mail)
    return send(
        message_for(output.workbook, settings, env), env, settings.smtp, deadline=mail_deadline(settings)
    ).attempts


def test_plain_server_gets_one_message_for_every_recipient(output: GroupOutput) -> None:
    with serve("none") as box:
        settings = mail_settings(
            box,
            mail_to=("director@example.go.th", "ผู้อำนวยการ <deputy@example.go.th>"),
            mail_cc=("planning@example.go.th",),
            mail_bcc=("archive@example.go.th", "DIRECTOR@example.go.th"),
        )
        assert deliver(output, settings) == 1
    assert len(box.messages) == 1
    received = box.messages[0]
    assert received.mail_from == "kpibatch@planning.example.go.th"
    assert received.rcpt_tos == [
        "director@example.go.th",
        "deputy@example.go.th",
        "planning@example.go.th",
        "archive@example.go.th",
    ]
    assert b"archive@example.go.th" not in received.data  # Bcc stays in the envelope
    assert received.message["Cc"] == "planning@example.go.th"


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_starttls_with_the_ca_file_logs_in_with_the_password_from_the_environment(
    output: GroupOutput, certs: Certificates, mechanism: str
) -> None:
    with serve("starttls", certs=certs, auth=("kpi-bot", PASSWORD), mechanisms=(mechanism,)) as box:
        environ = {
            "KPIBATCH_SMTP_HOST": "127.0.0.1",
            "KPIBATCH_SMTP_PORT": str(box.port),
            "KPIBATCH_SMTP_SECURITY": "starttls",
            "KPIBATCH_SMTP_CAFILE": str(certs.ca),
            "KPIBATCH_SMTP_USER": "kpi-bot",
            "KPIBATCH_SMTP_PASSWORD": PASSWORD,
            "KPIBATCH_MAIL_FROM": "kpibatch@planning.example.go.th",
            "KPIBATCH_MAIL_TO": "director@example.go.th",
        }
        settings = load_settings(environ=environ, cwd=output.folder)
        assert deliver(output, settings) == 1
    assert box.logins == [(mechanism, "kpi-bot", PASSWORD)]
    assert len(box.messages) == 1


def test_ssl_with_the_ca_file_delivers(output: GroupOutput, certs: Certificates) -> None:
    with serve("ssl", certs=certs, auth=("kpi-bot", PASSWORD)) as box:
        settings = mail_settings(
            box, smtp_security="ssl", smtp_cafile=certs.ca, smtp_user="kpi-bot", smtp_password=PASSWORD
        )
        assert deliver(output, settings) == 1
    assert [login[1:] for login in box.logins] == [("kpi-bot", PASSWORD)]
    assert len(box.messages) == 1


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_a_certificate_that_does_not_verify_stops_before_the_password(
    output: GroupOutput, certs: Certificates, mode: str
) -> None:
    with serve(mode, certs=certs, auth=("kpi-bot", PASSWORD)) as box:
        settings = mail_settings(box, smtp_security=mode, smtp_user="kpi-bot", smtp_password=PASSWORD)
        with pytest.raises(MailError, match="does not verify") as caught:
            deliver(output, settings)
    assert caught.value.permanent and caught.value.attempts == 1
    assert box.logins == [] and box.messages == []
    assert PASSWORD not in str(caught.value)


def test_a_server_without_starttls_gets_no_password(output: GroupOutput, certs: Certificates) -> None:
    with serve("none", auth=("kpi-bot", PASSWORD)) as box:
        settings = mail_settings(
            box, smtp_security="starttls", smtp_cafile=certs.ca, smtp_user="kpi-bot", smtp_password=PASSWORD
        )
        with pytest.raises(MailError, match="does not offer STARTTLS"):
            deliver(output, settings)
    assert box.logins == [] and box.messages == []


def test_login_over_plain_smtp_needs_an_explicit_setting_and_warns(output: GroupOutput) -> None:
    settings = mail_settings(smtp_user="kpi-bot", smtp_password=PASSWORD)
    with pytest.raises(ConfigError, match="allow_plaintext_login"):
        check_smtp_settings(settings.smtp)
    with serve("none", auth=("kpi-bot", PASSWORD)) as box:
        allowed = mail_settings(box, smtp_user="kpi-bot", smtp_password=PASSWORD, allow_plaintext_login=True)
        warnings = check_smtp_settings(allowed.smtp)
        assert deliver(output, allowed) == 1
    assert len(warnings) == 1 and "unencrypted" in warnings[0] and PASSWORD not in warnings[0]
    assert len(box.messages) == 1


def test_451_then_250_is_delivered_on_retry(output: GroupOutput) -> None:
    with serve("none", replies=["451 4.3.0 Mailbox temporarily unavailable"]) as box:
        assert deliver(output, mail_settings(box)) == 2
    assert box.data_attempts == 2
    assert len(box.messages) == 1


def test_4xx_every_time_gives_up_after_three_retries(output: GroupOutput) -> None:
    with serve("none", replies=["451 4.3.0 try later"] * 10) as box, pytest.raises(MailError) as caught:
        deliver(output, mail_settings(box))
    assert "451 4.3.0 try later" in str(caught.value) and not caught.value.permanent
    assert caught.value.attempts == 4 and box.data_attempts == 4
    assert box.messages == []


def test_550_is_not_retried(output: GroupOutput) -> None:
    with serve("none", replies=["550 5.7.1 Relaying denied"]) as box, pytest.raises(MailError) as caught:
        deliver(output, mail_settings(box))
    assert "550 5.7.1 Relaying denied" in str(caught.value)
    assert caught.value.permanent and caught.value.attempts == 1
    assert box.data_attempts == 1


def test_a_wrong_password_is_final_and_not_echoed(output: GroupOutput, certs: Certificates) -> None:
    with serve("starttls", certs=certs, auth=("kpi-bot", PASSWORD)) as box:
        settings = mail_settings(
            box, smtp_security="starttls", smtp_cafile=certs.ca, smtp_user="kpi-bot", smtp_password="wrong"
        )
        with pytest.raises(MailError, match="535") as caught:
            deliver(output, settings)
    assert caught.value.permanent
    assert "wrong" not in str(caught.value)
    assert box.messages == []


def test_a_server_that_is_down_is_retried_then_reported(output: GroupOutput) -> None:
    settings = mail_settings(smtp_retries=2)  # nothing listens on its port
    with pytest.raises(MailError, match="cannot reach") as caught:
        deliver(output, settings)
    assert not caught.value.permanent and caught.value.attempts == 3


def test_a_missing_ca_file_is_a_configuration_error(tmp_path: Path) -> None:
    settings = mail_settings(smtp_security="starttls", smtp_cafile=tmp_path / "nowhere.pem")
    with pytest.raises(ConfigError, match="smtp_cafile"):
        check_smtp_settings(settings.smtp)


def test_an_unknown_security_mode_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="smtp_security"):
        check_smtp_settings(mail_settings(smtp_security="tls").smtp)


def test_a_non_ascii_password_is_refused_before_connecting() -> None:
    settings = mail_settings(smtp_security="ssl", smtp_user="kpi-bot", smtp_password="รหัสผ่าน")
    with pytest.raises(ConfigError, match="ASCII") as caught:
        check_smtp_settings(settings.smtp)
    assert "รหัสผ่าน" not in str(caught.value)


def test_retries_wait_longer_each_time(output: GroupOutput) -> None:
    waits: list[float] = []
    with serve("none", replies=["451 4.3.0 try later"] * 10) as box:
        settings = mail_settings(box, smtp_backoff=0.01)
        env = envelope(settings.mail)
        with pytest.raises(MailError):
            send(
                message_for(output.workbook, settings, env),
                env,
                settings.smtp,
                deadline=mail_deadline(settings),
                sleep=waits.append,
            )
    assert waits == [0.01, 0.02, 0.04]  # three retries, the wait doubling


class _SilentServer:
    """A TCP server on loopback that accepts connections and, after an optional greeting, says nothing."""

    def __init__(self, greeting: bytes = b"") -> None:
        import socket
        import threading

        self.greeting = greeting
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            if self.greeting:
                conn.sendall(self.greeting)
            self.held.append(conn)  # kept open, never answered

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize(
    ("greeting", "timeouts"),
    [
        (b"", {"smtp_connect_timeout": 0.3, "smtp_timeout": 30.0}),  # no greeting: the connect timeout
        (b"220 quiet.example ESMTP\r\n", {"smtp_connect_timeout": 30.0, "smtp_timeout": 0.3}),  # commands
    ],
)
def test_a_server_that_stops_answering_times_out_instead_of_hanging(
    output: GroupOutput, greeting: bytes, timeouts: dict[str, float]
) -> None:
    import time

    server = _SilentServer(greeting)
    try:
        settings = mail_settings(None, smtp_port=server.port, smtp_retries=1, smtp_backoff=0.0, **timeouts)
        started = time.monotonic()
        with pytest.raises(MailError) as caught:
            deliver(output, settings)
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert caught.value.attempts == 2 and not caught.value.permanent
    assert elapsed < 10, "bounded by the 0.3 s timeout, not the 30 s one"
