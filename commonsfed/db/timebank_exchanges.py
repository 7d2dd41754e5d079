"""Queries on the hours of completed services (migration 0040's hours_exchanges): confirmed
by the listing's author, disputed by the other party, settled by a moderator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from commonsfed.models import from_row


@dataclass(frozen=True)
class Exchange:
    id: int
    conversation_id: int
    giver_id: int | None
    receiver_id: int | None
    hours: Decimal
    transfer_id: int | None  # None: across nodes (event_id)
    state: str  # recorded | disputed | settled
    dispute_until: datetime
    dispute_reason: str
    disputed_at: datetime | None
    settled_hours: Decimal | None
    settled_at: datetime | None
    created_at: datetime
    giver_name: str | None = None
    receiver_name: str | None = None
    listing_title: str = ""
    listing_uid: str | None = None
    author_id: int | None = None
    # with a resident of a sibling node: the transfer's event, and what their node decided
    event_id: str | None = None
    remote_state: str | None = None  # proposed | accepted | rejected
    remote_reason: str | None = None

    @property
    def standing_hours(self) -> Decimal:
        """The hours that count now: the settled ones once a moderator settled."""
        return self.settled_hours if self.settled_hours is not None else self.hours


_SELECT = """
    SELECT x.id, x.conversation_id, x.giver_id, x.receiver_id, x.hours, x.transfer_id, x.state,
           x.dispute_until, x.dispute_reason, x.disputed_at, x.settled_hours, x.settled_at,
           x.created_at, g.username AS giver_name, rc.username AS receiver_name,
           l.title AS listing_title, l.uid AS listing_uid, l.author_id,
           x.event_id, r.state AS remote_state, r.reason AS remote_reason
    FROM hours_exchanges x
    JOIN conversations c ON c.id = x.conversation_id
    JOIN listings l ON l.id = c.listing_id
    LEFT JOIN accounts g ON g.id = x.giver_id
    LEFT JOIN accounts rc ON rc.id = x.receiver_id
    LEFT JOIN hours_remote_transfers r ON r.event_id = x.event_id
"""


async def insert(
    conn: asyncpg.Connection,
    conversation_id: int,
    giver_id: int | None,
    receiver_id: int | None,
    hours: Decimal,
    dispute_days: int,
    *,
    transfer_id: int | None = None,
    event_id: str | None = None,
) -> int | None:
    """The new exchange's id; None when the conversation has one already."""
    return await conn.fetchval(
        """
        INSERT INTO hours_exchanges
            (conversation_id, giver_id, receiver_id, hours, transfer_id, event_id, dispute_until)
        VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(days => $7))
        ON CONFLICT (conversation_id) DO NOTHING
        RETURNING id
        """,
        conversation_id, giver_id, receiver_id, hours, transfer_id, event_id, dispute_days,
    )  # fmt: skip


async def delete(conn: asyncpg.Connection, exchange_id: int) -> None:
    """An exchange whose hours the other node refused: the author may confirm again."""
    await conn.execute("DELETE FROM hours_exchanges WHERE id = $1", exchange_id)


async def for_conversation(
    conn: asyncpg.Connection, conversation_id: int, *, for_update: bool = False
) -> Exchange | None:
    lock = " FOR UPDATE OF x" if for_update else ""
    row = await conn.fetchrow(_SELECT + " WHERE x.conversation_id = $1" + lock, conversation_id)
    return from_row(Exchange, row)


async def get(conn: asyncpg.Connection, exchange_id: int, *, for_update: bool = False):
    lock = " FOR UPDATE OF x" if for_update else ""
    return from_row(Exchange, await conn.fetchrow(_SELECT + " WHERE x.id = $1" + lock, exchange_id))


async def set_disputed(conn: asyncpg.Connection, exchange_id: int, reason: str) -> None:
    await conn.execute(
        """
        UPDATE hours_exchanges SET state = 'disputed', dispute_reason = $2, disputed_at = now()
        WHERE id = $1
        """,
        exchange_id,
        reason,
    )


async def set_settled(
    conn: asyncpg.Connection, exchange_id: int, hours: Decimal, moderator_id: int
) -> None:
    await conn.execute(
        """
        UPDATE hours_exchanges
        SET state = 'settled', settled_hours = $2, settled_by = $3, settled_at = now()
        WHERE id = $1
        """,
        exchange_id,
        hours,
        moderator_id,
    )


async def disputed(conn: asyncpg.Connection) -> list[Exchange]:
    """The disputes moderators have to settle, oldest first."""
    rows = await conn.fetch(_SELECT + " WHERE x.state = 'disputed' ORDER BY x.disputed_at, x.id")
    return [from_row(Exchange, row) for row in rows]
