"""Queries on the inbox queue: store an accepted activity once, claim, finish, retry, sum up.

A claim is a lease and a token. `locked_until` and `next_try_at` both move to the end of the
lease, so a live lease is skipped by the same due-index scan that finds work, and an item
whose worker died becomes due again when the lease runs out; the worker's heartbeat moves
both ahead while its handler runs (`renew_items`). `claim`, from the `queue_claims`
sequence, is the fencing token: renewing, finishing or retrying only touches the row while
it still carries the token of the claim, so a worker whose lease expired and was taken over
cannot keep the item or overwrite the newer outcome (see `federation.claims`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

INBOX_CHANNEL = "commonsfed_inbox"


@dataclass(frozen=True)
class NewItem:
    """An accepted activity to store, with the domain whose policy decides (unless not gated:
    our own domain, which no policy can refuse)."""

    activity_id: str
    actor_uri: str
    activity_json: str
    domain: str = ""
    gated: bool = False


# Every row's domain policy is read in the same statement as the insert, and every row gets
# its own result, in the order given: "refused" (its policy is not in $6; a block that is not
# a suspension reads as 'limited', see federation.policy), "suspended" (the moderators
# suspended its actor, see services.remote_moderation), "stored", or "duplicate" (stored
# before). The rows must have distinct activity ids.
_INSERT = """
    WITH incoming AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[])
            WITH ORDINALITY AS t (activity_id, actor_uri, activity, domain, gated, n)
    ), gate AS (
        SELECT incoming.*, NOT gated OR (CASE WHEN p.policy = 'block' AND p.severity <> 'suspend'
                                              THEN 'limited' ELSE coalesce(p.policy, '') END)
                                         = ANY($6::text[]) AS open,
               gated AND s.uri IS NOT NULL AS suspended
        FROM incoming LEFT JOIN domain_policies AS p ON p.domain = incoming.domain
        LEFT JOIN suspended_actors AS s ON s.uri = incoming.actor_uri
    ), stored AS (
        INSERT INTO inbox_items (activity_id, actor_uri, activity)
        SELECT activity_id, actor_uri, activity::jsonb FROM gate
        WHERE open AND NOT suspended ORDER BY n
        ON CONFLICT (activity_id) DO NOTHING
        RETURNING activity_id
    ), woken AS (
        SELECT {wake} AS woke FROM stored  -- one row, whatever was stored
    )
    SELECT CASE WHEN NOT gate.open THEN 'refused'
                WHEN gate.suspended THEN 'suspended'
                WHEN stored.activity_id IS NOT NULL THEN 'stored'
                ELSE 'duplicate' END
    FROM gate LEFT JOIN stored USING (activity_id) CROSS JOIN woken
    ORDER BY gate.n
