"""Queries on the time bank's ledger (migration 0040): hours accounts, transfers and their
two entries. The limits are checked by services.timebank under the locks taken here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from commonsfed.models import from_row


@dataclass(frozen=True)
class HoursAccount:
    id: int
    kind: str  # resident | clearing
    account_id: int | None  # a resident's
    node: str | None  # a clearing account's sibling node
    balance: Decimal
    # promised to, and by, transfers across nodes not answered yet (migration 0045)
    held_out: Decimal = Decimal(0)
    held_in: Decimal = Decimal(0)


@dataclass(frozen=True)
class Entry:
    """One line of an account's history: its side of one transfer."""

    id: int
    transfer_id: int
    amount: Decimal
    balance_after: Decimal
    reason: str
    note: str
    created_at: datetime
    conversation_id: int | None
    other_username: str | None  # the other account's resident, when one of here
    other_node: str | None  # else the clearing account's node
    listing_title: str | None = None
    other_remote: str | None = None  # a transfer across nodes: the resident there


_ACCOUNT = "id, kind, account_id, node, balance, held_out, held_in"


async def resident_account(conn: asyncpg.Connection, account_id: int) -> int:
    """The id of the resident's hours account, made on first use."""
    await conn.execute(
        """
        INSERT INTO hours_accounts (kind, account_id) VALUES ('resident', $1)
        ON CONFLICT (account_id) DO NOTHING
        """,
        account_id,
    )
    return await conn.fetchval("SELECT id FROM hours_accounts WHERE account_id = $1", account_id)


async def resident_account_id(conn: asyncpg.Connection, account_id: int) -> int | None:
    """The resident's hours account's id; None before their first transfer."""
    return await conn.fetchval("SELECT id FROM hours_accounts WHERE account_id = $1", account_id)


async def clearing_account(conn: asyncpg.Connection, node: str) -> int:
    """The id of a sibling node's clearing account, made on first use."""
    await conn.execute(
        """
        INSERT INTO hours_accounts (kind, node) VALUES ('clearing', $1)
        ON CONFLICT (node) DO NOTHING
        """,
        node,
    )
    return await conn.fetchval("SELECT id FROM hours_accounts WHERE node = $1", node)


async def lock_accounts(conn: asyncpg.Connection, ids: list[int]) -> dict[int, HoursAccount]:
    """In a transaction: the accounts, their rows locked in id order (one order for every
    transfer, so two transfers over the same accounts wait for each other, never deadlock)."""
    rows = await conn.fetch(
        f"SELECT {_ACCOUNT} FROM hours_accounts WHERE id = ANY($1::bigint[]) ORDER BY id "
        "FOR UPDATE",
        ids,
    )
    return {row["id"]: from_row(HoursAccount, row) for row in rows}


async def get_account(conn: asyncpg.Connection, hours_account_id: int) -> HoursAccount | None:
    row = await conn.fetchrow(
        f"SELECT {_ACCOUNT} FROM hours_accounts WHERE id = $1", hours_account_id
    )
    return from_row(HoursAccount, row)


async def balance_of(conn: asyncpg.Connection, account_id: int) -> Decimal:
    """A resident's balance; 0 before their first transfer."""
    balance = await conn.fetchval(
        "SELECT balance FROM hours_accounts WHERE account_id = $1", account_id
    )
    return balance if balance is not None else Decimal(0)


@dataclass(frozen=True)
class Posting:
    """A transfer as services.timebank decided it, with the balances it leaves."""

    from_account: int
    to_account: int
    hours: Decimal
    reason: str
    from_balance: Decimal  # after
    to_balance: Decimal  # after
    conversation_id: int | None = None
    note: str = ""
    created_by: int | None = None
    event_id: str | None = None


async def post(conn: asyncpg.Connection, p: Posting) -> int:
    """Write a transfer, its two entries and the two new balances; the transfer's id. The
    accounts must be locked (lock_accounts) and the balances checked against the limits."""
    transfer_id = await conn.fetchval(
        """
        INSERT INTO hours_transfers
            (from_account, to_account, hours, reason, conversation_id, note, created_by,
             event_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
        """,
        p.from_account, p.to_account, p.hours, p.reason, p.conversation_id, p.note,
        p.created_by, p.event_id,
    )  # fmt: skip
    await conn.execute(
        """
        INSERT INTO hours_entries (transfer_id, hours_account_id, amount, balance_after)
        VALUES ($1, $2, -$4::numeric, $5), ($1, $3, $4, $6)
        """,
        transfer_id, p.from_account, p.to_account, p.hours, p.from_balance, p.to_balance,
    )  # fmt: skip
    await conn.execute(
        """
        UPDATE hours_accounts AS a SET balance = t.balance
        FROM unnest($1::bigint[], $2::numeric[]) AS t (id, balance) WHERE a.id = t.id
        """,
        [p.from_account, p.to_account],
        [p.from_balance, p.to_balance],
    )
    return transfer_id


