"""Moderators act on residents: warn, limit, suspend, and undo the last two; approve or
reject those waiting for approval. Mastodon's account actions are the model:

- warn: a notice with the reason; nothing else changes;
- limit (Mastodon's "silence"): the resident's listings leave /explore, the feeds, the
  Group's outbox, and the Group no longer announces their new listings; their followers
  still get them, and a link still opens them;
- suspend: they cannot log in and their sessions end; their listings are hidden from
  everyone (their pages and ids answer 404, their actor 410); a moderator may lift it
  within `SUSPENSION` and everything is as it was; after that, the scheduled jobs delete
  the account as its owner would (`delete_expired_suspensions`, reusing
  services.account_deletion);
- reject: the application goes whole, as Mastodon's does, and its name and address are
  free again; approve: the account becomes active.

Every action has a reason, is written to the moderation log in the transaction of the change,
and the resident hears of it: a notification (with the reason, as Mastodon's account
warnings) and a mail. Moderators may act on residents but not on admins or on themselves;
admins on anyone but themselves. A refusal changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import mail as mail_q
from commonsfed.db import moderation as q
from commonsfed.db.moderation import STATUS_FILTERS, AccountFacts
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services import account_deletion, moderation_log
from commonsfed.services.accounts import normalise_username
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError

ACTIONS = ("warn", "limit", "unlimit", "suspend", "unsuspend")
SUSPENSION = timedelta(days=30)
PAGE = 50


class AccountNotFound(ServiceError):
    """No live account has that name."""


def _no_account(username: str) -> Text:
    return Text(N_("There is no account named %(name)s."), name=repr(username))


def check_moderator(moderator: Account) -> None:
    if not moderator.is_moderator:
        raise NotAllowed(Text(N_("Only the node's moderators and admins act on accounts.")))


def check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": Text(N_("Give a reason: the resident is told it."))})
    if len(reason) > moderation_log.MAX_REASON:
        raise ValidationError(
            {
                "reason": Text(
                    N_("Keep the reason under %(limit)s characters."),
                    limit=moderation_log.MAX_REASON,
                )
            }
        )
    return reason


def check_may_act(moderator: Account, target: AccountFacts) -> None:
    """Nobody acts on themselves; only admins act on admins."""
    if target.id == moderator.id:
        raise NotAllowed(Text(N_("You cannot act on your own account.")))
    if target.is_admin and not moderator.is_admin:
        raise NotAllowed(
            Text(
                N_("@%(name)s is an admin: only another admin may act on them."),
                name=target.username,
            )
        )


def _check_state(action: str, target: AccountFacts) -> None:
    """The action fits the account as it is: undo only what was done, do nothing twice."""
    name = target.username
    if target.status == "pending":
        raise NotAllowed(Text(N_("@%(name)s is waiting for approval: approve or reject the "
                                 "application."), name=name))  # fmt: skip
    problem = {
        "limit": target.limited_at is not None and N_("@%(name)s is limited already."),
        "unlimit": target.limited_at is None and N_("@%(name)s is not limited."),
        "suspend": target.status == "suspended" and N_("@%(name)s is suspended already."),
        "unsuspend": target.status != "suspended" and N_("@%(name)s is not suspended."),
        "warn": target.status == "suspended" and N_("@%(name)s is suspended: lift it first."),
    }[action]
    if problem:
        raise NotAllowed(Text(problem, name=name))


async def act(
    pool: asyncpg.Pool,
    settings: Settings,
    moderator: Account,
    username: str,
    action: str,
    reason: str,
) -> AccountFacts:
    """Do one of ACTIONS to the resident `username`, for `reason`; the account as it is
    after. NotAllowed, ValidationError or AccountNotFound change nothing."""
    check_moderator(moderator)
    if action not in ACTIONS:
        raise ValidationError(
            {"action": Text(N_("An action is one of %(actions)s."), actions=", ".join(ACTIONS))}
        )
    reason = check_reason(reason)
    async with pool.acquire() as conn, conn.transaction():
        target = await q.lock_account(conn, normalise_username(username), settings.base_url)
        if target is None:
            raise AccountNotFound(_no_account(username))
        check_may_act(moderator, target)
        _check_state(action, target)
        if action in ("limit", "unlimit"):
            await q.set_limited(conn, target.id, action == "limit")
        elif action in ("suspend", "unsuspend"):
            await q.set_suspended(conn, target.id, action == "suspend")
        await q.insert_warning(conn, target.id, action, reason)
        await moderation_log.record(conn, moderator, action, "account", target.username, reason)
        await _mail(conn, target, action, reason)
        return await q.lock_account(conn, target.username, settings.base_url)


async def _mail(
    conn: asyncpg.Connection, target: AccountFacts | Account, action: str, reason: str
) -> None:
    """The mail about an action: to a confirmed address only (the node never mails an
    address its owner has not shown to be theirs), except an application's rejection, which
    goes to the address the applicant typed, as its confirmation link did."""
    if target.email is None or (action != "reject" and target.email_confirmed_at is None):
        return
    await mail_q.queue_mail(
        conn,
        recipient=target.email,
        template="account_action",
        context={
            "username": target.username,
            "action": action,
            "reason": reason,
            "days": SUSPENSION.days,
        },
        account_id=None if action in ("reject", "delete") else target.id,
    )


# --- waiting accounts ------------------------------------------------------------------------


async def approve(pool: asyncpg.Pool, moderator: Account, username: str) -> Account:
    """The application is accepted: the account is active (and the log says who let it in)."""
    check_moderator(moderator)
    async with pool.acquire() as conn, conn.transaction():
        account = await accounts_q.approve(conn, normalise_username(username))
        if account is None:
            existing = await accounts_q.get_by_username(conn, normalise_username(username))
            if existing is None or existing.status == "deleted":
                raise AccountNotFound(_no_account(username))
            raise NotAllowed(
                Text(N_("@%(name)s is not waiting for approval."), name=existing.username)
            )
        await moderation_log.record(conn, moderator, "approve", "account", account.username)
    return account


async def reject(pool: asyncpg.Pool, moderator: Account, username: str, reason: str) -> None:
    """The application is refused, for `reason`, which is mailed to the applicant; the
    account goes whole (see the module's docstring)."""
    check_moderator(moderator)
    reason = check_reason(reason)
    async with pool.acquire() as conn, conn.transaction():
        account = await accounts_q.get_by_username(conn, normalise_username(username))
        if account is None or account.status == "deleted":
            raise AccountNotFound(_no_account(username))
        if not account.is_pending:
            raise NotAllowed(
                Text(N_("@%(name)s is not waiting for approval."), name=account.username)
            )
        await q.delete_pending(conn, account.id)
        # the log keeps the name, never the address: it outlives the application
        await moderation_log.record(conn, moderator, "reject", "account", account.username, reason)
        await _mail(conn, account, "reject", reason)


# --- reading ---------------------------------------------------------------------------------


async def account_list(
    pool: asyncpg.Pool, settings: Settings, status: str, words: str, page: int
) -> list[AccountFacts]:
    """A page of accounts (one of STATUS_FILTERS, `words` in the name or address)."""
    if status not in STATUS_FILTERS:
        raise ValidationError(
            {"status": Text(N_("Show one of %(filters)s."), filters=", ".join(STATUS_FILTERS))}
        )
    async with pool.acquire() as conn:
        return await q.account_list(
            conn, settings.base_url, status, words.strip()[:100], PAGE + 1, (page - 1) * PAGE
        )


async def account_facts(pool: asyncpg.Pool, settings: Settings, username: str) -> AccountFacts:
    async with pool.acquire() as conn:
        facts = await q.account_facts(conn, normalise_username(username), settings.base_url)
    if facts is None:
        raise AccountNotFound(_no_account(username))
    return facts


async def author_suspended(pool: asyncpg.Pool, uid: str) -> bool:
    async with pool.acquire() as conn:
        return await q.author_suspended(conn, uid)


# --- suspensions that ran out ----------------------------------------------------------------


async def delete_expired_suspensions(
    pool: asyncpg.Pool, settings: Settings, now: datetime, limit: int = 20
) -> int:
    """The scheduled job: delete the accounts suspended for longer than SUSPENSION, each in
    a transaction of its own, at most `limit` a run. Returns how many went."""
    deleted = 0
    for _ in range(limit):
        account = await fetch_next_expired(pool, now)
        if account is None:
            break
        deleted += await delete_expired(pool, settings, account, now)
    return deleted


async def fetch_next_expired(pool: asyncpg.Pool, now: datetime) -> Account | None:
    async with pool.acquire() as conn:
        return await q.next_due_suspension(conn, now - SUSPENSION)


async def delete_expired(
    pool: asyncpg.Pool, settings: Settings, account: Account, now: datetime
) -> bool:
    """Delete one account whose suspension ran out, as its owner would delete it
    (services.account_deletion), with a line in the log by the node itself and a last mail
    that repeats the suspension's reason. False when a moderator lifted the suspension
    since it was found."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            if not await q.lock_due_suspension(conn, account.id, now - SUSPENSION):
                return False
            reason = await q.last_warning(conn, account.id, "suspend")
            files = await account_deletion.erase_in(conn, settings, account)
            why = f"suspended for {SUSPENSION.days} days"
            await moderation_log.record(
                conn, None, "delete_account", "account", account.username, why
            )
            await _mail(conn, account, "delete", reason or "The account was suspended.")
    await account_deletion.remove_files(files)
    return True
