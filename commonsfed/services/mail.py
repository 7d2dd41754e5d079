"""Mail to residents: the links mailed to them, the mails about their account, their choices
of notification mail, and the one-click unsubscribe links in those.

Mail is queued in the transaction of the change it is about (see `db.mail`) and sent by the
workers (`services.mail_sending`), which render it from templates/mail/. A link's token is
random and only its SHA-256 is stored; the raw token lives in the queued mail until it is
sent and the mail is pruned (`services.jobs`).

Notifications are mailed by `db.mail.queue_notification_mail(conn, account_id, kind, about)`,
which any layer may call in its own transaction; this module reads and changes the choices
it follows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import mail as q
from commonsfed.db import tokens as tokens_q
from commonsfed.db.mail import MAIL_CHOICES
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services.errors import ValidationError

CONFIRM_VALID = timedelta(days=2)
RESET_VALID = timedelta(hours=1)
_LINK_KEY = "mail_links"


def new_token() -> tuple[str, bytes]:
    """A link's token and the hash that is stored of it."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


# --- Mails about the account ---------------------------------------------------------------


async def queue_confirmation(
    conn: asyncpg.Connection, settings: Settings, account: Account, email: str
) -> None:
    """Mail a link that confirms `email` for the account: its own address (a new account),
    or the one it changes to. The link before, if any, is void from now on."""
    token, hashed = new_token()
    expires = await tokens_q.replace_token(
        conn, account.id, "confirm_email", hashed, email, CONFIRM_VALID
    )
    changing = email.lower() != account.email.lower()
    await q.queue_mail(
        conn,
        recipient=email,
        template="email_change" if changing else "confirm_email",
        context={
            "username": account.username,
            "link": f"{settings.base_url}/email/confirm/{token}",
            "days": CONFIRM_VALID.days,
        },
        account_id=account.id,
        send_before=expires,
    )


async def queue_reset(conn: asyncpg.Connection, settings: Settings, account: Account) -> None:
    """Mail a link that sets a new password, good for an hour (the link before is void)."""
    token, hashed = new_token()
    expires = await tokens_q.replace_token(
        conn, account.id, "reset_password", hashed, account.email, RESET_VALID
    )
    await q.queue_mail(
        conn,
        recipient=account.email,
        template="password_reset",
        context={
            "username": account.username,
            "link": f"{settings.base_url}/password/reset/{token}",
        },
        account_id=account.id,
        send_before=expires,
    )


async def queue_email_changed(conn: asyncpg.Connection, account: Account, old_email: str) -> None:
    """Tell the old address that the account's address changed. No link in it could undo the
    change: whoever reads it talks to the node's admins, who check who they are."""
    await q.queue_mail(
        conn,
        recipient=old_email,
        template="email_changed",
        context={"username": account.username, "new_email": account.email},
        account_id=account.id,
    )


async def queue_account_deleted(conn: asyncpg.Connection, account: Account) -> None:
    """Tell the address of an account deleted just now that it is gone (in the deletion's
    transaction, after the erasure; `account` is as it was before it)."""
    await q.queue_mail(
        conn,
        recipient=account.email,
        template="account_deleted",
        context={"username": account.username},
    )


# --- Notification choices ----------------------------------------------------------------------


async def notification_choices(pool: asyncpg.Pool, account: Account) -> list[str]:
    async with pool.acquire() as conn:
        return await accounts_q.get_mail_notifications(conn, account.id)


async def set_notification_choices(
    pool: asyncpg.Pool, account: Account, chosen: list[str]
) -> list[str]:
    """The kinds of notification the account gets by mail from now on (none: empty)."""
    unknown = sorted(set(chosen) - set(MAIL_CHOICES))
    if unknown:
        raise ValidationError(
            {"choices": Text(N_("Choose among %(choices)s."), choices=", ".join(MAIL_CHOICES))}
        )
    choices = [choice for choice in MAIL_CHOICES if choice in chosen]
    async with pool.acquire() as conn:
        await accounts_q.set_mail_notifications(conn, account.id, choices)
    return choices


# --- One-click unsubscribe (RFC 8058) ----------------------------------------------------------


@dataclass(frozen=True)
class Unsubscribe:
    account_id: int
    choice: str  # one of MAIL_CHOICES


_UNSUBSCRIBE_RE = re.compile(r"^([0-9]{1,18})\.([a-z]{1,20})\.([A-Za-z0-9_-]{43})$")


async def link_key(pool: asyncpg.Pool) -> bytes:
    """The key that signs the links in mail, kept in the database so that every process of
    the node (a worker on another machine included) signs and checks with the same one."""
    async with pool.acquire() as conn:
        return await q.node_secret(conn, _LINK_KEY, secrets.token_bytes(32))


def unsubscribe_token(key: bytes, account_id: int, choice: str) -> str:
    """A token that stops one kind of notification mail for one account, with no login:
    signed, so it cannot be made for another account or kind. It does not expire, as the
    links in old mails must keep working."""
    return f"{account_id}.{choice}.{_signature(key, account_id, choice)}"


def _signature(key: bytes, account_id: int, choice: str) -> str:
    mac = hmac.digest(key, f"unsubscribe {account_id} {choice}".encode(), "sha256")
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def read_unsubscribe_token(key: bytes, token: str) -> Unsubscribe | None:
    """What a token stops, or None when it is not one of ours."""
    match = _UNSUBSCRIBE_RE.match(token)
    if not match or match.group(2) not in MAIL_CHOICES:
        return None
    account_id, choice = int(match.group(1)), match.group(2)
    if not hmac.compare_digest(match.group(3), _signature(key, account_id, choice)):
        return None
    return Unsubscribe(account_id, choice)


async def unsubscribe(pool: asyncpg.Pool, token: str) -> Unsubscribe | None:
    """Stop the mails a token is for; None when the token is not valid. Doing it twice
    changes nothing more."""
    found = read_unsubscribe_token(await link_key(pool), token)
    if found is not None:
        async with pool.acquire() as conn:
            await accounts_q.drop_mail_notification(conn, found.account_id, found.choice)
    return found
