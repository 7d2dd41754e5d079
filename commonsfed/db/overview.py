"""Queries for the admin's dashboard (/admin): how many, how busy, what is failing."""

from __future__ import annotations

import asyncpg

# a host counts as failing from its first failed delivery since its last success
FAILING_HOSTS_SHOWN = 10


async def people(conn: asyncpg.Connection) -> asyncpg.Record:
    """Residents (active accounts), those seen in 30 days (by their account, or a session
    of theirs, which keeps its own time of last use), accounts waiting for approval, open
    reports."""
    return await conn.fetchrow(
        """
        SELECT
            (SELECT count(*) FROM accounts WHERE status = 'active') AS residents,
            (SELECT count(*) FROM accounts WHERE status = 'active'
                AND last_seen_at > now() - interval '30 days') AS active_month,
            (SELECT count(*) FROM accounts WHERE status = 'pending') AS pending_accounts,
            (SELECT count(*) FROM reports WHERE resolved_at IS NULL) AS open_reports
        """
    )


async def listings_by_state(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT state, count(*) AS n FROM listings GROUP BY state")
    counts = dict.fromkeys(("open", "reserved", "completed", "withdrawn", "expired"), 0)
    return counts | {row["state"]: row["n"] for row in rows}


async def queue_depths(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Per queue: items waiting, of them tried before (retrying), given up, and when the
    oldest waiting one arrived."""
    return await conn.fetch(
        """
        SELECT 'inbox' AS queue,
               count(*) FILTER (WHERE state = 'pending') AS waiting,
               count(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS retrying,
               count(*) FILTER (WHERE state = 'failed') AS failed,
               min(received_at) FILTER (WHERE state = 'pending') AS oldest
        FROM inbox_items WHERE state IN ('pending', 'failed')
        UNION ALL
        SELECT 'deliveries', count(*) FILTER (WHERE state = 'pending'),
               count(*) FILTER (WHERE state = 'pending' AND attempts > 0),
               count(*) FILTER (WHERE state = 'failed'),
               min(created_at) FILTER (WHERE state = 'pending')
        FROM deliveries WHERE state <> 'done'
        UNION ALL
        SELECT 'mail', count(*) FILTER (WHERE state = 'pending'),
               count(*) FILTER (WHERE state = 'pending' AND attempts > 0),
               count(*) FILTER (WHERE state = 'failed'),
               min(created_at) FILTER (WHERE state = 'pending')
        FROM outgoing_mail WHERE state <> 'sent'
        UNION ALL
        SELECT 'exports', count(*) FILTER (WHERE state = 'pending'),
               count(*) FILTER (WHERE state = 'pending' AND attempts > 0),
               count(*) FILTER (WHERE state = 'failed'),
               min(created_at) FILTER (WHERE state = 'pending')
        FROM exports WHERE state <> 'done'
        """
    )


async def failing_hosts(
    conn: asyncpg.Connection, limit: int = FAILING_HOSTS_SHOWN
) -> tuple[int, list[asyncpg.Record]]:
    """How many hosts fail deliveries now, and the `limit` failing longest."""
    total = await conn.fetchval("SELECT count(*) FROM hosts WHERE consecutive_failures > 0")
    rows = await conn.fetch(
        """
        SELECT host, consecutive_failures, failing_since, parked_until, last_error
        FROM hosts WHERE consecutive_failures > 0
        ORDER BY failing_since NULLS LAST, host LIMIT $1
        """,
        limit,
    )
    return total, rows
