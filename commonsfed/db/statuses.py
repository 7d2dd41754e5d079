"""Queries for the client API's statuses: listings here and objects from other servers,
found by the status id they share (migration 0024)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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


# A message of a conversation (an answer's first message, or a later one) as a direct
# status: its sender, the two parties, and what it replies to (the message before it, or
# for the first, the listing). The node's own lines ("... deleted their account") are not
# statuses: nobody wrote them.
_MESSAGES = """
    SELECT m.status_id, m.id, m.conversation_id, m.sender_account_id, m.sender_actor_uri,
        sa.username AS sender_username, m.body, m.ap_id, m.created_at,
        l.author_id, la.username AS author_username, ro.attributed_to AS remote_author_uri,
        c.respondent_account_id, ra.username AS respondent_username, c.respondent_actor_uri,
        coalesce(l.status_id, ro.status_id) AS listing_status_id,
        coalesce(l.title, '') AS listing_title,
        (SELECT p.status_id FROM messages p
         WHERE p.conversation_id = m.conversation_id AND p.kind = 'message'
           AND (p.created_at, p.id) < (m.created_at, m.id)
         ORDER BY p.created_at DESC, p.id DESC LIMIT 1) AS previous_status_id
    FROM messages m
    JOIN conversations c ON c.id = m.conversation_id
    LEFT JOIN listings l ON l.id = c.listing_id
    LEFT JOIN accounts la ON la.id = l.author_id
    LEFT JOIN remote_objects ro ON ro.uri = c.remote_listing_uri
    LEFT JOIN accounts sa ON sa.id = m.sender_account_id
    LEFT JOIN accounts ra ON ra.id = c.respondent_account_id
    WHERE m.kind = 'message'
"""


async def messages_by_status(
    conn: asyncpg.Connection, status_ids: Sequence[int], party_id: int
) -> list[asyncpg.Record]:
    """The messages with these status ids in conversations that `party_id` (a resident)
    is a side of; the others' are nobody else's business."""
    return await conn.fetch(
        _MESSAGES + """
        AND m.status_id = ANY($1::bigint[])
        AND (l.author_id = $2 OR c.respondent_account_id = $2)
        """,
        list(status_ids), party_id,
    )  # fmt: skip


async def conversation_messages(
    conn: asyncpg.Connection,
    party_id: int,
    *,
    listing_id: int | None = None,
    remote_listing_uri: str | None = None,
    conversation_id: int | None = None,
) -> list[asyncpg.Record]:
    """The messages, oldest first, of the conversations of a listing here (`listing_id`),
    of one elsewhere (`remote_listing_uri`), or of one conversation, that `party_id` is a
    side of: a listing's author sees every conversation of it, a respondent their own."""
    return await conn.fetch(
        _MESSAGES + """
        AND ($2::bigint IS NULL OR c.listing_id = $2)
        AND ($3::text IS NULL OR c.remote_listing_uri = $3)
        AND ($4::bigint IS NULL OR m.conversation_id = $4)
        AND (l.author_id = $1 OR c.respondent_account_id = $1)
        ORDER BY m.created_at, m.id
        """,
        party_id, listing_id, remote_listing_uri, conversation_id,
    )  # fmt: skip


async def replies_counts(
    conn: asyncpg.Connection, status_ids: Sequence[int], party_id: int
) -> dict[int, int]:
    """For listings among `status_ids` (here or elsewhere): how many messages of their
    conversations `party_id` may read, the count an app shows under a status."""
    rows = await conn.fetch(
        """
        SELECT l.status_id, count(*) AS replies FROM listings l
        JOIN conversations c ON c.listing_id = l.id
        JOIN messages m ON m.conversation_id = c.id AND m.kind = 'message'
        WHERE l.status_id = ANY($1::bigint[])
            AND (l.author_id = $2 OR c.respondent_account_id = $2)
        GROUP BY l.status_id
        UNION ALL
        SELECT ro.status_id, count(*) FROM remote_objects ro
        JOIN conversations c ON c.remote_listing_uri = ro.uri
        JOIN messages m ON m.conversation_id = c.id AND m.kind = 'message'
        WHERE ro.status_id = ANY($1::bigint[]) AND c.respondent_account_id = $2
        GROUP BY ro.status_id
        """,
        list(status_ids), party_id,
    )  # fmt: skip
    return {row["status_id"]: row["replies"] for row in rows}


async def last_message_of(
    conn: asyncpg.Connection, conversation_id: int, sender_id: int
) -> int | None:
    """The status id of the latest message `sender_id` wrote in the conversation."""
    return await conn.fetchval(
        """
        SELECT status_id FROM messages
        WHERE conversation_id = $1 AND sender_account_id = $2 AND kind = 'message'
        ORDER BY created_at DESC, id DESC LIMIT 1
        """,
        conversation_id, sender_id,
    )  # fmt: skip


async def listing_by_status(conn: asyncpg.Connection, status_id: int) -> Listing | None:
    found = await local_listings_by_status(conn, [status_id])
    return found[0][1] if found else None


# --- Idempotency-Key ---------------------------------------------------------------------


async def idempotent_status(
    conn: asyncpg.Connection, account_id: int, key: str, since: datetime
) -> int | None:
    return await conn.fetchval(
        """
        SELECT status_id FROM status_idempotency
        WHERE account_id = $1 AND key = $2 AND created_at >= $3
        """,
        account_id, key, since,
    )  # fmt: skip


async def remember_idempotent(
    conn: asyncpg.Connection, account_id: int, key: str, status_id: int
) -> None:
    await conn.execute(
        """
        INSERT INTO status_idempotency (account_id, key, status_id) VALUES ($1, $2, $3)
        ON CONFLICT (account_id, key) DO UPDATE
            SET status_id = excluded.status_id, created_at = now()
        """,
        account_id, key, status_id,
    )  # fmt: skip


async def prune_idempotency(conn: asyncpg.Connection, before: datetime) -> int:
    result = await conn.execute("DELETE FROM status_idempotency WHERE created_at < $1", before)
    return int(result.split()[-1])
