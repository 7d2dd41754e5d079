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


async def ids_of_usernames(conn: asyncpg.Connection, usernames: Sequence[str]) -> list[int]:
    rows = await conn.fetch(
        "SELECT id FROM accounts WHERE username = ANY($1::text[])", list(usernames)
    )
    return [row["id"] for row in rows]


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


# --- which actor an id names, and back ----------------------------------------------------


async def uris_of_ids(
    conn: asyncpg.Connection, base_url: str, group_uri: str, ids: Sequence[int]
) -> dict[int, str]:
    """The actor URI of each API id the node knows (residents not deleted, cached actors,
    the Group), in one query."""
    rows = await conn.fetch(
        """
        SELECT a.id, $1 || '/users/' || a.username AS uri FROM accounts a
        WHERE a.id = ANY($3::bigint[]) AND a.status IN ('active', 'suspended')
        UNION ALL
        SELECT api_id, uri FROM remote_actors WHERE api_id = ANY($3::bigint[])
        UNION ALL
        SELECT api_id, $2 FROM node_actors WHERE role = 'group' AND api_id = ANY($3::bigint[])
        """,
        base_url, group_uri, list(ids),
    )  # fmt: skip
    return {row["id"]: row["uri"] for row in rows}


async def remote_account_by_handle(
    conn: asyncpg.Connection, username: str, domain: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        _REMOTE + " WHERE lower(preferred_username) = lower($1) AND domain = lower($2)"
        " ORDER BY fetched_at DESC LIMIT 1",
        username, domain,
    )  # fmt: skip


async def set_locked(conn: asyncpg.Connection, account_id: int, locked: bool) -> None:
    await conn.execute(
        "UPDATE accounts SET manually_approves_followers = $2 WHERE id = $1", account_id, locked
    )


# --- relationships ------------------------------------------------------------------------


async def follows_between(
    conn: asyncpg.Connection, me: str, others: Sequence[str]
) -> list[asyncpg.Record]:
    """The follows rows from `me` to any of `others` and back."""
    return await conn.fetch(
        """
        SELECT follower_uri, followed_uri, state FROM follows
        WHERE (follower_uri = $1 AND followed_uri = ANY($2::text[]))
           OR (followed_uri = $1 AND follower_uri = ANY($2::text[]))
        """,
        me, list(others),
    )  # fmt: skip


async def blocked_rows(
    conn: asyncpg.Connection, account_id: int, ids: Sequence[int], uris: Sequence[str]
) -> list[asyncpg.Record]:
    """The resident's blocks and mutes of these residents (by id) or remote actors (by URI)."""
    return await conn.fetch(
        """
        SELECT id, kind, target_account_id, target_actor_uri FROM resident_blocks
        WHERE account_id = $1 AND (target_account_id = ANY($2::bigint[])
                                   OR target_actor_uri = ANY($3::text[]))
        """,
        account_id, list(ids), list(uris),
    )  # fmt: skip


async def blockers_of(
    conn: asyncpg.Connection, account_id: int, me: str, ids: Sequence[int], uris: Sequence[str]
) -> tuple[set[int], set[str]]:
    """Which of these residents (ids) and remote actors (URIs) block the resident."""
    residents = await conn.fetch(
        """
        SELECT account_id FROM resident_blocks WHERE kind = 'block'
            AND target_account_id = $1 AND account_id = ANY($2::bigint[])
        """,
        account_id, list(ids),
    )  # fmt: skip
    actors = await conn.fetch(
        "SELECT blocker_uri FROM actor_blocks WHERE blocked_uri = $1 AND blocker_uri = ANY($2)",
        me, list(uris),
    )  # fmt: skip
    return {row[0] for row in residents}, {row[0] for row in actors}


async def hidden_domains_among(
    conn: asyncpg.Connection, account_id: int, domains: Sequence[str]
) -> set[str]:
    rows = await conn.fetch(
        "SELECT domain FROM resident_domain_hides WHERE account_id = $1 AND domain = ANY($2::text[])",
        account_id, list(domains),
    )  # fmt: skip
    return {row[0] for row in rows}


