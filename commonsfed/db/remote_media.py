"""Queries for the cache of remote listings' photos (migration 0030)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

COLUMNS = "key, url, domain, extension, size, width, height, fetched_at, last_used_at, failed_at"


async def get_all(conn: asyncpg.Connection, keys: Sequence[str]) -> dict[str, asyncpg.Record]:
    """The rows among `keys`, failed fetches included, by key."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM remote_media WHERE key = ANY($1::text[])", list(keys)
    )
    return {row["key"]: row for row in rows}


async def get_many(conn: asyncpg.Connection, keys: Sequence[str]) -> dict[str, asyncpg.Record]:
    """The photos among `keys` that have a file (a failed first fetch has none), by key."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM remote_media WHERE key = ANY($1::text[]) AND extension IS NOT NULL",
        list(keys),
    )
    return {row["key"]: row for row in rows}


async def touch(conn: asyncpg.Connection, keys: Sequence[str], now: datetime) -> None:
    await conn.execute(
        "UPDATE remote_media SET last_used_at = $2 WHERE key = ANY($1::text[])", list(keys), now
    )


async def put_photo(
    conn: asyncpg.Connection,
    key: str,
    url: str,
    domain: str,
    *,
    extension: str,
    size: int,
    width: int,
    height: int,
    now: datetime,
) -> None:
    await conn.execute(
        """
        INSERT INTO remote_media (key, url, domain, extension, size, width, height,
                                  fetched_at, last_used_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
        ON CONFLICT (key) DO UPDATE SET
            extension = EXCLUDED.extension, size = EXCLUDED.size, width = EXCLUDED.width,
            height = EXCLUDED.height, fetched_at = $8, last_used_at = $8,
            failed_at = NULL, error = NULL
        """,
        key, url, domain, extension, size, width, height, now,
    )  # fmt: skip


async def put_failure(
    conn: asyncpg.Connection, key: str, url: str, domain: str, error: str, now: datetime
) -> None:
    """Remember a failed fetch; a photo fetched before keeps its file (served until it
    expires)."""
    await conn.execute(
        """
        INSERT INTO remote_media (key, url, domain, fetched_at, last_used_at, failed_at, error)
        VALUES ($1, $2, $3, $5, $5, $5, $4)
        ON CONFLICT (key) DO UPDATE SET failed_at = $5, error = $4
        """,
        key, url, domain, error[:500], now,
    )  # fmt: skip


async def delete_expired(
    conn: asyncpg.Connection, fetched_before: datetime, failed_before: datetime, limit: int
) -> list[asyncpg.Record]:
    """Delete photos fetched before `fetched_before` and failures older than
    `failed_before`; the deleted rows (key, extension), for their files."""
    return await conn.fetch(
        """
        DELETE FROM remote_media WHERE key IN (
            SELECT key FROM remote_media
            WHERE fetched_at < $1 OR (failed_at IS NOT NULL AND failed_at < $2)
            LIMIT $3
        ) RETURNING key, extension
        """,
        fetched_before, failed_before, limit,
    )  # fmt: skip


async def total_size(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT coalesce(sum(size), 0) FROM remote_media")


async def delete_beyond(conn: asyncpg.Connection, cap: int) -> list[asyncpg.Record]:
    """Delete the least recently used photos until the rest fit in `cap` bytes; the deleted
    rows (key, extension), for their files."""
    return await conn.fetch(
        """
        DELETE FROM remote_media WHERE key IN (
            SELECT key FROM (
                SELECT key, sum(size) OVER (ORDER BY last_used_at DESC, key DESC) AS kept
                FROM remote_media
            ) ranked
            WHERE kept > $1
        ) RETURNING key, extension
        """,
        cap,
    )