"""
# pg_notify runs once per stored row, so a batch of duplicates wakes nobody
_INSERT_AND_NOTIFY = _INSERT.format(wake=f"count(pg_notify('{INBOX_CHANNEL}', ''))")
_INSERT_QUIETLY = _INSERT.format(wake="count(*)")


async def insert_items(
    conn: asyncpg.Connection,
    items: Sequence[NewItem],
    *,
    permitted: Sequence[str] = (),
    notify: bool = True,
) -> list[str]:
    """Store activities unless stored before, in one round trip and one transaction: for
    each, "stored" or "duplicate", or "refused" when it is gated and its domain's policy
    ("" for none) is not in `permitted`, or "suspended" when it is gated and its actor is
    suspended here.

    One statement for many rows is what lets the inbox keep up with a busy peer: a commit,
    its WAL flush and a round trip cost far more than a row (see `federation.inbox.Batches`).
    With `notify`, the NOTIFY rides along: sent only when a row was written, and delivered
    only once the rows are visible to the workers it wakes.
    """
    rows = await conn.fetch(
        _INSERT_AND_NOTIFY if notify else _INSERT_QUIETLY,
        [item.activity_id for item in items],
        [item.actor_uri for item in items],
        [item.activity_json for item in items],
        [item.domain for item in items],
        [item.gated for item in items],
        list(permitted),
    )
    return [row[0] for row in rows]


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
    """`insert_items` for one activity; `permitted` None means not gated."""
    item = NewItem(activity_id, actor_uri, activity_json, domain, gated=permitted is not None)
    (result,) = await insert_items(conn, [item], permitted=permitted or (), notify=notify)
    return result


async def notify_workers(conn: asyncpg.Connection) -> None:
    """Wake the inbox workers (for rows stored earlier without a NOTIFY of their own)."""
    await conn.execute(f"NOTIFY {INBOX_CHANNEL}")


# the oldest due pending items, leased, each under a claim token of its own: a function
# (migrations/0039_inbox_claim_function.sql) so that it is planned with the due index
# whatever the statistics say (tests/integration/test_queue_plans.py checks its plan)
CLAIM_ITEMS = "SELECT * FROM claim_inbox_items($1::interval, $2::integer)"


async def claim_items(
    conn: asyncpg.Connection, lease: timedelta, limit: int
) -> list[asyncpg.Record]:
    """Take up to `limit` of the oldest due pending items for `lease`, in the order they
    arrived; empty when nothing is due.

    SKIP LOCKED lets concurrent workers pass each other instead of queueing on one row;
    an expired lease is just a due row again.
    """
    rows = await conn.fetch(CLAIM_ITEMS, lease, limit)
    return sorted(rows, key=lambda row: row["id"])


async def renew_items(
    conn: asyncpg.Connection, claims: Sequence[tuple[int, int]], lease: timedelta
) -> set[int]:
    """Move the lease of (id, claim) items still under that claim `lease` ahead; returns
    the ids renewed (an item missing was finished, released or claimed by another since).
    An item locked just now is skipped, not waited for: it is the worker's own outcome being
    written (see `db.deliveries.renew_claims`: waiting deadlocked with that write)."""
    rows = await conn.fetch(
        """
        WITH free AS (
            SELECT item.id FROM inbox_items AS item
            JOIN unnest($1::bigint[], $2::bigint[]) AS held (id, claim)
                ON item.id = held.id AND item.claim = held.claim
            WHERE item.state = 'pending'
            FOR UPDATE OF item SKIP LOCKED
        )
        UPDATE inbox_items AS item
        SET locked_until = now() + $3::interval, next_try_at = now() + $3::interval
        FROM free WHERE item.id = free.id
        RETURNING item.id
        """,
        [item_id for item_id, _ in claims],
        [claim for _, claim in claims],
        lease,
    )
    return {row["id"] for row in rows}


@dataclass(frozen=True)
class Finished:
    """An outcome to record: a final state (done, unhandled, failed), or "pending" to try
    again at `next_try_at`."""

    id: int
    claim: int
    state: str
    error: str | None = None
    next_try_at: datetime | None = None


async def finish_items(conn: asyncpg.Connection, outcomes: Sequence[Finished]) -> set[int]:
    """Record the outcomes of many items in one statement; returns the ids recorded (one
    missing had lost its claim to another worker, which now records its own)."""
    rows = await conn.fetch(
        """
        UPDATE inbox_items AS item
        SET state = o.state, error = o.error, locked_until = NULL, claim = NULL,
            handled_at = CASE WHEN o.state = 'pending' THEN NULL ELSE now() END,
            next_try_at = coalesce(o.next_try_at, item.next_try_at)
        FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[])
            AS o (id, claim, state, error, next_try_at)
        WHERE item.id = o.id AND item.claim = o.claim AND item.state = 'pending'
        RETURNING item.id
        """,
        [o.id for o in outcomes],
        [o.claim for o in outcomes],
        [o.state for o in outcomes],
        [o.error for o in outcomes],
        [o.next_try_at for o in outcomes],
    )
    return {row["id"] for row in rows}


async def release_items(conn: asyncpg.Connection, claims: Sequence[tuple[int, int]]) -> int:
    """Hand back claimed but unfinished (id, claim) items (a worker shutting down): due again
    now."""
    if not claims:
        return 0
    result = await conn.execute(
        """
        UPDATE inbox_items AS item
        SET locked_until = NULL, next_try_at = now(), claim = NULL
        FROM unnest($1::bigint[], $2::bigint[]) AS held (id, claim)
        WHERE item.id = held.id AND item.claim = held.claim AND item.state = 'pending'
        """,
        [item_id for item_id, _ in claims],
        [claim for _, claim in claims],
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


async def prune_handled(conn: asyncpg.Connection, before: datetime, limit: int) -> int:
    """Delete up to `limit` inbox items handled (done or unhandled) before `before`. Until
    then a redelivery of the same activity is still recognised and not handled twice; peers
    retry for about two days, so keep them well past that. Failed items stay for the admin."""
    return await conn.fetchval(
        """
        WITH gone AS (
            DELETE FROM inbox_items WHERE id IN (
                SELECT id FROM inbox_items
                WHERE state IN ('done', 'unhandled') AND handled_at < $1
                LIMIT $2
            )
            RETURNING 1
        )
        SELECT count(*)::int FROM gone
        """,
        before,
        limit,
    )
