"""Queries for moderating accounts: residents limited, suspended, warned, rejected, listed
for the moderators; remote people suspended (services.account_actions and
services.remote_moderation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from commonsfed.db.accounts import ACCOUNT_COLUMNS
from commonsfed.models import Account, from_row

# the filters of the accounts list, each a condition on `accounts a`
STATUS_FILTERS = {
    "all": "a.status <> 'deleted'",
    "pending": "a.status = 'pending'",
    "active": "a.status = 'active' AND a.limited_at IS NULL",
    "limited": "a.status = 'active' AND a.limited_at IS NOT NULL",
    "suspended": "a.status = 'suspended'",
}


@dataclass(frozen=True)
class AccountFacts:
    """What the moderators see of one resident."""

    id: int
    username: str
    email: str | None
    display_name: str
    role: str
    status: str
    created_at: datetime
    email_confirmed_at: datetime | None
    last_seen_at: datetime | None
    limited_at: datetime | None
    suspended_at: datetime | None
    listings: int  # open or not, not removed
    reports: int  # reports that name them or one of their listings, still open

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _facts(base_url: str) -> str:
    """The SELECT of AccountFacts; `base_url` the placeholder of the node's base URL, by
    which reports name residents and listings."""
    return f"""
    SELECT a.id, a.username, a.email, a.display_name, a.role, a.status, a.created_at,
           a.email_confirmed_at, a.last_seen_at, a.limited_at, a.suspended_at,
           (SELECT count(*) FROM listings l WHERE l.author_id = a.id)::int AS listings,
           (SELECT count(*) FROM reports r
            WHERE r.resolved_at IS NULL
              AND ({base_url} || '/users/' || a.username = ANY (r.target_uris)
                   OR EXISTS (SELECT 1 FROM listings l WHERE l.author_id = a.id
                              AND {base_url} || '/listings/' || l.uid = ANY (r.target_uris))))::int
               AS reports
    FROM accounts a
"""


async def account_facts(
    conn: asyncpg.Connection, username: str, base_url: str
) -> AccountFacts | None:
    row = await conn.fetchrow(
        _facts("$2") + "WHERE lower(a.username) = lower($1) AND a.status <> 'deleted'",
        username, base_url,
    )  # fmt: skip
    return from_row(AccountFacts, row)


async def account_list(
    conn: asyncpg.Connection, base_url: str, status: str, words: str, limit: int, offset: int
) -> list[AccountFacts]:
    """Accounts in one of STATUS_FILTERS whose name, display name or address holds
    `words` (all of them when empty), newest first."""
    rows = await conn.fetch(
        _facts("$4") + f"""
        WHERE {STATUS_FILTERS[status]}
          AND ($1 = '' OR strpos(lower(a.username), lower($1)) > 0
               OR strpos(lower(a.display_name), lower($1)) > 0
               OR strpos(lower(coalesce(a.email, '')), lower($1)) > 0)
        ORDER BY a.created_at DESC, a.id DESC
        LIMIT $2 OFFSET $3
        """,
        words, limit, offset, base_url,
    )  # fmt: skip
    return [from_row(AccountFacts, row) for row in rows]


async def lock_account(
    conn: asyncpg.Connection, username: str, base_url: str
) -> AccountFacts | None:
    """The account's row, locked against another moderator's action at the same moment."""
    row = await conn.fetchrow(
        _facts("$2") + """
        WHERE lower(a.username) = lower($1) AND a.status <> 'deleted'
        FOR NO KEY UPDATE OF a
        """,
        username, base_url,
    )  # fmt: skip
    return from_row(AccountFacts, row)


async def set_limited(conn: asyncpg.Connection, account_id: int, limited: bool) -> None:
    await conn.execute(
        "UPDATE accounts SET limited_at = CASE WHEN $2 THEN now() END WHERE id = $1",
        account_id, limited,
    )  # fmt: skip


async def set_suspended(conn: asyncpg.Connection, account_id: int, suspended: bool) -> None:
    """Suspend (from now: the 30 days start) or restore an account; a suspension ends its
    sessions, so it is logged out everywhere at once."""
    await conn.execute(
        """
        UPDATE accounts SET status = CASE WHEN $2 THEN 'suspended' ELSE 'active' END,
                            suspended_at = CASE WHEN $2 THEN now() END
        WHERE id = $1
        """,
        account_id, suspended,
    )  # fmt: skip
    if suspended:
        await conn.execute("DELETE FROM account_sessions WHERE account_id = $1", account_id)


async def insert_warning(conn: asyncpg.Connection, account_id: int, action: str, text: str) -> int:
    """What the resident is told, and the notification that shows it to them."""
    warning_id = await conn.fetchval(
        "INSERT INTO account_warnings (account_id, action, text) VALUES ($1, $2, $3) RETURNING id",
        account_id, action, text,
    )  # fmt: skip
    await conn.execute(
        """
        INSERT INTO notifications (account_id, kind, listing_id, warning_id)
        VALUES ($1, 'moderation_warning', NULL, $2)
        """,
        account_id, warning_id,
    )  # fmt: skip
    return warning_id


async def moderated_author_ids(conn: asyncpg.Connection) -> tuple[int, ...]:
    """The residents whose listings the public pages leave out: limited or suspended."""
    rows = await conn.fetch(
        "SELECT id FROM accounts WHERE limited_at IS NOT NULL OR status = 'suspended' ORDER BY id"
    )
    return tuple(row["id"] for row in rows)


async def is_limited(conn: asyncpg.Connection, account_id: int) -> bool:
    return (
        await conn.fetchval("SELECT limited_at IS NOT NULL FROM accounts WHERE id = $1", account_id)
        or False
    )


async def author_suspended(conn: asyncpg.Connection, uid: str) -> bool:
    """The listing's author is suspended: the listing is hidden from everyone."""
    return (
        await conn.fetchval(
            """
        SELECT a.status = 'suspended' FROM listings l JOIN accounts a ON a.id = l.author_id
        WHERE l.uid = $1
        """,
            uid,
        )
        or False
    )