# --- lists of accounts --------------------------------------------------------------------


async def follow_page(
    conn: asyncpg.Connection,
    uri: str,
    direction: str,
    state: str,
    *,
    max_id: int | None,
    after: int | None,
    oldest_first: bool,
    limit: int,
) -> list[asyncpg.Record]:
    """(row id, the other side's URI) of `uri`'s followers or following, paged by the
    follows row's id as Mastodon pages them (by its follows' ids)."""
    mine, other = (
        ("followed_uri", "follower_uri") if direction == "followers"
        else ("follower_uri", "followed_uri")
    )  # fmt: skip
    order = "ASC" if oldest_first else "DESC"
    return await conn.fetch(
        f"""
        SELECT id, {other} AS uri FROM follows
        WHERE {mine} = $1 AND state = $2
            AND ($3::bigint IS NULL OR id < $3) AND ($4::bigint IS NULL OR id > $4)
        ORDER BY id {order} LIMIT $5
        """,
        uri, state, max_id, after, limit,
    )  # fmt: skip


async def blocked_page(
    conn: asyncpg.Connection,
    base_url: str,
    account_id: int,
    kind: str,
    *,
    max_id: int | None,
    after: int | None,
    oldest_first: bool,
    limit: int,
) -> list[asyncpg.Record]:
    order = "ASC" if oldest_first else "DESC"
    return await conn.fetch(
        f"""
        SELECT b.id, coalesce(b.target_actor_uri, $6 || '/users/' || a.username) AS uri
        FROM resident_blocks b LEFT JOIN accounts a ON a.id = b.target_account_id
        WHERE b.account_id = $1 AND b.kind = $2
            AND ($3::bigint IS NULL OR b.id < $3) AND ($4::bigint IS NULL OR b.id > $4)
        ORDER BY b.id {order} LIMIT $5
        """,
        account_id, kind, max_id, after, limit, base_url,
    )  # fmt: skip


async def search_residents(
    conn: asyncpg.Connection, base_url: str, text: str, limit: int, offset: int
) -> list[asyncpg.Record]:
    """Residents whose username or display name starts with `text` (or has a word that
    does), usernames that match exactly first."""
    pattern = _like(text)
    return await conn.fetch(
        _LOCAL
        + """
        WHERE (lower(a.username) LIKE $2 || '%' OR lower(a.display_name) LIKE $2 || '%'
               OR lower(a.display_name) LIKE '% ' || $2 || '%')
            AND a.status = 'active'
        """
        + " ORDER BY lower(a.username) = $2 DESC, a.username LIMIT $3 OFFSET $4",
        base_url, pattern, limit, offset,
    )  # fmt: skip


