"""Queries on follows: who follows whom, by actor URI, and where to deliver to them."""

from __future__ import annotations

import asyncpg


async def get_follow(conn: asyncpg.Connection, follower: str, followed: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM follows WHERE follower_uri = $1 AND followed_uri = $2", follower, followed
    )


async def upsert_follow(
    conn: asyncpg.Connection, follower: str, followed: str, state: str, activity_id: str | None
) -> None:
    await conn.execute(
        """
        INSERT INTO follows (follower_uri, followed_uri, state, activity_id, accepted_at)
        VALUES ($1, $2, $3, $4, CASE WHEN $3 = 'accepted' THEN now() END)
        ON CONFLICT (follower_uri, followed_uri) DO UPDATE SET
            state = EXCLUDED.state, activity_id = EXCLUDED.activity_id,
            accepted_at = EXCLUDED.accepted_at
        """,
        follower, followed, state, activity_id,
    )


async def accept_follow(conn: asyncpg.Connection, follower: str, followed: str) -> bool:
    result = await conn.execute(
        """
        UPDATE follows SET state = 'accepted', accepted_at = now()
        WHERE follower_uri = $1 AND followed_uri = $2 AND state = 'pending'
        """,
        follower, followed,
    )
    return result != "UPDATE 0"


async def remove_follow(conn: asyncpg.Connection, follower: str, followed: str) -> bool:
    result = await conn.execute(
        "DELETE FROM follows WHERE follower_uri = $1 AND followed_uri = $2", follower, followed
    )
    return result != "DELETE 0"


async def remove_follows_of_actor(conn: asyncpg.Connection, actor_uri: str) -> None:
    await conn.execute(
        "DELETE FROM follows WHERE follower_uri = $1 OR followed_uri = $1", actor_uri
    )


async def pending_follows(conn: asyncpg.Connection, followed: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM follows WHERE followed_uri = $1 AND state = 'pending' ORDER BY id",
        followed,
    )


async def follower_inboxes(conn: asyncpg.Connection, followed: str) -> list[str]:
    """The inboxes of a local actor's accepted remote followers, shared inbox preferred."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT coalesce(ra.shared_inbox, ra.inbox) AS inbox
        FROM follows f JOIN remote_actors ra ON ra.uri = f.follower_uri
        WHERE f.followed_uri = $1 AND f.state = 'accepted'
        """,
        followed,
    )
    return [row["inbox"] for row in rows]


async def actor_inboxes(conn: asyncpg.Connection, uris: list[str]) -> list[str]:
    """The inboxes of cached remote actors, shared inbox preferred."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT coalesce(shared_inbox, inbox) AS inbox FROM remote_actors
        WHERE uri = ANY($1::text[])
        """,
        uris,
    )
    return [row["inbox"] for row in rows]


async def get_follow_by_activity(
    conn: asyncpg.Connection, activity_id: str
) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM follows WHERE activity_id = $1", activity_id)


async def local_followee(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    """The active resident `username` may follow, and whether they approve followers by hand."""
    return await conn.fetchrow(
        """
        SELECT username, manually_approves_followers FROM accounts
        WHERE lower(username) = lower($1) AND status = 'active'
        """,
        username,
    )


async def remove_follows_between(conn: asyncpg.Connection, one: str, other: str) -> None:
    """Both directions, as a block ends them."""
    await conn.execute(
        """
        DELETE FROM follows WHERE (follower_uri = $1 AND followed_uri = $2)
            OR (follower_uri = $2 AND followed_uri = $1)
        """,
        one,
        other,
    )
