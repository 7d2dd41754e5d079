"""Queries on the delivery queue, and on the hosts whose deliveries keep failing.

A row is claimed by setting `locked_until` (a lease) and `claim` (a token from the
`queue_claims` sequence) under `FOR UPDATE SKIP LOCKED`, as procrastinate claims its jobs:
a claimed row is one whose `locked_until` is still ahead, so a worker killed mid-delivery
loses nothing; its rows come due again when the lease ends. The lease is short and renewed
by the worker's heartbeat (`renew_claims`) while it works; the token is what every renewing,
finishing and releasing query matches on, so a worker whose lease ran out cannot renew,
overwrite or release what another one claimed since (see `federation.claims`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import asyncpg

DELIVERY_CHANNEL = "commonsfed_deliveries"


async def insert_deliveries(
    conn: asyncpg.Connection,
    activity_uri: str,
    inboxes: list[str],
    hosts: Mapping[str, str] | None = None,
) -> int:
    """One row per inbox, in one statement, then a NOTIFY that reaches the workers when the
    transaction commits. Rows are numbered host by host, so that a claim, which takes the
    oldest first, finds a host's deliveries side by side. `hosts`: each inbox's host, when
    the caller has them (else each inbox is parsed here)."""
    if not inboxes:
        return 0
    host_of = hosts or {inbox: urlsplit(inbox).netloc.lower() for inbox in inboxes}
    rows = sorted((host_of[inbox], inbox) for inbox in inboxes)
    await conn.execute(
        """
        INSERT INTO deliveries (activity_uri, inbox, host)
        SELECT $1, u.inbox, u.host
        FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(host, inbox, n)
        ORDER BY u.n
        ON CONFLICT (activity_uri, inbox) DO NOTHING
        """,
        activity_uri,
        [host for host, _ in rows],
        [inbox for _, inbox in rows],
    )
    await conn.execute(f"NOTIFY {DELIVERY_CHANNEL}")
    return len(inboxes)


# --- Claiming ----------------------------------------------------------------------------

_CLAIMED_COLUMNS = """
    d.id, d.activity_uri, d.inbox, d.host, d.attempts, d.created_at, d.claim,
    a.actor_uri, a.document::text AS document
"""

_DUE = """
    d.state = 'pending' AND d.next_try_at <= now()
    AND (d.locked_until IS NULL OR d.locked_until <= now())
"""

# Probes first: a parked host whose park has ended gets its oldest due delivery, and its
# `parked_until` moves a lease ahead, so no other worker probes it meanwhile.
_CLAIM_PROBES = f"""
WITH probe AS (
    SELECT h.host, p.id
    FROM hosts h
    CROSS JOIN LATERAL (
        SELECT d.id FROM deliveries d
        WHERE d.host = h.host AND {_DUE}
        ORDER BY d.next_try_at, d.id
        LIMIT 1
        FOR UPDATE OF d SKIP LOCKED
    ) p
    WHERE h.parked_until <= now()
    ORDER BY h.parked_until
    LIMIT $1
    FOR UPDATE OF h SKIP LOCKED
), held AS (
    UPDATE hosts h SET parked_until = now() + $2::interval
    FROM probe WHERE h.host = probe.host
)
UPDATE deliveries d
SET locked_until = now() + $2::interval, claim = nextval('queue_claims')
FROM probe, activities a
WHERE d.id = probe.id AND a.uri = d.activity_uri
RETURNING {_CLAIMED_COLUMNS}, true AS probe
"""

# The oldest due rows, in the due index's order, then the other due rows of the same hosts
# (up to $3 a host in all, in any order), so that a host without a shared inbox gets its
# deliveries in one batch, sent over one connection (federation.lanes). Parked hosts are
# left out by a filter on an array read once, not by a join. The claim runs under
# CLAIM_SETTINGS: see there.
_CLAIM_DUE = f"""
WITH due AS (
    SELECT d.id, d.host FROM deliveries d
    WHERE {_DUE}
      AND d.host <> ALL (ARRAY(SELECT h.host FROM hosts h WHERE h.parked_until IS NOT NULL))
    ORDER BY d.next_try_at, d.id
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
), same_host AS (
    SELECT more.id
    FROM (SELECT DISTINCT due.host FROM due) AS h
    CROSS JOIN LATERAL (
        SELECT d.id FROM deliveries d
        WHERE d.host = h.host AND {_DUE}
        LIMIT $3
        FOR UPDATE OF d SKIP LOCKED
    ) AS more
)
UPDATE deliveries d
SET locked_until = now() + $2::interval, claim = nextval('queue_claims')
FROM activities a
WHERE d.id = ANY (ARRAY(SELECT due.id FROM due UNION ALL SELECT same_host.id FROM same_host))
  AND a.uri = d.activity_uri