async def next_due_suspension(conn: asyncpg.Connection, cutoff: datetime) -> Account | None:
    """One account suspended since before `cutoff`, the oldest first."""
    row = await conn.fetchrow(
        f"""
        SELECT {ACCOUNT_COLUMNS} FROM accounts
        WHERE status = 'suspended' AND suspended_at <= $1
        ORDER BY suspended_at, id LIMIT 1
        """,
        cutoff,
    )
    return from_row(Account, row)


async def lock_due_suspension(conn: asyncpg.Connection, account_id: int, cutoff: datetime) -> bool:
    """Lock the account for its deletion, if it is still suspended since before `cutoff` (a
    moderator may have lifted the suspension a moment ago)."""
    return await conn.fetchval(
        """
        SELECT true FROM accounts WHERE id = $1 AND status = 'suspended' AND suspended_at <= $2
        FOR NO KEY UPDATE
        """,
        account_id, cutoff,
    ) or False  # fmt: skip


async def last_warning(conn: asyncpg.Connection, account_id: int, action: str) -> str:
    """The reason given with the account's latest `action` ('' when there was none)."""
    return await conn.fetchval(
        """
        SELECT text FROM account_warnings WHERE account_id = $1 AND action = $2
        ORDER BY created_at DESC, id DESC LIMIT 1
        """,
        account_id, action,
    ) or ""  # fmt: skip


async def delete_pending(conn: asyncpg.Connection, account_id: int) -> None:
    """A rejected application goes whole, as Mastodon's does: its name and address are free
    again. Its mail queued before (the link to confirm the address) goes too."""
    await conn.execute("DELETE FROM outgoing_mail WHERE account_id = $1", account_id)
    await conn.execute("DELETE FROM accounts WHERE id = $1 AND status = 'pending'", account_id)


# --- remote people -------------------------------------------------------------------------


async def suspend_actor(conn: asyncpg.Connection, uri: str, moderator_id: int | None) -> bool:
    """False when the actor was suspended already."""
    result = await conn.execute(
        "INSERT INTO suspended_actors (uri, moderator_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        uri, moderator_id,
    )  # fmt: skip
    return result != "INSERT 0 0"


async def unsuspend_actor(conn: asyncpg.Connection, uri: str) -> bool:
    """False when the actor was not suspended."""
    return await conn.execute("DELETE FROM suspended_actors WHERE uri = $1", uri) != "DELETE 0"


async def actor_suspended_at(conn: asyncpg.Connection, uri: str) -> datetime | None:
    return await conn.fetchval("SELECT suspended_at FROM suspended_actors WHERE uri = $1", uri)


async def actor_content(conn: asyncpg.Connection, uri: str) -> asyncpg.Record:
    """How much a remote person has here: objects (listings, notes), answers, messages,
    follows either way."""
    return await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM remote_objects WHERE attributed_to = $1)::int AS objects,
               (SELECT count(*) FROM conversations
                WHERE respondent_actor_uri = $1 OR remote_author_uri = $1)::int AS answers,
               (SELECT count(*) FROM messages WHERE sender_actor_uri = $1)::int AS messages,
               (SELECT count(*) FROM follows
                WHERE follower_uri = $1 OR followed_uri = $1)::int AS follows
        """,
        uri,
    )


async def cached_actor(conn: asyncpg.Connection, uri: str) -> asyncpg.Record | None:
    """What the cache knows of a remote actor, for the moderators' page."""
    return await conn.fetchrow(
        """
        SELECT uri, domain, type, preferred_username, name, document->>'url' AS url,
               document->>'summary' AS summary, fetched_at
        FROM remote_actors WHERE uri = $1
        """,
        uri,
    )


async def delete_mentions_by(conn: asyncpg.Connection, uri: str) -> None:
    """The notifications of residents that quote what the actor wrote (mentions)."""
    await conn.execute("DELETE FROM notifications WHERE actor_uri = $1", uri)


async def follows_by(conn: asyncpg.Connection, uri: str) -> list[asyncpg.Record]:
    """Whom the actor follows or asked to follow: followed_uri and the Follow's id."""
    return await conn.fetch(
        "SELECT followed_uri, activity_id FROM follows WHERE follower_uri = $1 ORDER BY id", uri
    )
