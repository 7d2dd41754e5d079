"""Queries for the client API's accounts: residents with their counts, people on other
servers from the actor cache, and the node's Group, each under its API id (migration 0024:
a resident's id is accounts.id, the others' api_id starts at 2^40)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

FIRST_OTHER_ID = 2**40  # api_account_id_seq's start

# $1: the node's base URL ("https://host"), for the follows table's actor URIs
_LOCAL = """
    SELECT a.id, a.username, a.display_name, a.summary, a.avatar_filename, a.created_at,
        a.manually_approves_followers, a.status,
        (SELECT count(*) FROM follows f
         WHERE f.followed_uri = $1 || '/users/' || a.username AND f.state = 'accepted')
            AS followers_count,
        (SELECT count(*) FROM follows f
         WHERE f.follower_uri = $1 || '/users/' || a.username AND f.state = 'accepted')
            AS following_count,
        (SELECT count(*) FROM listings l WHERE l.author_id = a.id) AS statuses_count,
        (SELECT max(l.created_at) FROM listings l WHERE l.author_id = a.id) AS last_status_at
    FROM accounts a
"""
# a pending account is nobody yet, a deleted one nobody any more (Mastodon answers 404)
_SEEN = " AND a.status IN ('active', 'suspended')"

_REMOTE = """
    SELECT api_id, uri, domain, type, preferred_username, name, summary, icon_url, fields,
        document->>'url' AS url, document->>'published' AS published,
        coalesce((document->>'manuallyApprovesFollowers')::boolean, false) AS locked,
        fetched_at
    FROM remote_actors
"""


async def local_accounts(
    conn: asyncpg.Connection, base_url: str, ids: Sequence[int]
) -> list[asyncpg.Record]:
    return await conn.fetch(_LOCAL + " WHERE a.id = ANY($2::bigint[])" + _SEEN, base_url, list(ids))


async def local_account_named(
    conn: asyncpg.Connection, base_url: str, username: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        _LOCAL + " WHERE lower(a.username) = lower($2)" + _SEEN, base_url, username
    )


async def profile_fields(conn: asyncpg.Connection, ids: Sequence[int]) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT account_id, label, value, verified_at FROM profile_fields
        WHERE account_id = ANY($1::bigint[]) ORDER BY account_id, position
        """,
        list(ids),
    )


async def remote_accounts_by_uri(
    conn: asyncpg.Connection, uris: Sequence[str]
) -> list[asyncpg.Record]:
    return await conn.fetch(_REMOTE + " WHERE uri = ANY($1::text[])", list(uris))


async def remote_account_by_id(conn: asyncpg.Connection, api_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(_REMOTE + " WHERE api_id = $1", api_id)


async def group_api_id(conn: asyncpg.Connection) -> int | None:
    return await conn.fetchval("SELECT api_id FROM node_actors WHERE role = 'group'")


async def group_counts(conn: asyncpg.Connection, group_uri: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM follows WHERE followed_uri = $1 AND state = 'accepted')
                AS followers_count,
            (SELECT count(*) FROM follows WHERE follower_uri = $1 AND state = 'accepted')
                AS following_count,
            (SELECT count(*) FROM listings) AS statuses_count,
            (SELECT max(created_at) FROM listings) AS last_status_at,
            (SELECT created_at FROM node_actors WHERE role = 'group') AS created_at
        """,
        group_uri,
    )