async def hold(conn: asyncpg.Connection, from_account: int, to_account: int, hours) -> None:
    """Promise `hours` from one account to the other (locked, limits checked): they count
    against the limits until `release`."""
    await conn.execute(
        """
        UPDATE hours_accounts
        SET held_out = held_out + CASE WHEN id = $1 THEN $3::numeric ELSE 0 END,
            held_in = held_in + CASE WHEN id = $2 THEN $3::numeric ELSE 0 END
        WHERE id IN ($1, $2)
        """,
        from_account,
        to_account,
        hours,
    )


async def release(conn: asyncpg.Connection, from_account: int, to_account: int, hours) -> None:
    await conn.execute(
        """
        UPDATE hours_accounts
        SET held_out = held_out - CASE WHEN id = $1 THEN $3::numeric ELSE 0 END,
            held_in = held_in - CASE WHEN id = $2 THEN $3::numeric ELSE 0 END
        WHERE id IN ($1, $2)
        """,
        from_account,
        to_account,
        hours,
    )


async def transfer_by_event(conn: asyncpg.Connection, event_id: str) -> int | None:
    return await conn.fetchval("SELECT id FROM hours_transfers WHERE event_id = $1", event_id)


async def history(conn: asyncpg.Connection, hours_account_id: int, limit: int = 100) -> list[Entry]:
    """The account's entries, newest first, each with the other side of its transfer."""
    rows = await conn.fetch(
        """
        SELECT e.id, e.transfer_id, e.amount, e.balance_after, t.reason, t.note,
               t.created_at, t.conversation_id, oa.username AS other_username,
               other.node AS other_node, coalesce(l.title, c.remote_listing_title) AS listing_title,
               r.remote_actor AS other_remote
        FROM hours_entries e
        JOIN hours_transfers t ON t.id = e.transfer_id
        JOIN hours_entries o ON o.transfer_id = e.transfer_id AND o.id <> e.id
        JOIN hours_accounts other ON other.id = o.hours_account_id
        LEFT JOIN accounts oa ON oa.id = other.account_id
        LEFT JOIN conversations c ON c.id = t.conversation_id
        LEFT JOIN listings l ON l.id = c.listing_id
        LEFT JOIN hours_remote_transfers r ON r.transfer_id = t.id
        WHERE e.hours_account_id = $1
        ORDER BY e.id DESC
        LIMIT $2
        """,
        hours_account_id,
        limit,
    )
    return [from_row(Entry, row) for row in rows]


@dataclass(frozen=True)
class Totals:
    """The node's ledger at a glance, for its admins."""

    total: Decimal  # the sum of every balance: zero, as double entry keeps it
    accounts: int
    transfers: int
    in_credit: Decimal  # the sum of the positive resident balances
    at_limit: list[tuple[str, Decimal]]  # residents at (or past) a limit: name, balance
    clearing: list[HoursAccount]


async def totals(conn: asyncpg.Connection, low: int, high: int) -> Totals:
    row = await conn.fetchrow(
        """
        SELECT coalesce(sum(balance), 0) AS total, count(*) AS accounts,
               coalesce(sum(balance) FILTER (WHERE kind = 'resident' AND balance > 0), 0)
                   AS in_credit,
               (SELECT count(*) FROM hours_transfers) AS transfers
        FROM hours_accounts
        """
    )
    at_limit = await conn.fetch(
        """
        SELECT coalesce(a.username, '') AS name, h.balance FROM hours_accounts h
        LEFT JOIN accounts a ON a.id = h.account_id
        WHERE h.kind = 'resident' AND (h.balance <= $1 OR h.balance >= $2)
        ORDER BY h.balance, name LIMIT 200
        """,
        low,
        high,
    )
    clearing = await conn.fetch(
        f"SELECT {_ACCOUNT} FROM hours_accounts WHERE kind = 'clearing' ORDER BY node"
    )
    return Totals(
        total=row["total"],
        accounts=row["accounts"],
        transfers=row["transfers"],
        in_credit=row["in_credit"],
        at_limit=[(r["name"], r["balance"]) for r in at_limit],
        clearing=[from_row(HoursAccount, r) for r in clearing],
    )
