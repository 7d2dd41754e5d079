"""Queries for the client API's conversations: a resident's answer conversations (as a
listing's author or as a respondent, about a listing here or on another node), each with
its last message's status id, the other side's actor URI and whether it is unread; and
hiding one from the apps' list."""

from __future__ import annotations

import asyncpg

# $1: the node's base URL, $2: the resident's id. Only the two sides of a conversation
# ever find it: the local listing's author and the respondent. The last message is the
# last one a person wrote (the node's own lines are not statuses); it is unread while a
# notification of an answer or a message in it is.
_CONVERSATIONS = """
    SELECT c.id, last.status_id AS last_status_id,
        CASE WHEN l.author_id = $2
            THEN coalesce($1 || '/users/' || ra.username, c.respondent_actor_uri)
            ELSE coalesce($1 || '/users/' || la.username, c.remote_author_uri)
        END AS other_uri,
        EXISTS (
            SELECT 1 FROM notifications n
            WHERE n.account_id = $2 AND n.conversation_id = c.id AND n.read_at IS NULL
              AND n.kind IN ('new_answer', 'new_message')
        ) AS unread
    FROM conversations c
    LEFT JOIN listings l ON l.id = c.listing_id
    LEFT JOIN accounts la ON la.id = l.author_id
    LEFT JOIN accounts ra ON ra.id = c.respondent_account_id
    CROSS JOIN LATERAL (
        SELECT m.status_id FROM messages m
        WHERE m.conversation_id = c.id AND m.kind = 'message'
        ORDER BY m.created_at DESC, m.id DESC LIMIT 1
    ) last
    LEFT JOIN api_hidden_conversations h ON h.account_id = $2 AND h.conversation_id = c.id
    WHERE c.id IN (
        -- each side found by its own index (an OR across the two tables would read them all)
        SELECT mine.id FROM conversations mine JOIN listings ml ON ml.id = mine.listing_id
        WHERE ml.author_id = $2
        UNION ALL
        SELECT mine.id FROM conversations mine WHERE mine.respondent_account_id = $2
    )
"""
_SHOWN = " AND (h.up_to_status_id IS NULL OR last.status_id > h.up_to_status_id)"


async def conversations_page(
    conn: asyncpg.Connection,
    base_url: str,
    account_id: int,
    *,
    below: int | None,
    above: int | None,
    oldest_first: bool,
    limit: int,
) -> list[asyncpg.Record]:
    """A page of the resident's conversations not hidden, by their last message's status id
    (between `above` and `below`, exclusive): the latest activity first, or from `above`
    upwards for a min_id page."""
    order = "ASC" if oldest_first else "DESC"
    return await conn.fetch(
        _CONVERSATIONS + _SHOWN + f"""
          AND ($3::bigint IS NULL OR last.status_id < $3)
          AND ($4::bigint IS NULL OR last.status_id > $4)
        ORDER BY last.status_id {order} LIMIT $5
        """,
        base_url, account_id, below, above, limit,
    )  # fmt: skip


async def conversation(
    conn: asyncpg.Connection, base_url: str, account_id: int, conversation_id: int
) -> asyncpg.Record | None:
    """One of the resident's conversations, hidden or not; None for anyone else's."""
    return await conn.fetchrow(
        _CONVERSATIONS + " AND c.id = $3", base_url, account_id, conversation_id
    )


async def hide(
    conn: asyncpg.Connection, account_id: int, conversation_id: int, up_to_status_id: int
) -> None:
    await conn.execute(
        """
        INSERT INTO api_hidden_conversations (account_id, conversation_id, up_to_status_id)
        VALUES ($1, $2, $3)
        ON CONFLICT (account_id, conversation_id)
            DO UPDATE SET up_to_status_id = EXCLUDED.up_to_status_id
        """,
        account_id,
        conversation_id,
        up_to_status_id,
    )
