""" "Forgot password": a single-use link mailed to the account's address, good for an hour,
that sets a new password and logs the account out everywhere.

Asking for a link answers the same whatever the address: whether an account has it or not,
the person is told that a link is on its way if there is one, and the requests are counted
per address asked for and per client address alike (`services.throttle`), so neither the
answer nor the throttle tells which addresses have accounts here.

The link is void once used, an hour after it was made, when a newer one is asked for, and
when the password changes any other way (`db.accounts.set_password_hash`).
"""

from __future__ import annotations

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import sessions as sessions_q
from commonsfed.db import tokens as tokens_q
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services import mail
from commonsfed.services.accounts import check_email, hash_password, new_password_errors
from commonsfed.services.errors import LinkNotValid, NotAllowed, ValidationError
from commonsfed.services.throttle import count_mail_request

NO_MAIL = N_("This node sends no e-mail, so it cannot send you a link. Ask the people who run "
           "it to set a new password for you.")  # fmt: skip
USED_OR_EXPIRED = N_("This link has expired or was used already. Ask for a new one: "
                   "each works once, within an hour.")  # fmt: skip


async def request_reset(pool: asyncpg.Pool, settings: Settings, email: str, address: str) -> None:
    """Mail a reset link to the account with this address, if there is one (and it is not
    suspended). ValidationError when `email` is not an address, RateLimited past the
    throttle, NotAllowed when the node sends no mail: never anything about the account."""
    if settings.mail_transport is None:
        raise NotAllowed(NO_MAIL)
    email = (email or "").strip()
    if problem := check_email(email):
        raise ValidationError({"email": problem})
    async with pool.acquire() as conn, conn.transaction():
        await count_mail_request(conn, "reset_password", email.lower(), address)
        account = await accounts_q.get_by_email(conn, email)
        if account is not None and account.status != "suspended":
            await mail.queue_reset(conn, settings, account)


async def check_link(pool: asyncpg.Pool, token: str) -> None:
    """LinkNotValid unless the reset link can still be used."""
    async with pool.acquire() as conn:
        found = await tokens_q.find_token(conn, "reset_password", mail.token_hash(token))
    if found is None or found.expired:
        raise LinkNotValid(USED_OR_EXPIRED)


async def reset_password(pool: asyncpg.Pool, token: str, new: str, repeated: str) -> Account:
    """Set the password a reset link is for, and use the link up. Every session of the
    account ends (whoever used the old password is out) and its failed logins are
    forgotten. LinkNotValid for a link that cannot be used, ValidationError by field for a
    bad password (the link then still works)."""
    await check_link(pool, token)
    if errors := new_password_errors(new, repeated):
        raise ValidationError(errors)
    password_hash = await hash_password(new)
    async with pool.acquire() as conn, conn.transaction():
        found = await tokens_q.take_token(conn, "reset_password", mail.token_hash(token))
        if found is None:  # used meanwhile, by a request that came in at the same time
            raise LinkNotValid(USED_OR_EXPIRED)
        await accounts_q.set_password_hash(conn, found.account_id, password_hash)
        await sessions_q.delete_other_sessions(conn, found.account_id, None)
        account = await accounts_q.get_account(conn, found.account_id)
        await accounts_q.clear_login_failures(conn, account.username)
        # the link came through the account's address: that shows the address is theirs
        return await accounts_q.confirm_email(conn, account.id, found.email) or account
