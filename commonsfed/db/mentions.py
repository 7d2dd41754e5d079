"""Queries for mentions and public replies from the fediverse: the residents a Note names,
and the automatic direct messages that public replies to listings get (listing_reply_notices).
The notifications themselves are db.notifications."""

from __future__ import annotations

import asyncpg


async def active_residents(conn: asyncpg.Connection, usernames: list[str]) -> list[asyncpg.Record]:
    """(id, username) of the active residents among `usernames`, in any case."""
    return await conn.fetch(
        """
        SELECT id, username FROM accounts
        WHERE lower(username) = ANY($1::text[]) AND status = 'active'
        ORDER BY id
        """,
        [name.lower() for name in usernames],
    )


async def insert_notice(
    conn: asyncpg.Connection, listing_id: int, actor_uri: str, note_uri: str
) -> bool:
    """Record the automatic message `note_uri` to `actor_uri` about a listing; False when
    they have had one about it already (it is sent only when this returns True)."""
    result = await conn.execute(
        """
        INSERT INTO listing_reply_notices (listing_id, actor_uri, note_uri) VALUES ($1, $2, $3)
        ON CONFLICT (listing_id, actor_uri) DO NOTHING
        """,
        listing_id,
        actor_uri,
        note_uri,
    )
    return result != "INSERT 0 0"


async def had_notice(conn: asyncpg.Connection, listing_id: int, actor_uri: str) -> bool:
    return await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM listing_reply_notices
                       WHERE listing_id = $1 AND actor_uri = $2)
        """,
        listing_id,
        actor_uri,
    )


async def listing_of_notice(conn: asyncpg.Connection, note_uri: str, actor_uri: str) -> str | None:
    """The uid of the listing the automatic message `note_uri` to `actor_uri` was about."""
    return await conn.fetchval(
        """
        SELECT l.uid FROM listing_reply_notices n JOIN listings l ON l.id = n.listing_id
        WHERE n.note_uri = $1 AND n.actor_uri = $2
        """,
        note_uri,
        actor_uri,
    )
