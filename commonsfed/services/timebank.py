"""The time bank: mutual credit in hours, as a double-entry ledger.

Decisions:
- Every resident has an hours account (made on first use, at zero), every sibling node a
  clearing account. A transfer moves hours from one account to another as two entries, so
  the node's accounts always sum to zero; migration 0040 checks at commit that each transfer
  is two entries summing to zero and that the balances match the entries.
- Limits: a resident's balance stays within the node's `hours_min` and `hours_max`, a
  clearing account's within +/- `hours_clearing_limit` (live settings an admin changes at
  /admin/settings). A transfer locks both accounts' rows in id order, reads their balances
  under the lock, and refuses (TransferRefused, nothing written) when a balance would pass a
  limit. Two transfers at once over one account so wait for each other, and the second sees
  the first's balance: together they cannot pass a limit. A balance already past a limit
  (the admin tightened it) may still move back towards it. Hours held for a transfer across
  nodes that is not answered yet count as moved (services.timebank_remote).
- Hours are a number with at most two decimals (a quarter of an hour is 0.25), above zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import timebank as q
from commonsfed.db import timebank_remote as remote_q
from commonsfed.db.timebank import Entry, HoursAccount, Posting, Totals
from commonsfed.db.timebank_remote import RemoteTransfer
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError

MAX_HOURS = Decimal(100)  # in one transfer: a week of full days and more
CENT = Decimal("0.01")


class TransferRefused(ServiceError):
    """A transfer would pass a limit: nothing was applied. `str()` says whose and which."""


def parse_hours(text: str, field: str = "hours") -> Decimal:
    """Hours as typed ("1.5", "2", "0,75"), or ValidationError on `field`."""
    try:
        hours = Decimal(str(text).strip().replace(",", "."))
    except InvalidOperation:
        hours = Decimal(-1)
    if not hours.is_finite() or hours != hours.quantize(CENT) or not 0 < hours <= MAX_HOURS:
        raise ValidationError({
            field: Text(N_("Give a number of hours above 0 and at most %(limit)s, such as 1.5."),
                        limit=MAX_HOURS)
        })  # fmt: skip
    return hours


@dataclass(frozen=True)
class Limits:
    low: Decimal
    high: Decimal
    clearing: Decimal

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            Decimal(settings.hours_min),
            Decimal(settings.hours_max),
            Decimal(settings.hours_clearing_limit),
        )

    def bounds(self, account: HoursAccount) -> tuple[Decimal, Decimal]:
        if account.kind == "clearing":
            return -self.clearing, self.clearing
        return self.low, self.high


def _check(limits: Limits, account: HoursAccount, after: Decimal, label: str) -> None:
    """Refuse a balance past a limit, counting the hours promised to transfers across nodes
    not answered yet; a balance past a limit (the admin tightened it) may move back."""
    low, high = limits.bounds(account)
    if after < account.balance and after - account.held_out < low:
        raise TransferRefused(_refusal(account, label, "low", low, account.balance))
    if after > account.balance and after + account.held_in > high:
        raise TransferRefused(_refusal(account, label, "high", high, account.balance))


def _refusal(account: HoursAccount, label: str, side: str, limit: Decimal, now: Decimal) -> Text:
    if account.kind == "clearing":
        return Text(
            N_("Refused: this would pass the limit of %(limit)s hours with %(node)s "
               "(the balance with that node is %(balance)s hours). Nothing was moved."),
            limit=abs(limit), node=account.node, balance=now,
        )  # fmt: skip
    if side == "low":
        return Text(
            N_("Refused: %(who)s would owe more than %(limit)s hours (the balance is "
               "%(balance)s hours). Nothing was moved."),
            who=label, limit=abs(limit), balance=now,
        )  # fmt: skip
    return Text(
        N_("Refused: %(who)s would hold more than %(limit)s hours (the balance is "
           "%(balance)s hours). Nothing was moved."),
        who=label, limit=limit, balance=now,
    )  # fmt: skip


@dataclass(frozen=True)
class Transfer:
    """A transfer to make: from and to hours accounts (ids), with labels for messages."""

    from_account: int
    to_account: int
    hours: Decimal
    reason: str
    from_label: str = ""
    to_label: str = ""
    conversation_id: int | None = None
    note: str = ""
    created_by: int | None = None
    event_id: str | None = None


async def check(conn: asyncpg.Connection, limits: Limits, t: Transfer) -> Posting:
    """In a transaction: lock both accounts and check the limits; the posting to write
    (TransferRefused when a limit would be passed). The locks hold until the commit."""
    locked = await q.lock_accounts(conn, [t.from_account, t.to_account])
    payer, payee = locked[t.from_account], locked[t.to_account]
    from_after, to_after = payer.balance - t.hours, payee.balance + t.hours
    _check(limits, payer, from_after, t.from_label)
    _check(limits, payee, to_after, t.to_label)
    return Posting(
        from_account=t.from_account, to_account=t.to_account, hours=t.hours,
        reason=t.reason, from_balance=from_after, to_balance=to_after,
        conversation_id=t.conversation_id, note=t.note, created_by=t.created_by,
        event_id=t.event_id,
    )  # fmt: skip


async def transfer(conn: asyncpg.Connection, limits: Limits, t: Transfer) -> int:
    """In the caller's transaction: move the hours, or TransferRefused with nothing written.
    The transfer's id."""
    return await q.post(conn, await check(conn, limits, t))


async def transfer_between(
    pool: asyncpg.Pool, settings: Settings, payer: Account, payee: Account, hours: Decimal,
    reason: str = "exchange", conversation_id: int | None = None, by: Account | None = None,
) -> int:  # fmt: skip
    """Move hours from one resident to another in a transaction of its own."""
    async with pool.acquire() as conn, conn.transaction():
        t = Transfer(
            from_account=await q.resident_account(conn, payer.id),
            to_account=await q.resident_account(conn, payee.id),
            hours=hours, reason=reason, from_label=f"@{payer.username}",
            to_label=f"@{payee.username}", conversation_id=conversation_id,
            created_by=by.id if by else None,
        )  # fmt: skip
        return await transfer(conn, Limits.of(settings), t)


@dataclass(frozen=True)
class HoursView:
    """A resident's own hours: the balance, the node's limits and the history."""

    balance: Decimal
    low: int
    high: int
    entries: list[Entry]
    remote: list[RemoteTransfer]  # with residents of sibling nodes: proposed, answered


async def my_hours(pool: asyncpg.Pool, settings: Settings, account: Account) -> HoursView:
    async with pool.acquire() as conn:
        hours_id = await q.resident_account_id(conn, account.id)
        entries = await q.history(conn, hours_id) if hours_id else []
        balance = await q.balance_of(conn, account.id)
        remote = await remote_q.of_account(conn, account.id)
    return HoursView(balance, settings.hours_min, settings.hours_max, entries, remote)


async def balance(pool: asyncpg.Pool, account_id: int) -> Decimal:
    async with pool.acquire() as conn:
        return await q.balance_of(conn, account_id)


async def node_totals(pool: asyncpg.Pool, settings: Settings, admin: Account) -> Totals:
    if not admin.is_admin:
        raise NotAllowed(Text(N_("Only the node's admins see its time bank's totals.")))
    async with pool.acquire() as conn:
        return await q.totals(conn, settings.hours_min, settings.hours_max)
