"""Queries on residents' exports: the queue that builds their archives, and the archives."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg
import orjson

from commonsfed.models import Export, from_row

EXPORTS_CHANNEL = "commonsfed_exports"
_COLUMNS = "id, account_id, state, filename, size, attempts, error, created_at, finished_at"


async def request_export(conn: asyncpg.Connection, account_id: int) -> tuple[Export, bool]:
    """The account's export in the making, made now unless one is (True when new)."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO exports (account_id) VALUES ($1)
        ON CONFLICT (account_id) WHERE state = 'pending' DO NOTHING
        RETURNING {_COLUMNS}
        """,
        account_id,
    )
    if row is not None:
        await conn.execute(f"NOTIFY {EXPORTS_CHANNEL}")
        return from_row(Export, row), True
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM exports WHERE account_id = $1 AND state = 'pending'", account_id
    )
    return from_row(Export, row), False


async def account_exports(conn: asyncpg.Connection, account_id: int) -> list[Export]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM exports WHERE account_id = $1 ORDER BY created_at DESC, id DESC",
        account_id,
    )
    return [from_row(Export, row) for row in rows]


async def done_export(conn: asyncpg.Connection, account_id: int, filename: str) -> Export | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_COLUMNS} FROM exports
        WHERE account_id = $1 AND filename = $2 AND state = 'done'
        """,
        account_id, filename,
    )  # fmt: skip
    return from_row(Export, row)


# --- the queue -----------------------------------------------------------------------------


async def claim_export(
    conn: asyncpg.Connection, lease: timedelta, export_id: int | None = None
) -> asyncpg.Record | None:
    """Lease the next due export (or that one, when it is due and free)."""
    return await conn.fetchrow(
        """
        UPDATE exports SET locked_until = now() + $1::interval, attempts = attempts + 1,
                           claim = nextval('queue_claims')
        WHERE id = (
            SELECT id FROM exports
            WHERE state = 'pending' AND next_try_at <= now()
              AND (locked_until IS NULL OR locked_until <= now())
              AND ($2::bigint IS NULL OR id = $2)
            ORDER BY next_try_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
        )
        RETURNING id, account_id, attempts, claim
        """,
        lease, export_id,
    )  # fmt: skip


async def get_export(conn: asyncpg.Connection, export_id: int) -> Export | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM exports WHERE id = $1", export_id)
    return from_row(Export, row)


async def renew_exports(
    conn: asyncpg.Connection, claims: Sequence[tuple[int, int]], lease: timedelta
) -> set[int]:
    rows = await conn.fetch(
        """
        UPDATE exports e SET locked_until = now() + $3::interval
        FROM unnest($1::bigint[], $2::bigint[]) AS held (id, claim)
        WHERE e.id = held.id AND e.claim = held.claim AND e.state = 'pending'
        RETURNING e.id
        """,
        [export_id for export_id, _ in claims], [claim for _, claim in claims], lease,
    )  # fmt: skip
    return {row["id"] for row in rows}


async def finish_export(
    conn: asyncpg.Connection, export_id: int, claim: int, filename: str, size: int
) -> bool:
    result = await conn.execute(
        """
        UPDATE exports SET state = 'done', filename = $3, size = $4, error = NULL,
                           finished_at = now(), locked_until = NULL, claim = NULL
        WHERE id = $1 AND claim = $2 AND state = 'pending'
        """,
        export_id, claim, filename, size,
    )  # fmt: skip
    return result != "UPDATE 0"


async def retry_export(
    conn: asyncpg.Connection, export_id: int, claim: int, when: datetime | None, error: str
) -> bool:
    """Try again at `when`, or fail for good (None)."""
    result = await conn.execute(
        """
        UPDATE exports SET state = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE state END,
                           next_try_at = coalesce($3, next_try_at), error = $4,
                           finished_at = CASE WHEN $3::timestamptz IS NULL THEN now() END,
                           locked_until = NULL, claim = NULL
        WHERE id = $1 AND claim = $2 AND state = 'pending'
        """,
        export_id, claim, when, error,
    )  # fmt: skip
    return result != "UPDATE 0"


async def release_exports(conn: asyncpg.Connection, claims: Sequence[tuple[int, int]]) -> int:
    result = await conn.execute(
        """
        UPDATE exports e SET locked_until = NULL, claim = NULL
        FROM unnest($1::bigint[], $2::bigint[]) AS held (id, claim)
        WHERE e.id = held.id AND e.claim = held.claim AND e.state = 'pending'
        """,
        [export_id for export_id, _ in claims], [claim for _, claim in claims],
    )  # fmt: skip
    return int(result.split()[-1])


async def prune_exports(conn: asyncpg.Connection, older_than: datetime) -> list[str]:
    """Forget finished exports made before `older_than`; the archives' file names, to remove."""
    rows = await conn.fetch(
        "DELETE FROM exports WHERE state <> 'pending' AND created_at < $1 RETURNING filename",
        older_than,
    )
    return [row["filename"] for row in rows if row["filename"]]


# --- what an archive holds, beyond what other query modules read ----------------------------


async def activities_by_actor(conn: asyncpg.Connection, actor_uri: str) -> list[dict]:
    """Every activity a local actor published, oldest first, as it went out (without bcc)."""
    rows = await conn.fetch(
        "SELECT document FROM activities WHERE actor_uri = $1 ORDER BY id", actor_uri
    )
    return [orjson.loads(row["document"]) for row in rows]


async def account_size(conn: asyncpg.Connection, account_id: int) -> int:
    """Listings and messages an archive of the account would hold, counted up to 10,000."""
    return await conn.fetchval(
        """
        SELECT (SELECT count(*) FROM (SELECT 1 FROM listings WHERE author_id = $1
                                      LIMIT 10000) l)
             + (SELECT count(*) FROM (SELECT 1 FROM messages m
                                      JOIN conversations c ON c.id = m.conversation_id
                                      LEFT JOIN listings l ON l.id = c.listing_id
                                      WHERE c.respondent_account_id = $1 OR l.author_id = $1
                                      LIMIT 10000) m)
        """,
        account_id,
    )


async def account_record(conn: asyncpg.Connection, account_id: int) -> asyncpg.Record | None:
    """The account's own row, for its owner's archive: never the password hash nor keys."""
    return await conn.fetchrow(
        """
        SELECT username, email, display_name, summary, status, created_at, approved_at,
               manually_approves_followers
        FROM accounts WHERE id = $1
        """,
        account_id,
    )
