"""Queries on listings, their photos and history, categories, pledges and claims."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import orjson

from commonsfed.models import Listing, ListingPhoto, from_row

_LISTING_COLUMNS = """
    l.id, l.uid, l.author_id, a.username AS author_username, l.purpose, l.kind, l.title,
    l.description, l.category, l.quantity, l.available_quantity, l.place, l.latitude,
    l.longitude, l.available_from, l.available_until, l.expires_at, l.state, l.details,
    l.created_at, l.updated_at, l.language
"""
_PHOTO_COLUMNS = "id, listing_id, filename, alt, width, height, position"
# the columns a resident writes through the form (create and edit)
EDITABLE = (
    "title",
    "description",
    "category",
    "quantity",
    "available_quantity",
    "place",
    "latitude",
    "longitude",
    "available_from",
    "available_until",
    "expires_at",
    "details",
)


def _listing(row: asyncpg.Record | None) -> Listing | None:
    if row is None:
        return None
    values = dict(row)
    values["details"] = orjson.loads(values["details"]) if values["details"] else {}
    return from_row(Listing, values)


# for the other modules that read listings with columns of their own (db/statuses.py)
LISTING_COLUMNS = _LISTING_COLUMNS
listing_from_row = _listing


def _jsonb(fields: dict[str, Any]) -> dict[str, Any]:
    return {**fields, "details": orjson.dumps(fields["details"]).decode()}


# --- listings ------------------------------------------------------------------------------


async def insert_listing(
    conn: asyncpg.Connection,
    *,
    uid: str,
    author_id: int,
    purpose: str,
    kind: str,
    fields: dict[str, Any],
    language: str | None = None,
) -> int:
    values = _jsonb(fields)
    return await conn.fetchval(
        f"""
        INSERT INTO listings (uid, author_id, purpose, kind, language, {", ".join(EDITABLE)})
        VALUES ($1, $2, $3, $4, $5, {", ".join(f"${i}" for i in range(6, 6 + len(EDITABLE)))})
        RETURNING id
        """,
        uid,
        author_id,
        purpose,
        kind,
        language,
        *(values[name] for name in EDITABLE),
    )


async def update_listing(conn: asyncpg.Connection, listing_id: int, fields: dict[str, Any]) -> None:
    values = _jsonb(fields)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(EDITABLE, start=2))
    await conn.execute(
        f"UPDATE listings SET {assignments}, updated_at = now() WHERE id = $1",
        listing_id,
        *(values[name] for name in EDITABLE),
    )


async def get_listing(
    conn: asyncpg.Connection, uid: str, *, for_update: bool = False
) -> Listing | None:
    lock = "FOR UPDATE OF l" if for_update else ""
    row = await conn.fetchrow(
        f"""
        SELECT {_LISTING_COLUMNS} FROM listings l JOIN accounts a ON a.id = l.author_id
        WHERE l.uid = $1 {lock}
        """,
        uid,
    )
    return _listing(row)


async def listings_by_author(conn: asyncpg.Connection, author_id: int) -> list[Listing]:
    rows = await conn.fetch(
        f"""
        SELECT {_LISTING_COLUMNS} FROM listings l JOIN accounts a ON a.id = l.author_id
        WHERE l.author_id = $1
        ORDER BY l.created_at DESC, l.id DESC
        """,
        author_id,
    )
    return [_listing(row) for row in rows]


async def set_state(conn: asyncpg.Connection, listing_id: int, state: str) -> None:
    await conn.execute(
        "UPDATE listings SET state = $2, updated_at = now() WHERE id = $1", listing_id, state
    )


async def set_available_quantity(conn: asyncpg.Connection, listing_id: int, available: int) -> None:
    await conn.execute(
        "UPDATE listings SET available_quantity = $2, updated_at = now() WHERE id = $1",
        listing_id,
        available,
    )


async def expire_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[str]:
    """Expire up to `limit` open or reserved listings past their date; record each change.
    Returns the uids of the listings expired.

    SKIP LOCKED, so several workers can run the job at once and an author's own change in
    progress is not waited for (the row is picked up by the next run).
    """
    rows = await conn.fetch(
        """
        WITH due AS (
            SELECT id FROM listings
            WHERE state IN ('open', 'reserved') AND expires_at IS NOT NULL AND expires_at <= $1
            ORDER BY expires_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ), expired AS (
            UPDATE listings l SET state = 'expired', updated_at = $1
            FROM due WHERE l.id = due.id
            RETURNING l.id, l.uid
        ), recorded AS (
            INSERT INTO listing_events (listing_id, change, state, at)
            SELECT id, 'state', 'expired', $1 FROM expired
        )
        SELECT uid FROM expired
        """,
        now,
        limit,
    )
    return [row["uid"] for row in rows]


# --- history -------------------------------------------------------------------------------


async def remove_listing(conn: asyncpg.Connection, listing: Listing) -> None:
    """Delete the listing (its photos, history, answers ... go by cascade) and keep its id."""
    await conn.execute(
        "INSERT INTO removed_listings (uid, author_username) VALUES ($1, $2)",
        listing.uid,
        listing.author_username,
    )
    await conn.execute("DELETE FROM listings WHERE id = $1", listing.id)


async def removed_listing(conn: asyncpg.Connection, uid: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT uid, author_username, removed_at FROM removed_listings WHERE uid = $1", uid
    )


async def insert_event(
    conn: asyncpg.Connection, listing_id: int, change: str, state: str, actor_id: int | None
) -> None:
    await conn.execute(
        "INSERT INTO listing_events (listing_id, change, state, actor_id) VALUES ($1, $2, $3, $4)",
        listing_id,
        change,
        state,
        actor_id,
    )


async def listing_events(conn: asyncpg.Connection, listing_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT e.change, e.state, e.at, a.username AS actor
        FROM listing_events e LEFT JOIN accounts a ON a.id = e.actor_id
        WHERE e.listing_id = $1
        ORDER BY e.at, e.id
        """,
        listing_id,
    )


