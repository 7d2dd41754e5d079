"""Queries for a resident's home on the web: their first visit, and the cards of the
listings in their following feed (chosen by status id in db.timelines)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from commonsfed.db.search import REMOTE_AT


async def never_logged_in(conn: asyncpg.Connection, username: str) -> bool:
    """Whether the account has never logged in (a login sets last_seen_at)."""
    return bool(
        await conn.fetchval(
            "SELECT last_seen_at IS NULL FROM accounts WHERE username = $1", username
        )
    )


async def local_cards(conn: asyncpg.Connection, status_ids: Sequence[int]) -> list[asyncpg.Record]:
    """The listings here with these status ids, with the columns of a search card."""
    return await conn.fetch(
        """
        SELECT l.status_id, l.id, l.uid, l.purpose, l.kind, l.title, l.category,
               c.name AS category_name, l.place, l.latitude, l.longitude, l.state, l.created_at,
               a.username AS author, ph.filename AS photo, ph.alt AS photo_alt,
               ph.width AS photo_width, ph.height AS photo_height,
               least(l.available_until, l.expires_at) AS ends_at
        FROM listings l
        JOIN accounts a ON a.id = l.author_id
        JOIN categories c ON c.slug = l.category
        LEFT JOIN listing_photos ph ON ph.listing_id = l.id AND ph.position = 0
        WHERE l.status_id = ANY($1::bigint[])
        """,
        list(status_ids),
    )


async def remote_cards(conn: asyncpg.Connection, status_ids: Sequence[int]) -> list[asyncpg.Record]:
    """The listings from other nodes with these status ids, as search reads them."""
    return await conn.fetch(
        f"""
        SELECT r.status_id, r.uri, r.domain, r.document, {REMOTE_AT} AS at
        FROM remote_objects r
        WHERE r.status_id = ANY($1::bigint[]) AND r.is_listing
        """,
        list(status_ids),
    )
