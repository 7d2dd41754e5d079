"""Queries on the photos apps upload before the status that uses them (migration 0026)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

_COLUMNS = "id, account_id, filename, alt, width, height, listing_id, created_at"


async def insert_upload(
    conn: asyncpg.Connection, account_id: int, filename: str, alt: str, width: int, height: int
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""
        INSERT INTO media_uploads (account_id, filename, alt, width, height)
        VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}
        """,
        account_id, filename, alt, width, height,
    )  # fmt: skip


async def get_upload(
    conn: asyncpg.Connection, account_id: int, upload_id: int
) -> asyncpg.Record | None:
    """The resident's own upload; anyone else's is not found."""
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM media_uploads WHERE id = $1 AND account_id = $2",
        upload_id, account_id,
    )  # fmt: skip


async def set_alt(
    conn: asyncpg.Connection, account_id: int, upload_id: int, alt: str
) -> asyncpg.Record | None:
    """Change the description of an upload not yet attached (after that it is the
    listing's photo, edited with the listing)."""
    return await conn.fetchrow(
        f"""
        UPDATE media_uploads SET alt = $3
        WHERE id = $1 AND account_id = $2 AND listing_id IS NULL RETURNING {_COLUMNS}
        """,
        upload_id, account_id, alt,
    )  # fmt: skip


async def unattached(
    conn: asyncpg.Connection, account_id: int, upload_ids: Sequence[int]
) -> list[asyncpg.Record]:
    """The resident's uploads among `upload_ids` that no status uses yet (`attach` checks
    again in the listing's transaction)."""
    return await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM media_uploads
        WHERE id = ANY($1::bigint[]) AND account_id = $2 AND listing_id IS NULL
        """,
        list(upload_ids), account_id,
    )  # fmt: skip


async def attach(conn: asyncpg.Connection, upload_ids: Sequence[int], listing_id: int) -> int:
    result = await conn.execute(
        """
        UPDATE media_uploads SET listing_id = $2
        WHERE id = ANY($1::bigint[]) AND listing_id IS NULL
        """,
        list(upload_ids), listing_id,
    )  # fmt: skip
    return int(result.split()[-1])


async def prune_unattached(conn: asyncpg.Connection, before: datetime, limit: int) -> list[str]:
    """Forget uploads no status used since `before`; their file names, to remove."""
    rows = await conn.fetch(
        """
        DELETE FROM media_uploads WHERE id IN (
            SELECT id FROM media_uploads WHERE listing_id IS NULL AND created_at < $1
            ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING filename
        """,
        before, limit,
    )  # fmt: skip
    return [row["filename"] for row in rows]
