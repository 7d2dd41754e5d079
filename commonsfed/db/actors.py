"""Queries on actors: the node's own keys, the remote actor cache, follows, outboxes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import orjson

from commonsfed.ap.actors import RemoteActor
from commonsfed.ap.profiles import Profile, PropertyValue


@dataclass(frozen=True)
class RemoteProfileRow:
    uri: str
    domain: str
    preferred_username: str | None
    name: str | None
    summary: str | None  # HTML as the actor sent it: sanitise before showing
    profile: Profile  # field values are HTML too


async def get_node_keys(conn: asyncpg.Connection, role: str) -> tuple[str, str] | None:
    row = await conn.fetchrow(
        "SELECT private_key_pem, public_key_pem FROM node_actors WHERE role = $1", role
    )
    return (row["private_key_pem"], row["public_key_pem"]) if row else None


async def insert_node_keys(conn: asyncpg.Connection, role: str, private: str, public: str) -> None:
    # two processes starting together may both try; the first one's keys stay
    await conn.execute(
        """
        INSERT INTO node_actors (role, private_key_pem, public_key_pem) VALUES ($1, $2, $3)
        ON CONFLICT (role) DO NOTHING
        """,
        role, private, public,
    )


async def get_account_keys(conn: asyncpg.Connection, account_id: int) -> tuple[str, str] | None:
    row = await conn.fetchrow(
        "SELECT private_key_pem, public_key_pem FROM accounts WHERE id = $1", account_id
    )
    return (row["private_key_pem"], row["public_key_pem"]) if row else None


async def get_account_profile(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT id, username, display_name, summary, public_key_pem, status, created_at,
               deleted_at, manually_approves_followers
        FROM accounts WHERE lower(username) = lower($1)
        """,
        username,
    )


async def upsert_remote_actor(
    conn: asyncpg.Connection, actor: RemoteActor, document: dict
) -> str | None:
    """Cache `actor`; None when stored, else the URI of the other cached actor that holds
    its key id (key ids are unique), and nothing is written: who owns a key that two actors
    name is for the caller to find out from their origins, never for a constraint error."""
    try:
        async with conn.transaction():  # a savepoint inside the caller's transaction
            holder = await key_holder(conn, actor.key_id, actor.uri)
            if holder is None:
                await _upsert(conn, actor, document)
            return holder
    except asyncpg.UniqueViolationError:
        # another transaction cached the key's holder between our read and our write
        return await key_holder(conn, actor.key_id, actor.uri) or "another actor"


async def key_holder(conn: asyncpg.Connection, key_id: str, uri: str) -> str | None:
    """The cached actor other than `uri` that holds `key_id`, if any."""
    return await conn.fetchval(
        "SELECT uri FROM remote_actors WHERE key_id = $1 AND uri <> $2", key_id, uri
    )


async def _upsert(conn: asyncpg.Connection, actor: RemoteActor, document: dict) -> None:
    profile = actor.profile
    fields = [{"name": field.name, "value": field.value} for field in profile.fields]
    await conn.execute(
        """
        INSERT INTO remote_actors (uri, domain, type, preferred_username, name, inbox,
                                   shared_inbox, followers, key_id, public_key_pem, document,
                                   summary, icon_url, area, fields)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15::jsonb)
        ON CONFLICT (uri) DO UPDATE SET
            domain = EXCLUDED.domain, type = EXCLUDED.type,
            preferred_username = EXCLUDED.preferred_username, name = EXCLUDED.name,
            inbox = EXCLUDED.inbox, shared_inbox = EXCLUDED.shared_inbox,
            followers = EXCLUDED.followers, key_id = EXCLUDED.key_id,
            public_key_pem = EXCLUDED.public_key_pem, document = EXCLUDED.document,
            summary = EXCLUDED.summary, icon_url = EXCLUDED.icon_url, area = EXCLUDED.area,
            fields = EXCLUDED.fields, fetched_at = now()
        """,
        actor.uri, actor.domain, actor.type, actor.preferred_username, actor.name, actor.inbox,
        actor.shared_inbox, actor.followers, actor.key_id, actor.public_key_pem,
        orjson.dumps(document).decode(), actor.summary, profile.icon_url, profile.area or None,
        orjson.dumps(fields).decode(),
    )


