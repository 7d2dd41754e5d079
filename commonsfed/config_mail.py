"""The mail settings' checks: the SMTP server (COMMONSFED_SMTP_URL), the sender
(COMMONSFED_MAIL_FROM) and the node's contact address. commonsfed.config reads them with
every other setting; a bad value is a ConfigError that never repeats a password."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from commonsfed.config_errors import ConfigError


@dataclass(frozen=True)
class SmtpServer:
    """Where mail goes, from COMMONSFED_SMTP_URL. `implicit_tls`: smtps:// (TLS from the
    first byte, port 465); else STARTTLS (see `starttls`)."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def starttls(self) -> bool | None:
        """For smtp://: True when STARTTLS is required (a password is never sent in the
        clear), None when it is used if the server offers it, False for a server on this
        machine without a password (Debian's Postfix, for one, offers STARTTLS there with
        a self-signed certificate that no client could check)."""
        if self.implicit_tls:
            return False
        if self.username is not None:
            return True
        return False if self.is_loopback else None

    def describe(self) -> str:
        """For logs: never the password."""
        how = {True: "STARTTLS", None: "STARTTLS if offered", False: "plain, on this machine"}
        tls = "implicit TLS" if self.implicit_tls else how[self.starttls]
        who = f" as {self.username}" if self.username else ""
        return f"{self.host}:{self.port} ({tls}){who}"


_SMTP_FORM = (
    "must look like smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465 "
    "(implicit TLS), user and password percent-encoded"
)


def parse_smtp_url(value: str, label: str) -> SmtpServer:
    """The SMTP server of `value`; a ConfigError that never repeats the value (it holds a
    password) when it is not one."""
    try:
        parts = urlsplit(str(value).strip())
        port = parts.port
    except ValueError:
        raise ConfigError(label, f"{_SMTP_FORM} (the port is not a number from 1 to 65535)") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(label, _SMTP_FORM)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(label, f"{_SMTP_FORM}, with nothing after the port")
    login = parts.username is not None or parts.password is not None
    if login and not (parts.username and parts.password):
        raise ConfigError(label, f"{_SMTP_FORM}: give both a user and a password, or neither")
    implicit = parts.scheme == "smtps"
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if implicit else 587),
        implicit_tls=implicit,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def parse_smtp_setting(value: str, label: str) -> str:
    parse_smtp_url(value, label)
    return str(value).strip()


def parse_mail_from(value: str, label: str) -> str:
    """"Name <addr@host>" or "addr@host", on one line (a header it goes into)."""
    text = str(value).strip()
    _name, addr = parseaddr(text)
    local, at, domain = addr.rpartition("@")
    if "\r" in text or "\n" in text or not (local and at and ("." in domain or domain == "localhost")):
        raise ConfigError(
            label, f"must be an address such as commons@example.org or "
            f"\"Elm Street Commons\" <commons@example.org> (got {value!r})"
        )
    return text


def email_problem(value: str) -> str | None:
    """Why `value` is not an address people can write to (addr@host.tld), or None."""
    local, at, domain = value.rpartition("@")
    if len(value) > 254 or not (local and at and "." in domain.strip(".")):
        return "is not an e-mail address such as admin@example.org"
    if any(ch.isspace() or ch in "<>,;\"" for ch in value) or ".." in domain:
        return "is not an e-mail address such as admin@example.org"
    return None


def parse_contact_email(value: str, label: str) -> str:
    text = str(value).strip()
    problem = email_problem(text) if text else None
    if problem:
        raise ConfigError(label, f"{problem} (got {value!r})")
    return text
