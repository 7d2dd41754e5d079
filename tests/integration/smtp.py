"""A real SMTP server on loopback for the mail tests: aiosmtpd's SMTP protocol, served on the
test's own event loop. It keeps what it accepts, and can be told to refuse (an answer code)
or be stopped and started again on the same port (an outage).

With `tls` it offers STARTTLS (and `auth` then requires it, as a submission server on port
587 does); with `implicit` it speaks TLS from the first byte (port 465). Its certificate is
made here for "localhost" and trusted through SSL_CERT_FILE, which OpenSSL reads when a
client makes its default context (as aiosmtplib does): no test-only switch in the node.
"""

from __future__ import annotations

import asyncio
import datetime
import email.policy
import re
import socket
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    answer: str | None = None  # e.g. "451 4.3.0 try later": refuse every mail so

    async def handle_RCPT(self, server, session, envelope: Envelope, address: str, options):
        if self.answer:
            return self.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 queued"


class SmtpServer:
    def __init__(
        self,
        port: int | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        implicit: ssl.SSLContext | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.handler = _Handler()
        self._tls, self._implicit, self._auth = tls, implicit, auth
        self._server: asyncio.AbstractServer | None = None
        self.logins: list[tuple[str, str]] = []  # what clients logged in with

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def url(self, scheme: str = "smtp", credentials: str = "", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{credentials}{host}:{self.port}"

    def refuse(self, answer: str | None) -> None:
        self.handler.answer = answer

    async def start(self) -> SmtpServer:
        kwargs = {}
        if self._tls is not None:
            kwargs.update(tls_context=self._tls, require_starttls=True)
        if self._auth is not None:
            kwargs.update(authenticator=self._check_login, auth_required=True)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self.handler, hostname="localhost", **kwargs),
            "127.0.0.1", self.port, ssl=self._implicit,
        )  # fmt: skip
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _check_login(self, server, session, envelope, mechanism, data) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        given = (data.login.decode(), data.password.decode())
        self.logins.append(given)
        return AuthResult(success=given == self._auth, handled=False)  # aiosmtpd answers 535


def localhost_certificate(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a self-signed certificate for "localhost", and the
    certificate's file (for clients to trust)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "localhost.pem", folder / "localhost.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


# --- fixtures and helpers for the node's side -------------------------------------------------

LINK_RE = r"https?://[^\s<>\"]+"


@pytest.fixture
async def smtp():
    """A started SMTP server on a loopback port; stopped after the test."""
    server = await SmtpServer().start()
    yield server
    await server.stop()


@pytest.fixture
async def mail_node(make_client, smtp):
    """A client of a node that sends its mail to `smtp` (so addresses must be confirmed)."""
    return await make_client(smtp_url=smtp.url())


def mail_worker(app, **kwargs):
    from commonsfed.services.mail_sending import MailWorker
    from commonsfed.services.mail_transport import transport_for
    from commonsfed.web.keys import POOL, SETTINGS

    settings = app[SETTINGS]
    return MailWorker(app[POOL], settings, transport_for(settings), **kwargs)


async def send_queued(client_or_app) -> int:
    """Step a mail worker of the node until nothing is due; how many ticks did work."""
    app = getattr(getattr(client_or_app, "server", None), "app", client_or_app)
    worker, ticks = mail_worker(app), 0
    while await worker.tick():
        ticks += 1
    return ticks


def link_in(received: Received, path: str) -> str:
    """The link in a received mail's text part whose path starts with `path`."""
    for link in re.findall(LINK_RE, received.text):
        if path in link:
            return link
    raise AssertionError(f"no {path} link in:\n{received.text}")
