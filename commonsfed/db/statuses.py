"""Queries for the client API's statuses: listings here and objects from other servers,
found by the status id they share (migration 0024)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from commonsfed.db.listings import LISTING_COLUMNS, listing_from_row
from commonsfed.models import Listing, ListingPhoto

_REMOTE = """
    SELECT status_id, uri, type, attributed_to, domain, in_reply_to, is_listing, document,
        published_at, updated_at, received_at
    FROM remote_objects
"""


async def local_listings_by_status(
    conn: asyncpg.Connection, status_ids: Sequence[int]
) -> list[tuple[int, Listing]]:
    """(status id, listing) for the ids that are listings of this node."""
    rows = await conn.fetch(
        f"""
        SELECT l.status_id, {LISTING_COLUMNS} FROM listings l
        JOIN accounts a ON a.id = l.author_id
        WHERE l.status_id = ANY($1::bigint[])
        """,
        list(status_ids),
    )
    return [(row["status_id"], listing_from_row(_without(row, "status_id"))) for row in rows]


def _without(row: asyncpg.Record, name: str) -> dict:
    values = dict(row)
    values.pop(name)
    return values


async def remote_objects_by_status(
    conn: asyncpg.Connection, status_ids: Sequence[int]
) -> list[asyncpg.Record]:
    return await conn.fetch(_REMOTE + " WHERE status_id = ANY($1::bigint[])", list(status_ids))


async def status_ids_of_listings(
    conn: asyncpg.Connection, listing_ids: Sequence[int]
) -> dict[int, int]:
    rows = await conn.fetch(
        "SELECT id, status_id FROM listings WHERE id = ANY($1::bigint[])", list(listing_ids)
    )
    return {row["id"]: row["status_id"] for row in rows}


async def photos_of(
    conn: asyncpg.Connection, listing_ids: Sequence[int]
) -> dict[int, list[ListingPhoto]]:
    rows = await conn.fetch(
        """
        SELECT id, listing_id, filename, alt, width, height, position FROM listing_photos
        WHERE listing_id = ANY($1::bigint[]) ORDER BY listing_id, position
        """,
        list(listing_ids),
    )
    found: dict[int, list[ListingPhoto]] = {}
    for row in rows:
        found.setdefault(row["listing_id"], []).append(ListingPhoto(**dict(row)))
    return found


async def category_names(conn: asyncpg.Connection) -> dict[str, str]:
    return {
        row["slug"]: row["name"] for row in await conn.fetch("SELECT slug, name FROM categories")
    }
