"""Queries for the client API's notifications: a resident's notifications with who caused
each (an actor URI) and the status it is about (a status id), paged by notification id;
dismissing them; and the follow notifications.

Who caused one, by kind: the sender of the message (an answer, a message); the listing's
author (a decision on the resident's answer); the respondent (who withdrew); the actor
(a mention, a follow, a favourite); else the resident themselves (a listing about to
expire, a moderators' notice), as Mastodon names the recipient for a warning.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

# the kinds whose notification names the message that caused it
MESSAGE_KINDS = ("new_answer", "new_message")
# the listing author's decisions on the resident's answer
DECISION_KINDS = ("reserved_for_you", "offered_to_you", "reservation_released", "declined",
                  "completed", "listing_closed")  # fmt: skip

# $1: the node's base URL (to name residents by actor URI), $2: the resident's id.
# The message of an answer or a message is the other side's latest one as of the
# notification: both are written in one transaction, so they share their `now()`.
_NOTIFICATIONS = """
    SELECT * FROM (
        SELECT n.id, n.kind, n.created_at, n.read_at,
            CASE
                WHEN n.kind IN ('new_answer', 'new_message')
                    THEN coalesce($1 || '/users/' || sa.username, msg.sender_actor_uri)
                WHEN n.kind IN ('reserved_for_you', 'offered_to_you', 'reservation_released',
                                'declined', 'completed', 'listing_closed')
                    THEN coalesce($1 || '/users/' || la.username, c.remote_author_uri)
                WHEN n.kind = 'withdrawn'
                    THEN coalesce($1 || '/users/' || ra.username, c.respondent_actor_uri)
                WHEN n.kind IN ('listing_match', 'saved_search_match')
                    THEN coalesce($1 || '/users/' || la.username, note.attributed_to)
                WHEN n.actor_uri IS NOT NULL THEN n.actor_uri
                ELSE $1 || '/users/' || me.username
            END AS account_uri,
            CASE
                WHEN n.kind IN ('new_answer', 'new_message') THEN msg.status_id
                WHEN n.kind = 'mention' THEN note.status_id
                WHEN n.kind IN ('listing_match', 'saved_search_match')
                    THEN coalesce(l.status_id, note.status_id)
                ELSE coalesce(l.status_id, rl.status_id)
            END AS status_id,
            ml.id AS moderation_id, ml.action AS moderation_action,
            ml.reason AS moderation_reason, ml.created_at AS moderation_at,
            w.id AS warning_id, w.action AS warning_action, w.text AS warning_text,
            w.created_at AS warning_at
        FROM notifications n
        JOIN accounts me ON me.id = n.account_id
        LEFT JOIN conversations c ON c.id = n.conversation_id
        LEFT JOIN listings l ON l.id = coalesce(n.listing_id, c.listing_id)
        LEFT JOIN accounts la ON la.id = l.author_id
        LEFT JOIN accounts ra ON ra.id = c.respondent_account_id
        LEFT JOIN remote_objects rl ON rl.uri = c.remote_listing_uri
        LEFT JOIN remote_objects note ON note.uri = n.object_uri
        LEFT JOIN LATERAL (
            SELECT m.status_id, m.sender_account_id, m.sender_actor_uri FROM messages m
            WHERE m.conversation_id = n.conversation_id AND m.kind = 'message'
              AND m.created_at <= n.created_at
              AND m.sender_account_id IS DISTINCT FROM n.account_id
            ORDER BY m.created_at DESC, m.id DESC LIMIT 1
        ) msg ON n.kind IN ('new_answer', 'new_message')
        LEFT JOIN accounts sa ON sa.id = msg.sender_account_id
        LEFT JOIN moderation_log ml ON ml.id = n.moderation_entry_id
        LEFT JOIN account_warnings w ON w.id = n.warning_id
        WHERE n.account_id = $2 AND n.dismissed_at IS NULL
    ) found
