"""Queries for a resident's archive: what they did in the neighbourhood's economies (their
hours, pledges and bookings). Their saved searches are db.matching.account_searches."""

from __future__ import annotations

import asyncpg


async def pledges_of(conn: asyncpg.Connection, account_id: int) -> list[asyncpg.Record]:
    """Their pledges towards group purchases and projects here, oldest first: listing uid
    and title, kind, what is counted (a group purchase's unit, or a project's need as its
    details keep it, as JSON), quantity, updated_at."""
    return await conn.fetch(
        """
        SELECT l.uid, l.title, l.kind, l.details->>'unit' AS unit, NULL AS need,
               p.quantity::numeric AS quantity, p.updated_at
        FROM pledges p JOIN listings l ON l.id = p.listing_id
        WHERE p.account_id = $1
        UNION ALL
        SELECT l.uid, l.title, l.kind, NULL, (l.details->'needs'->(p.need::int))::text,
               p.quantity, p.updated_at
        FROM project_pledges p JOIN listings l ON l.id = p.listing_id
        WHERE p.account_id = $1
        ORDER BY updated_at
        """,
        account_id,
    )


async def bookings_of(conn: asyncpg.Connection, account_id: int) -> list[asyncpg.Record]:
    """The days they asked to borrow here, oldest first."""
    return await conn.fetch(
        """
        SELECT l.uid, l.title, b.pickup_on, b.return_on, b.state, b.note, b.created_at
        FROM bookings b JOIN listings l ON l.id = b.listing_id
        WHERE b.borrower_account_id = $1
        ORDER BY b.created_at, b.id
        """,
        account_id,
    )
