"""Queries on what remote actors tell us: objects, tombstones, reactions, blocks."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import orjson

from commonsfed.ap.activities import LISTING, RemoteObject

# --- what an id stands for ---------------------------------------------------------------


async def known_type(conn: asyncpg.Connection, uri: str) -> str | None:
    """The type of what `uri` names, from what this node already knows, else None.

    Activities we published, follows and reactions by their activity id, blocks, remote
    objects (LISTING for a listing), cached remote actors and the Offers that answered our
    listings, in that order.
    """
    return (await known_types(conn, [uri])).get(uri)


async def known_types(conn: asyncpg.Connection, uris: Sequence[str]) -> dict[str, str]:
    """`known_type` for many ids in one round trip: the ids we know, with their types."""
    rows = await conn.fetch(
        f"""
        SELECT DISTINCT ON (uri) uri, type FROM (
            SELECT 1 AS rank, uri, type FROM activities WHERE uri = ANY($1::text[])
            UNION ALL SELECT 2, activity_id, 'Follow' FROM follows
                WHERE activity_id = ANY($1::text[])
            UNION ALL SELECT 3, activity_uri, kind FROM reactions
                WHERE activity_uri = ANY($1::text[])
            UNION ALL SELECT 4, activity_uri, 'Block' FROM actor_blocks
                WHERE activity_uri = ANY($1::text[])
            UNION ALL SELECT 5, uri, CASE WHEN is_listing THEN '{LISTING}' ELSE type END
                FROM remote_objects WHERE uri = ANY($1::text[])
            UNION ALL SELECT 6, uri, type FROM remote_actors WHERE uri = ANY($1::text[])
            UNION ALL SELECT 7, ap_id, 'Offer' FROM conversations
                WHERE ap_id = ANY($1::text[]) AND answered_with = 'offer'
        ) known
        ORDER BY uri, rank
        """,
        list(uris),
    )
    return {row["uri"]: row["type"] for row in rows}


# --- remote objects and tombstones -------------------------------------------------------


async def get_remote_object(conn: asyncpg.Connection, uri: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT uri, type, attributed_to, is_listing FROM remote_objects WHERE uri = $1", uri
    )


async def remote_objects_and_tombstones(
    conn: asyncpg.Connection, uris: Sequence[str]
) -> tuple[dict[str, asyncpg.Record], set[tuple[str, str]]]:
    """`get_remote_object` and the tombstones (uri, actor) for many ids, in one round trip:
    what the inbox worker reads once for a batch of Creates, Updates and Deletes."""
    rows = await conn.fetch(
        """
        SELECT 'object' AS kind, uri, type, attributed_to, is_listing FROM remote_objects
            WHERE uri = ANY($1::text[])
        UNION ALL SELECT 'tombstone', uri, NULL, actor_uri, NULL FROM tombstones
            WHERE uri = ANY($1::text[])
        """,
        list(uris),
    )
    objects = {
        row["uri"]: row for row in rows if row["kind"] == "object"
    }
    tombstones = {(row["uri"], row["attributed_to"]) for row in rows if row["kind"] == "tombstone"}
    return objects, tombstones


async def get_remote_document(conn: asyncpg.Connection, uri: str) -> dict | None:
    document = await conn.fetchval("SELECT document FROM remote_objects WHERE uri = $1", uri)
    return orjson.loads(document) if document else None


async def insert_remote_object(conn: asyncpg.Connection, obj: RemoteObject) -> bool:
    """Keep `obj` unless we have it already or its author deleted it (a Delete that came
    first); a tombstone another actor left does not count (see `is_tombstoned`)."""
    result = await conn.execute(
        """
        INSERT INTO remote_objects (uri, type, attributed_to, domain, in_reply_to, is_listing,
                                    document, published_at, updated_at)
        SELECT $1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9
        WHERE NOT EXISTS (SELECT 1 FROM tombstones WHERE uri = $1 AND actor_uri = $3)
        ON CONFLICT (uri) DO NOTHING
        """,
        *_object_values(obj),
    )
    return result != "INSERT 0 0"


async def update_remote_object(conn: asyncpg.Connection, obj: RemoteObject) -> bool:
    """Replace the stored object, only when `obj.attributed_to` is its author and `obj` is
    not older than what is kept: an edit that arrives after a later one (a retry, a slow
    relay) changes nothing. An Update without `updated` cannot be placed, and is taken."""
    result = await conn.execute(
        """
        UPDATE remote_objects SET type = $2, domain = $4, in_reply_to = $5, is_listing = $6,
            document = $7::jsonb, published_at = coalesce($8, published_at),
            updated_at = coalesce($9, now())
        WHERE uri = $1 AND attributed_to = $3
          AND ($9::timestamptz IS NULL OR updated_at IS NULL OR updated_at <= $9::timestamptz)
        """,
        *_object_values(obj),
    )
    return result != "UPDATE 0"


def _object_values(obj: RemoteObject) -> tuple:
    return (
        obj.uri,
        obj.type,
        obj.attributed_to,
        obj.domain,
        obj.in_reply_to,
        obj.is_listing,
        orjson.dumps(obj.document).decode(),
        obj.published_at,
        obj.updated_at,
    )


async def delete_remote_object(conn: asyncpg.Connection, uri: str, author: str) -> None:
    """Forget `uri` (if `author` wrote it) and the reactions to it; leave `author`'s
    tombstone, which keeps out a late Create by `author` only."""
    await conn.execute(
        "DELETE FROM remote_objects WHERE uri = $1 AND attributed_to = $2", uri, author
    )
    # someone else's object stays whole, even if it arrived after the caller's check
    await conn.execute(
        """
        INSERT INTO tombstones (uri, actor_uri) SELECT $1, $2
        WHERE NOT EXISTS (SELECT 1 FROM remote_objects WHERE uri = $1)
        ON CONFLICT (uri, actor_uri) DO NOTHING
        """,
        uri,
        author,
    )
    await conn.execute(
        """
        DELETE FROM reactions WHERE object_uri = $1
            AND NOT EXISTS (SELECT 1 FROM remote_objects WHERE uri = $1)
        """,
        uri,
    )


async def is_tombstoned(conn: asyncpg.Connection, uri: str, author: str) -> bool:
    """Whether `author` deleted `uri`. Only the author's own Delete keeps the object out:
    the node cannot tell who wrote an id it never saw, so a Delete of one is recorded for
    its sender, and another actor of the same host cannot block the real author's Create."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM tombstones WHERE uri = $1 AND actor_uri = $2)", uri, author
    )