"""
# $3: the kinds wanted, $4: only those caused by this actor URI (or NULL for anyone)
_FILTERS = " WHERE kind = ANY($3::text[]) AND ($4::text IS NULL OR account_uri = $4)"


async def notifications_page(
    conn: asyncpg.Connection,
    base_url: str,
    account_id: int,
    *,
    kinds: Sequence[str],
    account_uri: str | None,
    below: int | None,
    above: int | None,
    oldest_first: bool,
    limit: int,
) -> list[asyncpg.Record]:
    """A page of the resident's notifications (not dismissed) with ids between `above` and
    `below` (exclusive), newest first, or oldest first from `above` (a min_id page)."""
    order = "ASC" if oldest_first else "DESC"
    return await conn.fetch(
        _NOTIFICATIONS + _FILTERS + f"""
          AND ($5::bigint IS NULL OR id < $5) AND ($6::bigint IS NULL OR id > $6)
        ORDER BY id {order} LIMIT $7
        """,
        base_url, account_id, list(kinds), account_uri, below, above, limit,
    )  # fmt: skip


async def notification(
    conn: asyncpg.Connection, base_url: str, account_id: int, notification_id: int
) -> asyncpg.Record | None:
    """One of the resident's notifications (not dismissed), whatever its kind."""
    return await conn.fetchrow(
        _NOTIFICATIONS + " WHERE id = $3", base_url, account_id, notification_id
    )


async def count_unread(
    conn: asyncpg.Connection,
    base_url: str,
    account_id: int,
    *,
    kinds: Sequence[str],
    account_uri: str | None,
    most: int,
) -> int:
    """How many of the resident's notifications are unread (on the web or by an app), up
    to `most`."""
    return await conn.fetchval(
        f"""
        SELECT count(*)::int FROM (
            {_NOTIFICATIONS} {_FILTERS} AND read_at IS NULL LIMIT $5
        ) counted
        """,
        base_url, account_id, list(kinds), account_uri, most,
    )  # fmt: skip


async def dismiss(conn: asyncpg.Connection, account_id: int, notification_id: int) -> bool:
    """Dismiss one of the resident's notifications (a dismissed one was seen, so it counts
    as read on the web too); False when they have no such notification."""
    result = await conn.execute(
        """
        UPDATE notifications SET dismissed_at = now(), read_at = coalesce(read_at, now())
        WHERE id = $1 AND account_id = $2 AND dismissed_at IS NULL
        """,
        notification_id,
        account_id,
    )
    return result != "UPDATE 0"


async def dismiss_all(conn: asyncpg.Connection, account_id: int) -> None:
    await conn.execute(
        """
        UPDATE notifications SET dismissed_at = now(), read_at = coalesce(read_at, now())
        WHERE account_id = $1 AND dismissed_at IS NULL
        """,
        account_id,
    )


async def actor_uri_of(conn: asyncpg.Connection, base_url: str, api_id: int) -> str | None:
    """The actor URI of an API account id: a resident's, or a cached remote actor's."""
    return await conn.fetchval(
        """
        SELECT $1 || '/users/' || username FROM accounts WHERE id = $2
        UNION ALL SELECT uri FROM remote_actors WHERE api_id = $2
        LIMIT 1
        """,
        base_url,
        api_id,
    )


# --- follows ---------------------------------------------------------------------------------


async def insert_follow(
    conn: asyncpg.Connection, username: str, follower_uri: str, kind: str
) -> None:
    """Tell the resident `username` that `follower_uri` followed them ('follow') or asks to
    ('follow_request'); nobody is told when `username` is no active resident (the Group)."""
    await conn.execute(
        """
        INSERT INTO notifications (account_id, kind, actor_uri)
        SELECT id, $3, $2 FROM accounts WHERE lower(username) = lower($1) AND status = 'active'
        """,
        username,
        follower_uri,
        kind,
    )


async def delete_follow(
    conn: asyncpg.Connection, username: str, follower_uri: str, kinds: Sequence[str]
) -> None:
    """The follow notifications of `kinds` from `follower_uri` to the resident `username`
    go: the request was answered, or the follow undone (as Mastodon drops a notification
    with what it was about)."""
    await conn.execute(
        """
        DELETE FROM notifications n USING accounts a
        WHERE n.account_id = a.id AND lower(a.username) = lower($1)
          AND n.actor_uri = $2 AND n.kind = ANY($3::text[])
        """,
        username,
        follower_uri,
        list(kinds),
    )
