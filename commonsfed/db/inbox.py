"""Queries on the inbox queue: store an accepted activity once, claim, finish, retry, sum up.

A claim is a lease: `locked_until` and `next_try_at` both move to the end of the lease, so
a live lease is skipped by the same due-index scan that finds work, and an item whose worker
died becomes due again when the lease runs out. The lease's end doubles as a fencing token:
finishing or retrying only touches the row while it still carries the token of the claim,
so a worker whose lease expired and was taken over cannot overwrite the newer outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

INBOX_CHANNEL = "commonsfed_inbox"


_INSERT = """
    WITH policy AS (
        SELECT coalesce((SELECT policy FROM domain_policies WHERE domain = $4), '') AS name
    ), gate AS (
        SELECT $5::text[] IS NULL OR name = ANY($5::text[]) AS open FROM policy
    ), stored AS (
        INSERT INTO inbox_items (activity_id, actor_uri, activity)
        SELECT $1, $2, $3::jsonb FROM gate WHERE gate.open
        ON CONFLICT (activity_id) DO NOTHING
        RETURNING id
    )
    SELECT CASE WHEN NOT (SELECT open FROM gate) THEN 'refused'
                WHEN {count} > 0 THEN 'stored'
                ELSE 'duplicate' END
    FROM stored
"""
# pg_notify runs once per stored row, so a duplicate wakes nobody
_INSERT_AND_NOTIFY = _INSERT.format(count=f"count(pg_notify('{INBOX_CHANNEL}', ''))")
_INSERT_QUIETLY = _INSERT.format(count="count(*)")


async def insert_item(
    conn: asyncpg.Connection,
    activity_id: str,
    actor_uri: str,
    activity_json: str,
    *,
    domain: str = "",
    permitted: list[str] | None = None,
    notify: bool = True,
) -> str:
    """Store an activity unless stored before, in one round trip: "stored" or "duplicate";
    with `permitted`, "refused" when the domain's policy ("" for none) is not in it.

    The policy is read in the same statement, so the inbox's hot path costs one round trip.
    With `notify`, the NOTIFY rides along: sent only when a row was written, and delivered
    only once the row is visible to the workers it wakes.
    """
    return await conn.fetchval(
        _INSERT_AND_NOTIFY if notify else _INSERT_QUIETLY,
        activity_id,
        actor_uri,
        activity_json,
        domain,
        permitted,
    )


async def notify_workers(conn: asyncpg.Connection) -> None:
    """Wake the inbox workers (for rows stored earlier without a NOTIFY of their own)."""
    await conn.execute(f"NOTIFY {INBOX_CHANNEL}")


async def claim_item(conn: asyncpg.Connection, lease: timedelta) -> asyncpg.Record | None:
    """Take the oldest due pending item for `lease`; None when nothing is due.

    SKIP LOCKED lets concurrent workers pass each other instead of queueing on one row;
    an expired lease is just a due row again.
    """
    return await conn.fetchrow(
        """
        UPDATE inbox_items
        SET locked_until = now() + $1::interval, next_try_at = now() + $1::interval,
            attempts = attempts + 1
        WHERE id = (
            SELECT id FROM inbox_items
            WHERE state = 'pending' AND next_try_at <= now()
              AND (locked_until IS NULL OR locked_until <= now())
            ORDER BY next_try_at, id
            LIMIT 1
            FOR UPDATE SKIP LOCKED
        )
        RETURNING id, activity_id, actor_uri, activity, attempts, received_at, locked_until
        """,
        lease,
    )


async def finish_item(
    conn: asyncpg.Connection, item_id: int, lease_token: datetime, state: str, error: str | None
) -> bool:
    """Record a final state (done, unhandled, failed); False when the lease was lost."""
    result = await conn.execute(
        """
        UPDATE inbox_items
        SET state = $3, error = $4, handled_at = now(), locked_until = NULL
        WHERE id = $1 AND locked_until = $2 AND state = 'pending'
        """,
        item_id,
        lease_token,
        state,
        error,
    )
    return result == "UPDATE 1"


async def retry_item(
    conn: asyncpg.Connection,
    item_id: int,
    lease_token: datetime,
    next_try_at: datetime,
    error: str,
) -> bool:
    """Put the item back for a later try; False when the lease was lost."""
    result = await conn.execute(
        """
        UPDATE inbox_items
        SET next_try_at = $3, error = $4, locked_until = NULL
        WHERE id = $1 AND locked_until = $2 AND state = 'pending'
        """,
        item_id,
        lease_token,
        next_try_at,
        error,
    )
    return result == "UPDATE 1"


async def release_items(conn: asyncpg.Connection, claims: list[tuple[int, datetime]]) -> int:
    """Hand back claimed but unfinished items (a worker shutting down): due again now."""
    if not claims:
        return 0
    result = await conn.execute(
        """
        UPDATE inbox_items AS item
        SET locked_until = NULL, next_try_at = now()
        FROM unnest($1::bigint[], $2::timestamptz[]) AS claim (id, token)
        WHERE item.id = claim.id AND item.locked_until = claim.token AND item.state = 'pending'
        """,
        [item_id for item_id, _ in claims],
        [token for _, token in claims],
    )
    return int(result.split()[-1])


@dataclass(frozen=True)
class UnhandledPair:
    type: str
    object_type: str | None  # None when the object is a bare URI
    count: int


@dataclass(frozen=True)
class InboxSummary:
    counts: dict[str, int]  # by state, every state present (0 when none)
    unhandled: list[UnhandledPair]  # the most frequent first


async def inbox_summary(conn: asyncpg.Connection, top: int = 10) -> InboxSummary:
    """What `commonsfed queue` shows: items by state, and what arrives that we do not handle."""
    rows = await conn.fetch("SELECT state, count(*) AS n FROM inbox_items GROUP BY state")
    counts = dict.fromkeys(("pending", "done", "unhandled", "failed"), 0)
    counts |= {row["state"]: row["n"] for row in rows}
    pairs = await conn.fetch(
        """
        SELECT activity->>'type' AS type,
               CASE WHEN jsonb_typeof(activity->'object') = 'object'
                    THEN activity->'object'->>'type' END AS object_type,
               count(*) AS n
        FROM inbox_items WHERE state = 'unhandled'
        GROUP BY 1, 2 ORDER BY n DESC, 1, 2 NULLS FIRST LIMIT $1
        """,
        top,
    )
    return InboxSummary(counts, [UnhandledPair(r["type"], r["object_type"], r["n"]) for r in pairs])