async def forget_remote_actor(conn: asyncpg.Connection, uri: str) -> None:
    """An actor deleted itself: its cached actor, objects, reactions and blocks go.
    (Its follows are `follows.remove_follows_of_actor`.)"""
    await forget_actor_content(conn, uri)
    await conn.execute("DELETE FROM remote_actors WHERE uri = $1", uri)


async def forget_actor_content(conn: asyncpg.Connection, uri: str) -> None:
    """What a remote actor left here: its objects, reactions and blocks; the cached actor
    stays (a suspension keeps it to show whom it is about, see services.remote_moderation)."""
    await conn.execute(
        """
        DELETE FROM reactions WHERE actor_uri = $1
            OR object_uri IN (SELECT uri FROM remote_objects WHERE attributed_to = $1)
        """,
        uri,
    )
    await conn.execute("DELETE FROM remote_objects WHERE attributed_to = $1", uri)
    await conn.execute("DELETE FROM actor_blocks WHERE blocker_uri = $1 OR blocked_uri = $1", uri)


# --- reactions ---------------------------------------------------------------------------


async def insert_reaction(
    conn: asyncpg.Connection, activity_uri: str, kind: str, actor_uri: str, object_uri: str
) -> bool:
    """A Like or Announce, once: the same activity, or the same actor reacting the same
    way to the same object again, changes nothing."""
    result = await conn.execute(
        """
        INSERT INTO reactions (activity_uri, kind, actor_uri, object_uri) VALUES ($1, $2, $3, $4)
        ON CONFLICT DO NOTHING
        """,
        activity_uri,
        kind,
        actor_uri,
        object_uri,
    )
    return result != "INSERT 0 0"


async def get_reaction(conn: asyncpg.Connection, activity_uri: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM reactions WHERE activity_uri = $1", activity_uri)


async def find_reaction(
    conn: asyncpg.Connection, kind: str, actor_uri: str, object_uri: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM reactions WHERE kind = $1 AND actor_uri = $2 AND object_uri = $3",
        kind,
        actor_uri,
        object_uri,
    )


async def delete_reaction(conn: asyncpg.Connection, activity_uri: str, actor_uri: str) -> bool:
    result = await conn.execute(
        "DELETE FROM reactions WHERE activity_uri = $1 AND actor_uri = $2",
        activity_uri,
        actor_uri,
    )
    return result != "DELETE 0"


# --- actor blocks ------------------------------------------------------------------------
# Blocks received: a remote actor blocked a resident. What residents block is db.blocks.


async def insert_actor_block(
    conn: asyncpg.Connection, blocker_uri: str, blocked_uri: str, activity_uri: str | None
) -> None:
    await conn.execute(
        """
        INSERT INTO actor_blocks (blocker_uri, blocked_uri, activity_uri) VALUES ($1, $2, $3)
        ON CONFLICT (blocker_uri, blocked_uri) DO UPDATE SET activity_uri = EXCLUDED.activity_uri
        """,
        blocker_uri,
        blocked_uri,
        activity_uri,
    )


async def get_actor_block(
    conn: asyncpg.Connection, blocker_uri: str, blocked_uri: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM actor_blocks WHERE blocker_uri = $1 AND blocked_uri = $2",
        blocker_uri,
        blocked_uri,
    )


async def get_actor_block_by_activity(
    conn: asyncpg.Connection, activity_uri: str
) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM actor_blocks WHERE activity_uri = $1", activity_uri)


async def is_blocked(conn: asyncpg.Connection, blocker_uri: str, blocked_uri: str) -> bool:
    return await get_actor_block(conn, blocker_uri, blocked_uri) is not None


async def delete_actor_block(conn: asyncpg.Connection, blocker_uri: str, blocked_uri: str) -> bool:
    result = await conn.execute(
        "DELETE FROM actor_blocks WHERE blocker_uri = $1 AND blocked_uri = $2",
        blocker_uri,
        blocked_uri,
    )
    return result != "DELETE 0"
