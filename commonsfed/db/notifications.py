"""Queries on residents' notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from commonsfed.models import from_row

NOTIFICATION_KINDS = (
    "new_answer",
    "new_message",
    "reserved_for_you",
    "offered_to_you",
    "reservation_released",
    "declined",
    "completed",
    "withdrawn",
    "near_expiry",
    "mention",  # a Note from the fediverse mentions them, or replies to their listing publicly
    "moderation",  # the moderators acted on something of theirs: see the moderation log's line
    "moderation_warning",  # the moderators acted on their account (db.moderation)
    "favourite",  # someone favourited their listing (actor_uri), here or on another server
    "follow",  # actor_uri followed them (db.api_notifications)
    "follow_request",  # actor_uri asks to follow them: they approve followers by hand
    "listing_closed",  # a listing they wait in line for was completed or withdrawn
    "new_pledge",  # actor_uri pledged towards their group purchase (or changed the pledge)
    # the loan calendar (services.loans); actor_uri is the other side
    "loan_asked",  # actor_uri asked for days of their lend listing
    "loan_confirmed",  # the author (actor_uri) confirmed their days
    "loan_declined",  # their days were declined, or the borrower (actor_uri) cancelled
    "loan_pickup_soon",  # pickup is tomorrow
    "loan_return_soon",  # the return day is tomorrow
    "loan_overdue",  # the return day has passed and it is not marked returned
    # a group purchase's deadline decided (services.pledges), for its pledgers and organiser
    "pledge_reached",  # the pledges met the target: they hold
    "pledge_released",  # the target was missed: every pledge is released
    # a neighbourhood project (services.projects)
    "project_pledge",  # actor_uri pledged towards their project (or changed the pledge)
    "project_funded",  # every need was met by the deadline: the pledges hold
    "project_missed",  # a need was not met: every pledge is released
    "project_hours",  # the organiser recorded the hours they gave (the time bank moved them)
    "hours_recorded",  # the author confirmed the hours of a service with them (time bank)
    "hours_disputed",  # the respondent disputes the hours the author confirmed
    "hours_settled",  # a moderator settled the disputed hours
    "hours_across",  # hours moved with actor_uri, of a sibling node, or were refused there
    # matching (services.matching): a new listing matches one of theirs, or a saved search
    "listing_match",
    "saved_search_match",
    "thanks",  # the other party of a completed exchange thanked them (services.thanks)
)


@dataclass(frozen=True)
class Notification:
    id: int
    account_id: int
    kind: str
    listing_id: int | None  # None: an answer to a listing on another node
    listing_uid: str | None
    listing_title: str
    conversation_id: int | None
    author_id: int | None  # None: a remote listing's author
    author_username: str  # or a remote author's user@host
    respondent_name: str | None  # "@bob", or a remote actor's URI
    created_at: datetime
    read_at: datetime | None
    # a mention: who wrote the Note, its address to read it at, and its text made plain
    actor_uri: str | None = None
    actor_handle: str | None = None
    object_url: str | None = None
    body: str | None = None
    # a moderators' notice: what they did (a moderation_log action), why, and to what
    moderation_action: str | None = None
    moderation_reason: str | None = None
    moderation_title: str | None = None
    # a moderation_warning: what the moderators did (services.account_actions) and why
    warning_action: str | None = None
    warning_text: str | None = None

    @property
    def actor_name(self) -> str:
        """Who wrote a mention: @user@host when their actor is cached, else their URI."""
        return f"@{self.actor_handle}" if self.actor_handle else str(self.actor_uri)

    @property
    def other_side(self) -> str:
        """The other person in the conversation: the respondent for the author, else the author."""
        if self.account_id == self.author_id:
            return self.respondent_name or ""
        return f"@{self.author_username}"


async def retract_conversation_notice(
    conn: asyncpg.Connection, account_id: int, kind: str, conversation_id: int
) -> None:
    """Take back a notification about a conversation that turned out untrue, and its mail
    if it has not gone yet (the mail's path names the conversation)."""
    await conn.execute(
        "DELETE FROM notifications WHERE account_id = $1 AND kind = $2 AND conversation_id = $3",
        account_id,
        kind,
        conversation_id,
    )
    await conn.execute(
        """
        DELETE FROM outgoing_mail
        WHERE account_id = $1 AND state = 'pending' AND template = 'notification'
          AND context->>'kind' = $2 AND context->>'path' = $3
        """,
        account_id,
        kind,
        f"/conversations/{conversation_id}",
    )


async def insert_notification(
    conn: asyncpg.Connection,
    account_id: int,
    kind: str,
    listing_id: int | None,
    conversation_id: int | None = None,
) -> None:
    await conn.execute(
        """
        INSERT INTO notifications (account_id, kind, listing_id, conversation_id)
        VALUES ($1, $2, $3, $4)
        """,
        account_id,
        kind,
        listing_id,
        conversation_id,
    )


async def insert_pledge_notice(
    conn: asyncpg.Connection, account_id: int, listing_id: int, actor_uri: str,
    kind: str = "new_pledge",
) -> None:  # fmt: skip
    """Tell a group purchase's (or a project's: `project_pledge`) organiser of a pledge; one
    unread notice per pledger, so changing a pledge three times before they look is one
    line on their page."""
    await conn.execute(
        """
        DELETE FROM notifications
        WHERE account_id = $1 AND kind = $4 AND listing_id = $2 AND actor_uri = $3
          AND read_at IS NULL
        """,
        account_id,
        listing_id,
        actor_uri,
        kind,
    )
    await conn.execute(
        """
        INSERT INTO notifications (account_id, kind, listing_id, actor_uri)
        VALUES ($1, $4, $2, $3)
        """,
        account_id,
        listing_id,
        actor_uri,
        kind,
    )


async def insert_moderation_notice(
    conn: asyncpg.Connection, account_id: int, moderation_entry_id: int
) -> None:
    """Tell a resident of a moderators' action on something of theirs: the log's line says
    what, why and to what, so the notice still reads once the thing is gone."""
    await conn.execute(
        """
        INSERT INTO notifications (account_id, kind, moderation_entry_id)
        VALUES ($1, 'moderation', $2)
        """,
        account_id,
        moderation_entry_id,
    )


async def insert_mention(
    conn: asyncpg.Connection,
    account_id: int,
    *,
    listing_id: int | None,
    actor_uri: str,
    object_uri: str,
    object_url: str,
    body: str,
) -> bool:
    """A Note that mentions the resident (or replies to their listing `listing_id`), once
    per Note: the same Note again, by another way, changes nothing."""
    result = await conn.execute(
        """
        INSERT INTO notifications (account_id, kind, listing_id, actor_uri, object_uri,
                                   object_url, body)
        VALUES ($1, 'mention', $2, $3, $4, $5, $6)
        ON CONFLICT (account_id, object_uri) WHERE object_uri IS NOT NULL DO NOTHING
        """,
        account_id,
        listing_id,
        actor_uri,
        object_uri,
        object_url,
        body,
    )
    return result != "INSERT 0 0"


async def delete_mentions(
    conn: asyncpg.Connection,
    account_id: int,
    *,
    actor_uri: str | None = None,
    domain: str | None = None,
) -> None:
    """A resident's mentions by one actor, or by anyone on one domain: they blocked, muted
    or hid them."""
    await conn.execute(
        """
        DELETE FROM notifications
        WHERE account_id = $1 AND kind = 'mention'
          AND (actor_uri = $2 OR lower(split_part(actor_uri, '/', 3)) = $3)
        """,
        account_id,
        actor_uri,
        domain,
    )


async def delete_mentions_of(conn: asyncpg.Connection, object_uri: str, actor_uri: str) -> None:
    """Its author deleted the Note: the notifications that quote it go."""
    await conn.execute(
        "DELETE FROM notifications WHERE object_uri = $1 AND actor_uri = $2",
        object_uri,
        actor_uri,
    )


async def account_notifications(
    conn: asyncpg.Connection, account_id: int, limit: int
) -> list[Notification]:
    rows = await conn.fetch(
        """
        SELECT n.id, n.account_id, n.kind, n.listing_id, l.uid AS listing_uid,
               coalesce(l.title, c.remote_listing_title, c.remote_listing_uri) AS listing_title,
               n.conversation_id, l.author_id,
               coalesce(au.username, c.remote_author_handle, c.remote_author_uri)
                   AS author_username,
               coalesce('@' || r.username, '@' || ra.preferred_username || '@' || ra.domain,
                        c.respondent_actor_uri) AS respondent_name,
               n.created_at, n.read_at, n.actor_uri,
               coalesce(na.preferred_username || '@' || na.domain, la.username) AS actor_handle,
               n.object_url, n.body,
               ml.action AS moderation_action, ml.reason AS moderation_reason,
               ml.details->>'title' AS moderation_title,
               w.action AS warning_action, w.text AS warning_text
        FROM notifications n
        LEFT JOIN account_warnings w ON w.id = n.warning_id
        LEFT JOIN conversations c ON c.id = n.conversation_id
        LEFT JOIN listings l ON l.id = coalesce(n.listing_id, c.listing_id)
        LEFT JOIN accounts au ON au.id = l.author_id
        LEFT JOIN accounts r ON r.id = c.respondent_account_id
        LEFT JOIN remote_actors ra ON ra.uri = c.respondent_actor_uri
        LEFT JOIN remote_actors na ON na.uri = n.actor_uri
        -- a resident here (who favourited or followed): not in the actor cache, named by
        -- the last part of their /users/<name> URI
        LEFT JOIN accounts la ON na.uri IS NULL AND n.actor_uri IS NOT NULL
            AND la.username = split_part(n.actor_uri, '/users/', 2)
        LEFT JOIN moderation_log ml ON ml.id = n.moderation_entry_id
        WHERE n.account_id = $1
        ORDER BY n.created_at DESC, n.id DESC
        LIMIT $2
        """,
        account_id,
        limit,
    )
    return [from_row(Notification, row) for row in rows]


async def count_unread(conn: asyncpg.Connection, account_id: int) -> int:
    return await conn.fetchval(
        "SELECT count(*)::int FROM notifications WHERE account_id = $1 AND read_at IS NULL",
        account_id,
    )


async def mark_read(
    conn: asyncpg.Connection, account_id: int, conversation_id: int | None = None
) -> None:
    """Mark all of an account's notifications read, or only those about one conversation."""
    await conn.execute(
        """
        UPDATE notifications SET read_at = now()
        WHERE account_id = $1 AND read_at IS NULL AND ($2::bigint IS NULL OR conversation_id = $2)
        """,
        account_id,
        conversation_id,
    )


async def notify_near_expiry(conn: asyncpg.Connection, now: datetime, within: timedelta) -> int:
    """One near_expiry notification per open or reserved listing expiring within `within`;
    a listing already told is skipped (the partial unique index), so this can run often."""
    return await conn.fetchval(
        """
        WITH told AS (
            INSERT INTO notifications (account_id, kind, listing_id)
            SELECT author_id, 'near_expiry', id FROM listings
            WHERE state IN ('open', 'reserved') AND expires_at IS NOT NULL
              AND expires_at > $1 AND expires_at <= $1 + $2::interval
            ON CONFLICT (listing_id) WHERE kind = 'near_expiry' DO NOTHING
            RETURNING 1
        )
        SELECT count(*)::int FROM told
        """,
        now,
        within,
    )