# --- photos --------------------------------------------------------------------------------


async def listing_photos(conn: asyncpg.Connection, listing_id: int) -> list[ListingPhoto]:
    rows = await conn.fetch(
        f"SELECT {_PHOTO_COLUMNS} FROM listing_photos WHERE listing_id = $1 ORDER BY position",
        listing_id,
    )
    return [from_row(ListingPhoto, row) for row in rows]


async def insert_photo(
    conn: asyncpg.Connection,
    listing_id: int,
    *,
    filename: str,
    alt: str,
    width: int,
    height: int,
    position: int,
) -> None:
    await conn.execute(
        """
        INSERT INTO listing_photos (listing_id, filename, alt, width, height, position)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        listing_id,
        filename,
        alt,
        width,
        height,
        position,
    )


async def update_photo(conn: asyncpg.Connection, photo_id: int, alt: str, position: int) -> None:
    await conn.execute(
        "UPDATE listing_photos SET alt = $2, position = $3 WHERE id = $1", photo_id, alt, position
    )


async def delete_photos(conn: asyncpg.Connection, photo_ids: list[int]) -> None:
    await conn.execute("DELETE FROM listing_photos WHERE id = ANY($1::bigint[])", photo_ids)


# --- categories ----------------------------------------------------------------------------


async def categories(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT slug, name FROM categories ORDER BY position, name")


async def category_exists(conn: asyncpg.Connection, slug: str) -> bool:
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM categories WHERE slug = $1)", slug)


async def insert_category(conn: asyncpg.Connection, slug: str, name: str) -> bool:
    """False when the slug is taken."""
    result = await conn.execute(
        """
        INSERT INTO categories (slug, name, position)
        SELECT $1, $2, coalesce(max(position), 0) + 1 FROM categories
        ON CONFLICT (slug) DO NOTHING
        """,
        slug,
        name,
    )
    return result == "INSERT 0 1"


async def rename_category(conn: asyncpg.Connection, slug: str, name: str) -> bool:
    result = await conn.execute("UPDATE categories SET name = $2 WHERE slug = $1", slug, name)
    return result == "UPDATE 1"


# --- pledges (group purchases) and claims (pay-it-forward) ---------------------------------


async def set_pledge(
    conn: asyncpg.Connection, listing_id: int, account_id: int, quantity: int
) -> None:
    await conn.execute(
        """
        INSERT INTO pledges (listing_id, account_id, quantity) VALUES ($1, $2, $3)
        ON CONFLICT (listing_id, account_id)
        DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()
        """,
        listing_id,
        account_id,
        quantity,
    )


async def delete_pledge(conn: asyncpg.Connection, listing_id: int, account_id: int) -> None:
    await conn.execute(
        "DELETE FROM pledges WHERE listing_id = $1 AND account_id = $2", listing_id, account_id
    )


async def pledged(
    conn: asyncpg.Connection, listing_id: int, account_id: int | None
) -> tuple[int, int]:
    """(the total pledged, what this account pledged)."""
    row = await conn.fetchrow(
        """
        SELECT coalesce(sum(quantity), 0)::int AS total,
               coalesce(sum(quantity) FILTER (WHERE account_id = $2), 0)::int AS mine
        FROM pledges WHERE listing_id = $1
        """,
        listing_id,
        account_id,
    )
    return row["total"], row["mine"]


async def pledgers(conn: asyncpg.Connection, listing_id: int) -> list[asyncpg.Record]:
    """Who pledged towards a group purchase, first pledge first: username (None for a
    remote pledger), handle (user@host, or a remote actor's URI), quantity, updated_at."""
    return await conn.fetch(
        """
        SELECT a.username,
               coalesce(a.username, ra.preferred_username || '@' || ra.domain, p.actor_uri)
                   AS handle,
               p.quantity, p.updated_at
        FROM pledges p
        LEFT JOIN accounts a ON a.id = p.account_id
        LEFT JOIN remote_actors ra ON ra.uri = p.actor_uri
        WHERE p.listing_id = $1
        ORDER BY p.created_at, handle
        """,
        listing_id,
    )


async def insert_claim(conn: asyncpg.Connection, listing_id: int, account_id: int) -> bool:
    """False when this account claimed a portion already."""
    result = await conn.execute(
        """
        INSERT INTO claims (listing_id, account_id) VALUES ($1, $2)
        ON CONFLICT (listing_id, account_id) DO NOTHING
        """,
        listing_id,
        account_id,
    )
    return result == "INSERT 0 1"


async def claims(
    conn: asyncpg.Connection, listing_id: int, account_id: int | None
) -> tuple[int, bool]:
    """(how many portions were claimed, whether this account claimed one)."""
    row = await conn.fetchrow(
        """
        SELECT count(*)::int AS total, coalesce(bool_or(account_id = $2), false) AS mine
        FROM claims WHERE listing_id = $1
        """,
        listing_id,
        account_id,
    )
    return row["total"], row["mine"]
