"""A resident's e-mail address: confirming it, asking for the link again, changing it.

A new account's address is confirmed by a link mailed to it. Where the node requires it
(`Settings.email_confirmation_required`: by default when it sends mail through SMTP), an
unconfirmed resident can log in, read everything, manage their account under /settings
(fix a mistyped address there) and ask for the link again, but nothing that reaches other
people (publishing, answering, messaging, following) until they follow the link: see
`web.addresses.confirmed_email_middleware`. Notification mail only ever goes to a
confirmed address, whatever the setting.

Changing the address takes the current password; the new address gets a link, and the
change happens only when it is followed (until then mail goes to the old one). The old
address, if it was confirmed, is then told, with no link in that mail that could undo it.
A node that sends no mail changes the address at once, unconfirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import tokens as tokens_q
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services import mail
from commonsfed.services.accounts import check_current_password, check_email
from commonsfed.services.errors import LinkNotValid, NotAllowed, ValidationError
from commonsfed.services.throttle import count_mail_request

USED_OR_EXPIRED = N_("This link has expired, was used already, or a newer one was sent since. "
                   "Ask for a new one in your settings.")  # fmt: skip
TAKEN = N_("Another account uses this address.")


@dataclass(frozen=True)
class PendingAddress:
    """An address a link was mailed to and not yet followed."""

    email: str
    changing: bool  # True: the account's address changes to it; False: it confirms the one it has


async def pending_address(pool: asyncpg.Pool, account: Account) -> PendingAddress | None:
    async with pool.acquire() as conn:
        found = await tokens_q.pending_email(conn, account.id)
    if found is None:
        return None
    email = found[0]
    return PendingAddress(email, email.lower() != account.email.lower())


async def resend_confirmation(
    pool: asyncpg.Pool, settings: Settings, account: Account, address: str
) -> None:
    """Mail a new link that confirms the account's address (the one before is void)."""
    if account.email_confirmed:
        raise NotAllowed(N_("Your address is confirmed already."))
    if settings.mail_transport is None:
        raise NotAllowed(N_("This node sends no e-mail, so it cannot confirm addresses."))
    async with pool.acquire() as conn, conn.transaction():
        await count_mail_request(conn, "confirm_email", str(account.id), address)
        await mail.queue_confirmation(conn, settings, account, account.email)


async def change_email(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    *,
    current: str,
    new_email: str,
    address: str,
) -> bool:
    """Ask to change the account's address, the current password given. True when a link
    went to the new address (the change waits for it); False when the node sends no mail
    and the address changed at once. ValidationError by field (email, current_password),
    RateLimited after too many wrong passwords or too many links."""
    new_email = (new_email or "").strip()
    errors = {}
    if problem := check_email(new_email):
        errors["email"] = problem
    elif new_email.lower() == account.email.lower():
        errors["email"] = N_("This is your address already.")
    async with pool.acquire() as conn:
        if "email" not in errors and await accounts_q.email_taken_by_another(
            conn, new_email, account.id
        ):
            errors["email"] = TAKEN
        if problem := await check_current_password(conn, account, current, address):
            errors = {"current_password": problem} | errors
        if errors:
            raise ValidationError(errors)
        async with conn.transaction():
            if settings.mail_transport is None:
                await _set_unconfirmed(conn, account, new_email)
                return False
            await count_mail_request(conn, "confirm_email", str(account.id), address)
            await mail.queue_confirmation(conn, settings, account, new_email)
            return True


async def _set_unconfirmed(conn: asyncpg.Connection, account: Account, email: str) -> None:
    try:
        await accounts_q.set_email(conn, account.id, email, confirmed=False)
    except asyncpg.UniqueViolationError:  # taken a moment ago
        raise ValidationError({"email": TAKEN}) from None


def _taken_now(email: str) -> Text:
    return Text(N_("Another account uses this address now: %(email)s cannot become yours."),
                email=email)  # fmt: skip


@dataclass(frozen=True)
class Confirmed:
    account: Account
    old_email: str | None  # the address it replaced, when the link changed it


async def check_link(pool: asyncpg.Pool, token: str) -> tuple[Account, str]:
    """The account and the address a confirmation link is for; LinkNotValid if it cannot be
    used."""
    async with pool.acquire() as conn:
        found = await tokens_q.find_token(conn, "confirm_email", mail.token_hash(token))
        account = await accounts_q.get_account(conn, found.account_id) if found else None
    if found is None or found.expired or account is None:
        raise LinkNotValid(USED_OR_EXPIRED)
    return account, found.email


async def confirm(pool: asyncpg.Pool, token: str) -> Confirmed:
    """Follow a confirmation link: the address is confirmed, and becomes the account's when
    it was a change (the old address, if it was confirmed, is told). The link is used up.
    LinkNotValid for a link that cannot be used; NotAllowed when another account took the
    new address meanwhile (the link then still works, for when it is free again)."""
    async with pool.acquire() as conn, conn.transaction():
        found = await tokens_q.take_token(conn, "confirm_email", mail.token_hash(token))
        account = await accounts_q.get_account(conn, found.account_id) if found else None
        if found is None or account is None:
            raise LinkNotValid(USED_OR_EXPIRED)
        if found.email.lower() == account.email.lower():
            confirmed = await accounts_q.confirm_email(conn, account.id, found.email)
            return Confirmed(confirmed or account, None)
        if await accounts_q.email_taken_by_another(conn, found.email, account.id):
            raise NotAllowed(_taken_now(found.email))
        try:
            changed = await accounts_q.set_email(conn, account.id, found.email, confirmed=True)
        except asyncpg.UniqueViolationError:  # taken a moment ago
            raise NotAllowed(_taken_now(found.email)) from None
        if account.email_confirmed:
            await mail.queue_email_changed(conn, changed, account.email)
        return Confirmed(changed, account.email)