RETURNING {_CLAIMED_COLUMNS}, false AS probe
"""

# The claims run with sorting priced out, in their own transaction. The oldest due rows are
# what the due index gives first; a plan that sorts instead reads every due row, the whole
# backlog once one builds up. Which the planner picks depends on how many due rows it
# expects, and no wording of the query kept it right for all statistics: taken while the
# queue was empty, they promise a handful of rows and it sorts them; on a table never
# analysed, even one step of ORDER BY ... LIMIT 1 after a given row was sorted. With sorts
# priced out, the index is the only way left to that order.
CLAIM_SETTINGS = "SET LOCAL enable_sort = off"

# for the test that checks the claim's plan over a backlog (tests/integration/test_queue_plans.py)
CLAIM_DUE = _CLAIM_DUE


async def claim_due(
    conn: asyncpg.Connection, limit: int, lease: timedelta, per_host: int = 16
) -> list[asyncpg.Record]:
    """Lease the `limit` oldest due deliveries, with the other due deliveries of their hosts
    (up to `per_host` a host in all), with their activity and its actor.

    A host that is parked (`hosts.parked_until` set) gets none, except one probe once its
    park has ended. Columns: id, activity_uri, inbox, host, attempts, created_at, claim
    (the token, which the renewing and finishing queries want back), actor_uri, document
    (JSON text), probe.
    """
    async with conn.transaction():
        await conn.execute(CLAIM_SETTINGS)
        rows = await conn.fetch(_CLAIM_PROBES, limit, lease)
        if len(rows) < limit:
            rows += await conn.fetch(_CLAIM_DUE, limit - len(rows), lease, per_host)
    return sorted(rows, key=lambda row: row["id"])


async def renew_claims(
    conn: asyncpg.Connection, claims: Sequence[tuple[int, int, str | None]], lease: timedelta
) -> set[int]:
    """(id, claim, probed host or None) rows: the lease of each row still under that claim
    moves `lease` ahead, and so does the hold on a host this claim probes (which
    `_CLAIM_PROBES` set, so that no other worker probes it meanwhile; never shortened, as a
    host parked again meanwhile stays parked). Returns the ids renewed: a row missing was
    finished, released or claimed by another worker since.

    A row locked just now is skipped, not waited for: it is the worker's own outcome being
    written (which let go of it first, see `federation.claims.Held`). Waiting would lock
    rows in another order than that write does, and the two deadlocked.
    """
    rows = await conn.fetch(
        """
        WITH free AS (
            SELECT d.id, u.probed
            FROM deliveries d
            JOIN unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(id, claim, probed)
                ON d.id = u.id AND d.claim = u.claim
            WHERE d.state = 'pending'
            FOR UPDATE OF d SKIP LOCKED
        ), renewed AS (
            UPDATE deliveries d SET locked_until = now() + $4::interval
            FROM free WHERE d.id = free.id
            RETURNING d.id, free.probed
        ), held AS (
            UPDATE hosts h SET parked_until = greatest(h.parked_until, now() + $4::interval)
            FROM renewed WHERE h.host = renewed.probed AND h.parked_until IS NOT NULL
        )
        SELECT id FROM renewed
        """,
        *_columns(claims, 3),
        lease,
    )
    return {row["id"] for row in rows}


async def release_claims(conn: asyncpg.Connection, claims: Sequence[tuple[int, int]]) -> int:
    """Give back claimed (id, claim) rows without counting an attempt (a worker shutting
    down)."""
    result = await conn.execute(
        """
        UPDATE deliveries d SET locked_until = NULL, claim = NULL
        FROM unnest($1::bigint[], $2::bigint[]) AS u(id, claim)
        WHERE d.id = u.id AND d.claim = u.claim AND d.state = 'pending'
        """,
        *_columns(claims, 2),
    )
    return _count(result)


# --- Finishing -----------------------------------------------------------------------------


async def commit_without_waiting(conn: asyncpg.Connection) -> None:
    """The transaction's COMMIT does not wait for its WAL to reach the disk.

    Outcomes are written a few at a time as answers come in, and waiting for the disk at
    each of those commits (a millisecond or more) was most of a batch's time. What a crash
    of PostgreSQL can lose is the last fraction of a second of outcomes: those deliveries
    go again, which delivery at least once allows (peers drop what they have by its id).
    """
    await conn.execute("SET LOCAL synchronous_commit = off")

# Each takes (id, claim, status, ...) tuples, so that a worker records the outcomes that came
# in together in one statement per kind of outcome.


async def mark_done(conn: asyncpg.Connection, rows: Sequence[tuple[int, int, int | None]]) -> int:
    result = await conn.execute(
        """
        UPDATE deliveries d SET state = 'done', attempts = d.attempts + 1, finished_at = now(),
            locked_until = NULL, claim = NULL, last_status = u.status, last_error = NULL
        FROM unnest($1::bigint[], $2::bigint[], $3::integer[]) AS u(id, claim, status)
        WHERE d.id = u.id AND d.claim = u.claim AND d.state = 'pending'
        """,
        *_columns(rows, 3),
    )
    return _count(result)


async def schedule_retries(
    conn: asyncpg.Connection,
    rows: Sequence[tuple[int, int, int | None, str | None, datetime]],
) -> int:
    """(id, claim, status, error, next_try_at) rows go back to the queue, one attempt more."""
    result = await conn.execute(
        """
        UPDATE deliveries d SET attempts = d.attempts + 1, next_try_at = u.next_try_at,
            locked_until = NULL, claim = NULL, last_status = u.status, last_error = u.error
        FROM unnest($1::bigint[], $2::bigint[], $3::integer[], $4::text[],
                    $5::timestamptz[]) AS u(id, claim, status, error, next_try_at)
        WHERE d.id = u.id AND d.claim = u.claim AND d.state = 'pending'
        """,
        *_columns(rows, 5),
    )
    return _count(result)


async def mark_failed(
    conn: asyncpg.Connection, rows: Sequence[tuple[int, int, int | None, str | None]]
) -> int:
    """(id, claim, status, error) rows are given up."""
    result = await conn.execute(
        """
        UPDATE deliveries d SET state = 'failed', attempts = d.attempts + 1,
            finished_at = now(), locked_until = NULL, claim = NULL, last_status = u.status,
            last_error = u.error
        FROM unnest($1::bigint[], $2::bigint[], $3::integer[], $4::text[])
            AS u(id, claim, status, error)
        WHERE d.id = u.id AND d.claim = u.claim AND d.state = 'pending'
        """,
        *_columns(rows, 4),
    )
    return _count(result)


def _columns(rows: Sequence[tuple], width: int) -> list[list]:
    return [[row[i] for row in rows] for i in range(width)]


def _count(status: str) -> int:
    """The row count from asyncpg's command tag, e.g. "UPDATE 3"."""
    return int(status.rsplit(" ", 1)[-1])