async def search_remote(
    conn: asyncpg.Connection, text: str, domain: str | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    """Cached actors whose username or name starts with `text` (on `domain`, if given)."""
    pattern = _like(text)
    return await conn.fetch(
        _REMOTE
        + """
        WHERE (lower(preferred_username) LIKE $1 || '%' OR lower(name) LIKE $1 || '%'
               OR lower(name) LIKE '% ' || $1 || '%')
            AND ($2::text IS NULL OR domain = $2)
            AND NOT EXISTS (SELECT 1 FROM domain_policies d WHERE d.domain = remote_actors.domain
                            AND d.policy = 'block' AND d.severity = 'suspend')
        ORDER BY lower(preferred_username) = $1 DESC, preferred_username, domain
        LIMIT $3 OFFSET $4
        """,
        pattern, domain, limit, offset,
    )  # fmt: skip


def _like(text: str) -> str:
    """`text` lower-cased, with LIKE's wildcards taken literally."""
    return text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- an account's statuses (its listings) -------------------------------------------------


async def listing_status_ids(
    conn: asyncpg.Connection,
    author_id: int | None,
    *,
    tag: str | None,
    only_media: bool,
    max_id: int | None,
    after: int | None,
    oldest_first: bool,
    limit: int,
) -> list[int]:
    """Status ids of a resident's listings (every listing here for None: the Group's)."""
    order = "ASC" if oldest_first else "DESC"
    rows = await conn.fetch(
        f"""
        SELECT l.status_id FROM listings l
        WHERE ($1::bigint IS NULL OR l.author_id = $1) AND ($2::text IS NULL OR l.category = $2)
            AND (NOT $3 OR EXISTS (SELECT 1 FROM listing_photos p WHERE p.listing_id = l.id))
            AND ($4::bigint IS NULL OR l.status_id < $4) AND ($5::bigint IS NULL OR l.status_id > $5)
        ORDER BY l.status_id {order} LIMIT $6
        """,
        author_id, tag, only_media, max_id, after, limit,
    )  # fmt: skip
    return [row[0] for row in rows]


async def remote_status_ids(
    conn: asyncpg.Connection,
    actor_uri: str,
    *,
    tag: str | None,
    only_media: bool,
    max_id: int | None,
    after: int | None,
    oldest_first: bool,
    limit: int,
) -> list[int]:
    """Status ids of the listings the node keeps from a remote actor."""
    order = "ASC" if oldest_first else "DESC"
    rows = await conn.fetch(
        f"""
        SELECT r.status_id FROM remote_objects r
        WHERE r.attributed_to = $1 AND r.is_listing
            AND ($2::text IS NULL OR EXISTS (
                SELECT 1 FROM jsonb_array_elements({_REMOTE_TAGS}) t
                WHERE lower(ltrim(t->>'name', '#')) = $2))
            AND (NOT $3 OR jsonb_typeof(r.document->'attachment') IN ('array', 'object'))
            AND ($4::bigint IS NULL OR r.status_id < $4) AND ($5::bigint IS NULL OR r.status_id > $5)
        ORDER BY r.status_id {order} LIMIT $6
        """,
        actor_uri, tag, only_media, max_id, after, limit,
    )  # fmt: skip
    return [row[0] for row in rows]


# the tags of a remote object, a list whether one or several were sent
_REMOTE_TAGS = (
    "CASE jsonb_typeof(r.document->'tag') WHEN 'array' THEN r.document->'tag' "
    "WHEN 'object' THEN jsonb_build_array(r.document->'tag') ELSE '[]'::jsonb END"
)


async def status_ids_for(
    conn: asyncpg.Connection, listing_ids: Sequence[int], remote_uris: Sequence[str]
) -> tuple[dict[int, int], dict[str, int]]:
    """The status ids of local listings (by listing id) and remote objects (by URI)."""
    local = await conn.fetch(
        "SELECT id, status_id FROM listings WHERE id = ANY($1::bigint[])", list(listing_ids)
    )
    remote = await conn.fetch(
        "SELECT uri, status_id FROM remote_objects WHERE uri = ANY($1::text[])", list(remote_uris)
    )
    return {row[0]: row[1] for row in local}, {row[0]: row[1] for row in remote}


async def categories_matching(
    conn: asyncpg.Connection, text: str, limit: int, offset: int
) -> list[asyncpg.Record]:
    pattern = _like(text.lstrip("#"))
    return await conn.fetch(
        """
        SELECT slug, name FROM categories
        WHERE slug LIKE $1 || '%' OR lower(name) LIKE $1 || '%' OR lower(name) LIKE '% ' || $1 || '%'
        ORDER BY slug = $1 DESC, position, slug LIMIT $2 OFFSET $3
        """,
        pattern, limit, offset,
    )  # fmt: skip


async def resident_row(conn: asyncpg.Connection, account_id: int) -> asyncpg.Record | None:
    """What following or blocking a resident needs to know of them."""
    return await conn.fetchrow(
        """
        SELECT id, username, manually_approves_followers, status FROM accounts
        WHERE id = $1 AND status IN ('active', 'suspended')
        """,
        account_id,
    )


async def follow_requests_count(conn: asyncpg.Connection, uri: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM follows WHERE followed_uri = $1 AND state = 'pending'", uri
    )
