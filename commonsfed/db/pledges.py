"""Queries on pledges and claims from other nodes, and on a group purchase's outcome at its
deadline (migration 0043). Residents' own pledges and claims are in db.listings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg


@dataclass(frozen=True)
class Pledger:
    """One pledge towards a group purchase: a resident here (account_id) or a remote actor
    (actor_uri, with the Offer it came as)."""

    account_id: int | None
    actor_uri: str | None
    offer_ap_id: str | None
    quantity: int


async def set_remote_pledge(
    conn: asyncpg.Connection, listing_id: int, actor_uri: str, offer_ap_id: str, quantity: int
) -> None:
    """A remote actor's pledge, or its new quantity; the first Offer stays the one that the
    deadline's Accept or Reject names (their node keeps the conversation under it)."""
    await conn.execute(
        """
        INSERT INTO pledges (listing_id, actor_uri, offer_ap_id, quantity)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (listing_id, actor_uri)
        DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()
        """,
        listing_id,
        actor_uri,
        offer_ap_id,
        quantity,
    )


async def has_offer(conn: asyncpg.Connection, offer_ap_id: str) -> bool:
    """An Offer counted already, as a pledge or a claim (a copy of it changes nothing)."""
    return await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM pledges WHERE offer_ap_id = $1)
            OR EXISTS (SELECT 1 FROM claims WHERE offer_ap_id = $1)
        """,
        offer_ap_id,
    )


async def insert_remote_claim(
    conn: asyncpg.Connection, listing_id: int, actor_uri: str, offer_ap_id: str
) -> bool:
    """False when this actor claimed a portion already."""
    result = await conn.execute(
        """
        INSERT INTO claims (listing_id, actor_uri, offer_ap_id) VALUES ($1, $2, $3)
        ON CONFLICT (listing_id, actor_uri) DO NOTHING
        """,
        listing_id,
        actor_uri,
        offer_ap_id,
    )
    return result == "INSERT 0 1"


async def pledgers(conn: asyncpg.Connection, listing_id: int) -> list[Pledger]:
    rows = await conn.fetch(
        """
        SELECT account_id, actor_uri, offer_ap_id, quantity FROM pledges
        WHERE listing_id = $1 ORDER BY created_at
        """,
        listing_id,
    )
    return [Pledger(**dict(row)) for row in rows]


async def due_deadlines(conn: asyncpg.Connection, today: date, limit: int) -> list[str]:
    """Group purchases and projects whose last day for pledges is before `today` (the
    node's day) and whose outcome is not decided yet: their uids."""
    rows = await conn.fetch(
        """
        SELECT l.uid FROM listings l
        WHERE l.kind IN ('group_purchase', 'project') AND l.state IN ('open', 'reserved')
          AND l.details->>'deadline' < $1
          AND NOT EXISTS (SELECT 1 FROM pledge_outcomes o WHERE o.listing_id = l.id)
        ORDER BY l.details->>'deadline', l.id
        LIMIT $2
        """,
        today.isoformat(),  # ISO days sort as text
        limit,
    )
    return [row["uid"] for row in rows]


async def decide_outcome(
    conn: asyncpg.Connection, listing_id: int, outcome: str, pledged: int, now: datetime
) -> bool:
    """Record the outcome; False when another worker recorded it first."""
    result = await conn.execute(
        """
        INSERT INTO pledge_outcomes (listing_id, outcome, pledged, decided_at)
        VALUES ($1, $2, $3, $4) ON CONFLICT (listing_id) DO NOTHING
        """,
        listing_id,
        outcome,
        pledged,
        now,
    )
    return result == "INSERT 0 1"


async def outcome_of(conn: asyncpg.Connection, listing_id: int) -> str | None:
    return await conn.fetchval(
        "SELECT outcome FROM pledge_outcomes WHERE listing_id = $1", listing_id
    )


async def undecided_listings_of_actor(conn: asyncpg.Connection, actor_uri: str) -> list[str]:
    """The uids of the group purchases and projects not yet decided that `actor_uri`
    pledged towards (db.projects keeps a project's pledges)."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT l.uid FROM listings l
        WHERE l.id IN (SELECT listing_id FROM pledges WHERE actor_uri = $1
                       UNION SELECT listing_id FROM project_pledges WHERE actor_uri = $1)
          AND NOT EXISTS (SELECT 1 FROM pledge_outcomes o WHERE o.listing_id = l.id)
        ORDER BY l.uid
        """,
        actor_uri,
    )
    return [row["uid"] for row in rows]


async def delete_of_actor(conn: asyncpg.Connection, listing_id: int, actor_uri: str) -> None:
    """The actor's pledges towards this listing, a group purchase's or a project's."""
    await conn.execute(
        "DELETE FROM pledges WHERE listing_id = $1 AND actor_uri = $2", listing_id, actor_uri
    )
    await conn.execute(
        "DELETE FROM project_pledges WHERE listing_id = $1 AND actor_uri = $2",
        listing_id,
        actor_uri,
    )