# --- Hosts ----------------------------------------------------------------------------------


async def record_host_results(
    conn: asyncpg.Connection, results: Sequence[tuple[str, bool, int, str | None]]
) -> list[asyncpg.Record]:
    """(host, answered, failures, last error) per host, from one batch of deliveries.

    A host that answered is reset: no failures, not parked. Otherwise its failures add up
    and `failing_since` keeps the first. Hosts are written in name order so that two
    workers recording at once lock them in the same order and cannot deadlock.
    Returns host, consecutive_failures, failing_since, parked_until, now for the failing.
    """
    ordered = sorted(results)
    return await conn.fetch(
        """
        INSERT INTO hosts AS h (host, consecutive_failures, failing_since, last_success_at,
                                last_error)
        SELECT u.host, CASE WHEN u.ok THEN 0 ELSE u.failures END,
               CASE WHEN u.ok THEN NULL ELSE now() END, CASE WHEN u.ok THEN now() END, u.error
        FROM unnest($1::text[], $2::boolean[], $3::integer[], $4::text[])
            WITH ORDINALITY AS u(host, ok, failures, error, n)
        ORDER BY u.n
        ON CONFLICT (host) DO UPDATE SET
            consecutive_failures = CASE WHEN EXCLUDED.last_success_at IS NOT NULL THEN 0
                ELSE h.consecutive_failures + EXCLUDED.consecutive_failures END,
            failing_since = CASE WHEN EXCLUDED.last_success_at IS NOT NULL THEN NULL
                ELSE coalesce(h.failing_since, now()) END,
            parked_until = CASE WHEN EXCLUDED.last_success_at IS NOT NULL THEN NULL
                ELSE h.parked_until END,
            last_success_at = coalesce(EXCLUDED.last_success_at, h.last_success_at),
            last_error = coalesce(EXCLUDED.last_error, h.last_error)
        RETURNING h.host, h.consecutive_failures, h.failing_since, h.parked_until,
                  now() AS now
        """,
        *_columns(ordered, 4),
    )


