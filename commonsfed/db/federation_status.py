"""Queries for the admin's federation pages: every host this node deals with, a host's
deliveries sent again now, and the activities the inbox did not handle."""

from __future__ import annotations

import asyncpg

from commonsfed.db.deliveries import DELIVERY_CHANNEL

# the host part of an actor's id, as db.policies reads it
_HOST = "split_part(split_part({uri}, '://', 2), '/', 1)"

_HOSTS = f"""
    WITH follow_hosts AS (
        SELECT {_HOST.format(uri="follower_uri")} AS host, 'follower' AS side, state FROM follows
        UNION ALL
        SELECT {_HOST.format(uri="followed_uri")}, 'followed', state FROM follows
    ), follow_counts AS (
        SELECT host,
               count(*) FILTER (WHERE side = 'follower' AND state = 'accepted') AS followers,
               count(*) FILTER (WHERE side = 'followed' AND state = 'accepted') AS following,
               count(*) FILTER (WHERE state = 'pending') AS follows_pending
        FROM follow_hosts WHERE host <> $1 GROUP BY host
    ), waiting AS (
        SELECT host, count(*) FILTER (WHERE state = 'pending') AS pending,
               count(*) FILTER (WHERE state = 'failed') AS failed
        FROM deliveries WHERE state <> 'done' GROUP BY host
    ), known AS (
        SELECT host FROM hosts UNION SELECT host FROM follow_counts UNION SELECT host FROM waiting
    )
    SELECT known.host,
           coalesce(f.followers, 0) AS followers, coalesce(f.following, 0) AS following,
           coalesce(f.follows_pending, 0) AS follows_pending,
           coalesce(w.pending, 0) AS pending, coalesce(w.failed, 0) AS failed,
           h.last_success_at, h.last_error, h.failing_since,
           coalesce(h.consecutive_failures, 0) AS consecutive_failures,
           h.parked_until, p.policy
    FROM known
    LEFT JOIN follow_counts AS f USING (host)
    LEFT JOIN waiting AS w USING (host)
    LEFT JOIN hosts AS h USING (host)
    LEFT JOIN domain_policies AS p ON p.domain = known.host
"""


async def host_rows(conn: asyncpg.Connection, own_host: str) -> list[asyncpg.Record]:
    """Every other host that follows, is followed, or has deliveries or a delivery record:
    follows each way, deliveries waiting and given up, last success and error, parked until;
    failing ones first, then by name."""
    return await conn.fetch(
        _HOSTS + " ORDER BY (h.consecutive_failures > 0) DESC NULLS LAST, known.host", own_host
    )


async def host_row(conn: asyncpg.Connection, own_host: str, host: str) -> asyncpg.Record | None:
    return await conn.fetchrow(_HOSTS + " WHERE known.host = $2", own_host, host)


async def retry_host(conn: asyncpg.Connection, host: str) -> int:
    """Unpark `host` and make its waiting deliveries due now (not those a worker holds:
    their claim ends soon enough); how many were made due. Its failures are kept, so one
    more failure parks it again at once."""
    await conn.execute("UPDATE hosts SET parked_until = NULL WHERE host = $1", host)
    result = await conn.execute(
        """
        UPDATE deliveries SET next_try_at = now()
        WHERE host = $1 AND state = 'pending' AND (locked_until IS NULL OR locked_until <= now())
        """,
        host,
    )
    await conn.execute(f"NOTIFY {DELIVERY_CHANNEL}")  # the workers hear it on commit
    return int(result.split()[-1])


async def not_handled(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """The newest activities the inbox did not handle (no handler: 'unhandled'; a handler
    gave up: 'failed'), with why and the activity as received. Unhandled ones are kept two
    weeks (the scheduled pruning); failed ones until an admin deals with them."""
    return await conn.fetch(
        """
        SELECT id, activity_id, actor_uri, jsonb_pretty(activity) AS activity, state, error,
               attempts, received_at, handled_at
        FROM inbox_items WHERE state IN ('unhandled', 'failed')
        ORDER BY handled_at DESC, id DESC LIMIT $1
        """,
        limit,
    )
