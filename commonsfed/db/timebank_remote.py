"""Queries on transfers of hours across nodes (migration 0045), one row per EconomicEvent on
each side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from commonsfed.models import from_row


@dataclass(frozen=True)
class RemoteTransfer:
    event_id: str
    role: str  # proposer | responder
    state: str  # proposed | accepted | rejected | withdrawn
    node: str
    local_account_id: int | None
    local_pays: bool
    remote_actor: str
    hours: Decimal
    offer_id: str
    answer_id: str | None
    reason: str
    transfer_id: int | None
    created_at: datetime | None = None  # None: not stored yet


_COLUMNS = """event_id, role, state, node, local_account_id, local_pays, remote_actor, hours,
    offer_id, answer_id, reason, transfer_id, created_at"""


async def get(
    conn: asyncpg.Connection, event_id: str, *, for_update: bool = False
) -> RemoteTransfer | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM hours_remote_transfers WHERE event_id = $1{lock}", event_id
    )
    return from_row(RemoteTransfer, row)


async def insert(conn: asyncpg.Connection, t: RemoteTransfer) -> bool:
    """False when the event has a row already (a retry racing the first delivery)."""
    done = await conn.fetchval(
        """
        INSERT INTO hours_remote_transfers
            (event_id, role, state, node, local_account_id, local_pays, remote_actor, hours,
             offer_id, answer_id, reason, transfer_id, decided_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                CASE WHEN $3 = 'proposed' THEN NULL ELSE now() END)
        ON CONFLICT (event_id) DO NOTHING
        RETURNING true
        """,
        t.event_id, t.role, t.state, t.node, t.local_account_id, t.local_pays, t.remote_actor,
        t.hours, t.offer_id, t.answer_id, t.reason, t.transfer_id,
    )  # fmt: skip
    return bool(done)


async def decide(
    conn: asyncpg.Connection,
    event_id: str,
    state: str,
    answer_id: str,
    reason: str = "",
    transfer_id: int | None = None,
) -> None:
    await conn.execute(
        """
        UPDATE hours_remote_transfers
        SET state = $2, answer_id = $3, reason = $4, transfer_id = $5, decided_at = now()
        WHERE event_id = $1
        """,
        event_id,
        state,
        answer_id,
        reason,
        transfer_id,
    )


async def withdraw(conn: asyncpg.Connection, event_id: str) -> None:
    await conn.execute(
        "UPDATE hours_remote_transfers SET state = 'withdrawn', decided_at = now() "
        "WHERE event_id = $1",
        event_id,
    )


async def waiting(conn: asyncpg.Connection, sent_before: datetime, limit: int = 100) -> list[str]:
    """The events this node proposed before `sent_before` that are still unanswered."""
    rows = await conn.fetch(
        """
        SELECT event_id FROM hours_remote_transfers
        WHERE role = 'proposer' AND state = 'proposed' AND created_at < $1
        ORDER BY created_at LIMIT $2
        """,
        sent_before,
        limit,
    )
    return [row["event_id"] for row in rows]


async def of_account(conn: asyncpg.Connection, account_id: int, limit: int = 50):
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM hours_remote_transfers WHERE local_account_id = $1
        ORDER BY created_at DESC LIMIT $2
        """,
        account_id,
        limit,
    )
    return [from_row(RemoteTransfer, row) for row in rows]


async def notify(conn: asyncpg.Connection, account_id: int | None, actor_uri: str) -> None:
    """Tell a resident that hours moved with `actor_uri` (or were refused): their hours page
    says which."""
    if account_id is None:
        return
    await conn.execute(
        "INSERT INTO notifications (account_id, kind, actor_uri) VALUES ($1, 'hours_across', $2)",
        account_id,
        actor_uri,
    )