async def forget_key_holder(conn: asyncpg.Connection, uri: str, key_id: str) -> bool:
    """Drop the cached actor `uri` when it still claims `key_id`, which its origin says is
    another's: the cache is only a copy, read again from the origin when next needed."""
    result = await conn.execute(
        "DELETE FROM remote_actors WHERE uri = $1 AND key_id = $2", uri, key_id
    )
    return result != "DELETE 0"


_REMOTE_COLUMNS = ("uri, domain, type, preferred_username, name, inbox, shared_inbox, followers, "
                   "key_id, public_key_pem")


def _remote(row: asyncpg.Record | None) -> RemoteActor | None:
    return RemoteActor(**dict(row)) if row else None


async def get_remote_actor(conn: asyncpg.Connection, uri: str) -> RemoteActor | None:
    row = await conn.fetchrow(f"SELECT {_REMOTE_COLUMNS} FROM remote_actors WHERE uri = $1", uri)
    return _remote(row)


async def get_remote_actors(
    conn: asyncpg.Connection, uris: Sequence[str]
) -> dict[str, RemoteActor]:
    """The cached actors among `uris`, by URI, in one round trip (the inbox worker's batch)."""
    rows = await conn.fetch(
        f"SELECT {_REMOTE_COLUMNS} FROM remote_actors WHERE uri = ANY($1::text[])", list(uris)
    )
    return {row["uri"]: RemoteActor(**dict(row)) for row in rows}


async def get_remote_profile(conn: asyncpg.Connection, uri: str) -> RemoteProfileRow | None:
    """What a cached actor shows of itself, for pages (which sanitise its HTML)."""
    row = await conn.fetchrow(
        """
        SELECT uri, domain, preferred_username, name, summary, area, fields,
            -- a picture from a domain whose media the admins reject (or that they
            -- suspended) is not shown: no page makes browsers load it from there
            CASE WHEN EXISTS (
                SELECT 1 FROM domain_policies d
                WHERE d.policy = 'block' AND (d.reject_media OR d.severity = 'suspend')
                  AND d.domain IN (ra.domain, split_part(split_part(ra.icon_url, '://', 2), '/', 1))
            ) THEN NULL ELSE icon_url END AS icon_url
        FROM remote_actors ra WHERE uri = $1
        """,
        uri,
    )
    if row is None:
        return None
    fields = tuple(PropertyValue(item["name"], item["value"]) for item in orjson.loads(row["fields"]))
    return RemoteProfileRow(
        uri=row["uri"], domain=row["domain"], preferred_username=row["preferred_username"],
        name=row["name"], summary=row["summary"],
        profile=Profile(icon_url=row["icon_url"], area=row["area"] or "", fields=fields),
    )


async def get_remote_actor_by_key(conn: asyncpg.Connection, key_id: str) -> RemoteActor | None:
    row = await conn.fetchrow(
        f"SELECT {_REMOTE_COLUMNS} FROM remote_actors WHERE key_id = $1", key_id
    )
    return _remote(row)


async def count_follows(conn: asyncpg.Connection, uri: str, direction: str) -> int:
    column = "followed_uri" if direction == "followers" else "follower_uri"
    return await conn.fetchval(
        f"SELECT count(*) FROM follows WHERE {column} = $1 AND state = 'accepted'", uri
    )


