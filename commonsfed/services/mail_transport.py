"""Making a queued mail into a message, and handing it on: to an SMTP server
(COMMONSFED_SMTP_URL), or on a dev node without one to the dev mailbox, files in data/mail/
that /dev/mail lists.

Every message has a plain-text part and an HTML part, both from templates/mail/<name>.txt
and .html; the text template also sets the subject (`{% set subject = ... %}`). A
notification carries List-Unsubscribe with List-Unsubscribe-Post (RFC 8058), so that mail
clients offer a one-click unsubscribe that works without logging in.
"""

from __future__ import annotations

import asyncio
import email.policy
import functools
import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib
import jinja2

from commonsfed import i18n
from commonsfed.config import Settings
from commonsfed.config_mail import SmtpServer
from commonsfed.resources import templates_dir

log = logging.getLogger(__name__)

# seconds for each SMTP command; well under the claim's lease (federation.claims.LEASE), so a
# mail whose lease was renewed just before it went out is still ours when the server answers
SMTP_TIMEOUT = 20.0


# --- Composing -------------------------------------------------------------------------------


@functools.cache
def _environment(folder: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    i18n.install_translations(env)
    return env


def compose(
    settings: Settings,
    *,
    mail_id: int,
    recipient: str,
    template: str,
    context: Mapping[str, Any],
    created_at: datetime,
    unsubscribe_url: str | None = None,
    language: str | None = None,
) -> EmailMessage:
    """The message for a queued mail, in `language` (the recipient's; None: the node's). Its
    Message-ID and Date come from the queued row, so a mail tried again is the same message
    (a server that saw it once can tell)."""
    env = _environment(str(templates_dir()))
    # `about`: the whole context as one value, for macros that take it (mail/_notification.txt)
    values = {**context, "about": dict(context), "settings": settings,
              "unsubscribe_url": unsubscribe_url, "locale": language or settings.language}  # fmt: skip
    with i18n.rendering_in(values["locale"]):
        text = env.get_template(f"mail/{template}.txt").make_module(values)
        html = env.get_template(f"mail/{template}.html").render(values)
    message = EmailMessage()
    message["Subject"] = " ".join(str(text.subject).split())  # a header: one line
    message["From"] = settings.mail_sender
    message["To"] = recipient
    message["Date"] = format_datetime(created_at)
    host = settings.domain.split(":", 1)[0]
    message["Message-ID"] = f"<mail-{mail_id}.{int(created_at.timestamp())}@{host}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(str(text))
    message.add_alternative(html, subtype="html")
    return message


# --- Transports ------------------------------------------------------------------------------

Send = Callable[[EmailMessage], Awaitable[None]]


class Transport(Protocol):
    def connect(self) -> AbstractAsyncContextManager[Send]:
        """One connection, over which any number of messages go."""
        ...


class SmtpTransport:
    """Through an SMTP server: smtps:// is TLS from the start; smtp:// upgrades with STARTTLS
    as `SmtpServer.starttls` says (always when a password is sent). Certificates are
    checked against the system's authorities."""

    def __init__(self, server: SmtpServer, timeout: float = SMTP_TIMEOUT) -> None:
        self.server = server
        self.timeout = timeout

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Send]:
        server = self.server
        smtp = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.implicit_tls,
            start_tls=server.starttls,
            timeout=self.timeout,
        )

        async def send(message: EmailMessage) -> None:
            await smtp.send_message(message)

        async with smtp:
            yield send


class MailboxTransport:
    """A dev node's mailbox: each message a file `<queued at>-<id>.eml` in `folder`. Written
    under a temporary name and renamed, so a file is always whole; a mail sent again
    overwrites its own file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Send]:
        async def send(message: EmailMessage) -> None:
            await asyncio.to_thread(self._write, message)

        yield send

    def _write(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = mailbox_name(message)
        temporary = self.folder / f".{name}.tmp"
        temporary.write_bytes(message.as_bytes(policy=email.policy.SMTP))
        os.replace(temporary, self.folder / name)


def mailbox_name(message: EmailMessage) -> str:
    mail_id = re.match(r"<mail-([0-9]+)\.", message["Message-ID"] or "")
    when = parsedate_to_datetime(message["Date"])
    return f"{when:%Y%m%d-%H%M%S}-{mail_id.group(1) if mail_id else '0'}.eml"


def transport_for(settings: Settings) -> Transport | None:
    """The node's way to send mail, or None when it sends none (see Settings.mail_transport)."""
    if settings.mail_transport == "smtp":
        return SmtpTransport(settings.smtp)
    if settings.mail_transport == "mailbox":
        return MailboxTransport(settings.mail_dir)
    return None


def log_mail_setup(settings: Settings) -> None:
    """One line at start: where mail goes, or a warning that it goes nowhere."""
    if settings.mail_transport == "smtp":
        log.info("mail: through %s, from %s", settings.smtp.describe(), settings.mail_sender)
    elif settings.mail_transport == "mailbox":
        log.info("mail: no COMMONSFED_SMTP_URL, so the dev node keeps its mail in %s "
                 "(listed at %s/dev/mail)", settings.mail_dir, settings.base_url)  # fmt: skip
    else:
        log.warning(
            "mail: COMMONSFED_SMTP_URL is not set, so this node sends no e-mail: addresses "
            "are not confirmed, 'Forgot password' cannot send a link and no one is notified "
            "by mail. Set it to smtp://user:password@host:587 (see the README)"
        )


# --- Reading the dev mailbox ----------------------------------------------------------------

_MAILBOX_NAME = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9]{1,18}\.eml$")


@dataclass(frozen=True)
class MailboxEntry:
    name: str
    message: EmailMessage

    @property
    def text(self) -> str:
        return self._part("plain")

    @property
    def html(self) -> str:
        return self._part("html")

    def _part(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else ""


def mailbox_entries(settings: Settings) -> list[MailboxEntry]:
    """The dev mailbox, newest first."""
    if not settings.mail_dir.is_dir():
        return []
    names = sorted((p.name for p in settings.mail_dir.iterdir() if _MAILBOX_NAME.match(p.name)),
                   reverse=True)  # fmt: skip
    return [entry for entry in map(functools.partial(mailbox_entry, settings), names) if entry]


def mailbox_entry(settings: Settings, name: str) -> MailboxEntry | None:
    """One message of the dev mailbox by its file name (None: no such file)."""
    if not _MAILBOX_NAME.match(name):
        return None
    try:
        raw = (settings.mail_dir / name).read_bytes()
    except FileNotFoundError:
        return None
    return MailboxEntry(name, message_from_bytes(raw, policy=email.policy.default))
