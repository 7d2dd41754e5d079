"""Queries on a neighbourhood project's pledges (migration 0047): residents' and remote
actors', per need, and the hours delivered for them. The outcome at the deadline is kept in
pledge_outcomes (db.pledges), as a group purchase's is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg


@dataclass(frozen=True)
class ProjectPledge:
    """One pledge towards one need: a resident's (account_id, username) or a remote actor's
    (actor_uri, with the Offer it came as)."""

    id: int
    listing_id: int
    need: int
    account_id: int | None
    username: str | None
    actor_uri: str | None
    offer_ap_id: str | None
    quantity: Decimal
    delivered: Decimal | None
    transfer_id: int | None
    event_id: str | None
    remote_state: str | None  # of the hours proposed to the pledger's node (event_id)
    updated_at: datetime

    @property
    def who(self) -> str:
        return f"@{self.username}" if self.username else str(self.actor_uri)


_SELECT = """
    SELECT p.id, p.listing_id, p.need, p.account_id, a.username, p.actor_uri, p.offer_ap_id, p.quantity,
           p.delivered, p.transfer_id, p.event_id, r.state AS remote_state, p.updated_at
    FROM project_pledges p
    LEFT JOIN accounts a ON a.id = p.account_id
    LEFT JOIN hours_remote_transfers r ON r.event_id = p.event_id
"""


async def pledged_per_need(conn: asyncpg.Connection, listing_id: int) -> dict[int, Decimal]:
    rows = await conn.fetch(
        "SELECT need, sum(quantity) AS total FROM project_pledges WHERE listing_id = $1 "
        "GROUP BY need",
        listing_id,
    )
    return {row["need"]: row["total"] for row in rows}


async def pledges(conn: asyncpg.Connection, listing_id: int) -> list[ProjectPledge]:
    rows = await conn.fetch(
        _SELECT + " WHERE p.listing_id = $1 ORDER BY p.need, p.created_at, p.id", listing_id
    )
    return [ProjectPledge(**dict(row)) for row in rows]


async def get_pledge(
    conn: asyncpg.Connection, pledge_id: int, *, for_update: bool = False
) -> ProjectPledge | None:
    lock = " FOR UPDATE OF p" if for_update else ""
    row = await conn.fetchrow(_SELECT + " WHERE p.id = $1" + lock, pledge_id)
    return ProjectPledge(**dict(row)) if row else None


async def my_pledges(conn: asyncpg.Connection, listing_id: int, account_id: int) -> dict:
    """This resident's pledges on the project: need -> quantity."""
    rows = await conn.fetch(
        "SELECT need, quantity FROM project_pledges WHERE listing_id = $1 AND account_id = $2",
        listing_id,
        account_id,
    )
    return {row["need"]: row["quantity"] for row in rows}


async def own_pledge(
    conn: asyncpg.Connection, listing_id: int, need: int, *,
    account_id: int | None = None, actor_uri: str | None = None,
) -> Decimal:  # fmt: skip
    """What this resident (or remote actor) pledged towards this need; 0 when nothing."""
    found = await conn.fetchval(
        """
        SELECT quantity FROM project_pledges
        WHERE listing_id = $1 AND need = $2
          AND (account_id = $3 OR actor_uri = $4)
        """,
        listing_id,
        need,
        account_id,
        actor_uri,
    )
    return found or Decimal(0)


async def has_pledges(conn: asyncpg.Connection, listing_id: int) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM project_pledges WHERE listing_id = $1)", listing_id
    )


async def has_offer(conn: asyncpg.Connection, offer_ap_id: str) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM project_pledges WHERE offer_ap_id = $1)", offer_ap_id
    )


async def set_pledge(
    conn: asyncpg.Connection, listing_id: int, need: int, quantity: Decimal, *,
    account_id: int | None = None, actor_uri: str | None = None, offer_ap_id: str | None = None,
) -> None:  # fmt: skip
    """A pledge, or its new quantity. A remote actor's first Offer stays the one the
    deadline's Accept or Reject names (their node keeps the conversation under it)."""
    target = "(listing_id, need, account_id)" if account_id else "(listing_id, need, actor_uri)"
    await conn.execute(
        f"""
        INSERT INTO project_pledges (listing_id, need, account_id, actor_uri, offer_ap_id,
                                     quantity)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT {target}
        DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()
        """,
        listing_id,
        need,
        account_id,
        actor_uri,
        offer_ap_id,
        quantity,
    )


async def delete_pledge(conn: asyncpg.Connection, listing_id: int, need: int, account_id: int):
    await conn.execute(
        "DELETE FROM project_pledges WHERE listing_id = $1 AND need = $2 AND account_id = $3",
        listing_id,
        need,
        account_id,
    )


async def set_delivered(
    conn: asyncpg.Connection, pledge_id: int, hours: Decimal, *,
    transfer_id: int | None = None, event_id: str | None = None,
) -> None:  # fmt: skip
    await conn.execute(
        """
        UPDATE project_pledges SET delivered = $2, transfer_id = $3, event_id = $4,
                                   updated_at = now()
        WHERE id = $1
        """,
        pledge_id,
        hours,
        transfer_id,
        event_id,
    )


async def clear_delivered(conn: asyncpg.Connection, pledge_id: int) -> None:
    """The pledger's node refused the hours: the organiser may record them again."""
    await conn.execute(
        "UPDATE project_pledges SET delivered = NULL, transfer_id = NULL, event_id = NULL "
        "WHERE id = $1",
        pledge_id,
    )