async def follows_page(
    conn: asyncpg.Connection, uri: str, direction: str, limit: int, offset: int
) -> list[str]:
    column, other = (("followed_uri", "follower_uri") if direction == "followers"
                     else ("follower_uri", "followed_uri"))
    rows = await conn.fetch(
        f"""
        SELECT {other} AS uri FROM follows WHERE {column} = $1 AND state = 'accepted'
        ORDER BY id DESC LIMIT $2 OFFSET $3
        """,
        uri, limit, offset,
    )
    return [row["uri"] for row in rows]


# the Group's outbox leaves out its Announces of listings by limited or suspended residents
_NOT_MODERATED = """
    AND NOT ($2 AND EXISTS (
        SELECT 1 FROM listings l JOIN accounts a ON a.id = l.author_id
        WHERE l.uid = split_part(activities.object_uri, '/listings/', 2)
          AND (a.limited_at IS NOT NULL OR a.status = 'suspended')))
"""


async def count_outbox(
    conn: asyncpg.Connection, actor_uri: str, leave_out_moderated: bool = False
) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM activities WHERE actor_uri = $1 AND public" + _NOT_MODERATED,
        actor_uri, leave_out_moderated,
    )  # fmt: skip


async def outbox_page(
    conn: asyncpg.Connection,
    actor_uri: str,
    limit: int,
    offset: int,
    leave_out_moderated: bool = False,
) -> list[dict]:
    rows = await conn.fetch(
        f"""
        SELECT document FROM activities WHERE actor_uri = $1 AND public {_NOT_MODERATED}
        ORDER BY id DESC LIMIT $3 OFFSET $4
        """,
        actor_uri, leave_out_moderated, limit, offset,
    )  # fmt: skip
    return [orjson.loads(row["document"]) for row in rows]


async def usage(conn: asyncpg.Connection, base_url: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """
        SELECT
            (SELECT count(*) FROM accounts WHERE status = 'active') AS total,
            (SELECT count(*) FROM accounts WHERE status = 'active'
                AND last_seen_at > now() - interval '30 days') AS month,
            (SELECT count(*) FROM accounts WHERE status = 'active'
                AND last_seen_at > now() - interval '180 days') AS halfyear,
            (SELECT count(*) FROM activities WHERE type = 'Create' AND public
                AND actor_uri LIKE $1 || '/users/%') AS posts
        """,
        base_url,
    )


async def get_private_key_of_username(conn: asyncpg.Connection, username: str) -> str | None:
    """An active resident's key, or a deleted one's while its farewell is being delivered
    (the key is erased afterwards, see services.account_deletion)."""
    return await conn.fetchval(
        "SELECT private_key_pem FROM accounts WHERE lower(username) = lower($1) "
        "AND status IN ('active', 'deleted')",
        username,
    )


async def follow_list(
    conn: asyncpg.Connection,
    local_uri: str,
    direction: str,
    *,
    states: tuple[str, ...] = ("accepted", "pending"),
    before: int | None = None,
    limit: int = 100,
) -> list[asyncpg.Record]:
    """For a local actor's page: (id, uri, handle parts, state) of whom it follows or who
    follows it, newest first, `limit` rows older than the follow `before` (keyset paging)."""
    mine, other = (("follower_uri", "followed_uri") if direction == "following"
                   else ("followed_uri", "follower_uri"))
    return await conn.fetch(
        f"""
        SELECT f.id, f.{other} AS uri, f.state, ra.preferred_username, ra.domain, ra.name
        FROM follows f LEFT JOIN remote_actors ra ON ra.uri = f.{other}
        WHERE f.{mine} = $1 AND f.state = ANY($2::text[]) AND ($3::bigint IS NULL OR f.id < $3)
        ORDER BY f.id DESC LIMIT $4
        """,
        local_uri,
        list(states),
        before,
        limit,
    )


async def key_fetched_within(conn: asyncpg.Connection, key_id: str, seconds: float) -> bool:
    return await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM remote_actors
                       WHERE key_id = $1 AND fetched_at > now() - make_interval(secs => $2))
        """,
        key_id, seconds,
    )