async def park_host(conn: asyncpg.Connection, host: str, until: datetime) -> None:
    await conn.execute("UPDATE hosts SET parked_until = $2 WHERE host = $1", host, until)


async def fail_stale_for_host(
    conn: asyncpg.Connection, host: str, created_before: datetime, reason: str
) -> int:
    """Give up the host's unclaimed deliveries older than the retry window.

    A parked host is only probed, one delivery per park, so without this its queue
    would outgrow what the probes can ever give up."""
    result = await conn.execute(
        """
        UPDATE deliveries SET state = 'failed', finished_at = now(), last_error = $3
        WHERE id IN (
            SELECT id FROM deliveries
            WHERE host = $1 AND state = 'pending' AND created_at < $2
              AND (locked_until IS NULL OR locked_until <= now())
            FOR UPDATE SKIP LOCKED
        )
        """,
        host,
        created_before,
        reason,
    )
    return _count(result)


# --- For admins ----------------------------------------------------------------------------


async def drop_pending_for_host(
    conn: asyncpg.Connection, host: str, reason: str = "dropped: the domain is blocked"
) -> int:
    """Give up every pending delivery to `host` (after a domain block); returns how many.

    Rows in flight are dropped too: once they are not pending, the worker's result misses."""
    result = await conn.execute(
        """
        UPDATE deliveries SET state = 'failed', finished_at = now(), locked_until = NULL,
            claim = NULL, last_error = $2
        WHERE host = $1 AND state = 'pending'
        """,
        host.lower(),
        reason,
    )
    return _count(result)


async def queue_summary(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Per host with deliveries not done: pending, retrying (pending, tried before), parked
    (bool) and parked_until, failed, oldest_next_try_at (of the pending), last_error."""
    return await conn.fetch(
        """
        SELECT d.host,
               count(*) FILTER (WHERE d.state = 'pending') AS pending,
               count(*) FILTER (WHERE d.state = 'pending' AND d.attempts > 0) AS retrying,
               coalesce(h.parked_until IS NOT NULL, false) AS parked,
               h.parked_until,
               count(*) FILTER (WHERE d.state = 'failed') AS failed,
               min(d.next_try_at) FILTER (WHERE d.state = 'pending') AS oldest_next_try_at,
               h.last_error
        FROM deliveries d LEFT JOIN hosts h ON h.host = d.host
        WHERE d.state <> 'done'
        GROUP BY d.host, h.parked_until, h.last_error
        ORDER BY pending DESC, d.host
        """
    )


async def prune_finished(conn: asyncpg.Connection, done_before: datetime, failed_before: datetime,
                         limit: int) -> int:
    """Delete up to `limit` deliveries that finished long enough ago: done ones before
    `done_before`, given-up ones before `failed_before` (kept longer, for `commonsfed queue`)."""
    return await conn.fetchval(
        """
        WITH gone AS (
            DELETE FROM deliveries WHERE id IN (
                SELECT id FROM deliveries
                WHERE (state = 'done' AND finished_at < $1)
                   OR (state = 'failed' AND finished_at < $2)
                LIMIT $3
            )
            RETURNING 1
        )
        SELECT count(*)::int FROM gone
        """,
        done_before,
        failed_before,
        limit,
    )
