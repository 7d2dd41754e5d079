"""Queries for the client API's timelines: which status ids a page holds.

A page is chosen from ids alone (listings here, listings from other nodes, a resident's
messages), newest first by status id, then built by services.statuses in a few batch
queries. Each source is its own sub-select with its own ORDER BY and LIMIT, so each is a
backwards scan of a status_id index (0024, 0027) that stops after one page (or, for a few
followed people, one such scan per person of an (author, status_id) index), and the page
is the newest `limit` of a few short lists. A min_id page reads upwards from min_id (the
oldest first), as Mastodon does for catching up.

What the viewer blocks, mutes or hides, and the residents the moderators limited or
suspended, travel as array parameters (a few ids, URIs or domains) that filter the rows
each scan reads; a viewer without any gets queries without those conditions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from commonsfed.db.blocks import Hidden

# a domain whose content stays out of public places (Mastodon's silenced or suspended one)
_DOMAIN_LIMITED = (
    "EXISTS (SELECT 1 FROM domain_policies d WHERE d.domain = r.domain "
    "AND d.policy = 'block' AND d.severity IN ('limit', 'suspend'))"
)
# up to this many followed authors (or people, or domains), a page is read author by author
# (`_each`); beyond, one backwards scan of status_id filtered by the list finds a page sooner
EACH_AT_MOST = 100
_MEDIA = "jsonb_typeof(r.document->'attachment') IN ('array', 'object') " \
    "AND r.document->'attachment' <> '[]'::jsonb"  # fmt: skip


@dataclass(frozen=True)
class Sources:
    """What one timeline reads. For local listings and remote ones, None: every one;
    an empty tuple of authors (or of actors and domains) reads none."""

    local: bool = True
    remote: bool = True
    local_authors: tuple[int, ...] | None = None
    remote_actors: tuple[str, ...] | None = None
    remote_domains: tuple[str, ...] = ()  # with remote_actors: theirs OR these domains'
    messages_of: int | None = None  # a resident: their conversations' messages too
    tags: tuple[str, ...] | None = None  # any of these; lower case, without '#'
    all_tags: tuple[str, ...] = ()  # and every one of these
    no_tags: tuple[str, ...] = ()  # and none of these
    only_media: bool = False
    public_place: bool = True  # leave out limited domains (home does not: it was followed)
    hidden_authors: tuple[int, ...] = ()
    hidden_actors: tuple[str, ...] = ()
    hidden_domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bounds:
    """A page: status ids below `below`, above `above`, the oldest first when `upwards`."""

    below: int | None
    above: int | None
    limit: int
    upwards: bool = False


class _Params:
    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _list(p: _Params, values: Sequence[Any], kind: str) -> str:
    """A list of URIs or domains, as an array the planner does not look into: weighing each
    of five hundred followed people's URIs against the column's statistics took 3 ms a
    page, fifteen times the page's execution, for the same backwards scan (a page from a
    few people is read person by person instead, see `_each`). Lists of account ids stay
    in view: without their size the planner sorts every listing of a thousand residents
    rather than scan backwards (14 ms against 0.2 ms), and they cost little to weigh."""
    return f"ARRAY(SELECT unnest({p(list(values))}::{kind}[]))"


def _bounds(column: str, bounds: Bounds, p: _Params) -> list[str]:
    where = []
    if bounds.below is not None:
        where.append(f"{column} < {p(bounds.below)}")
    if bounds.above is not None:
        where.append(f"{column} > {p(bounds.above)}")
    return where


def _local(s: Sources, p: _Params, *, each: bool = False) -> list[str]:
    where = []
    if s.local_authors is not None and not each:
        where.append(f"l.author_id = ANY({p(list(s.local_authors))}::bigint[])")
    if s.hidden_authors:
        where.append(f"l.author_id <> ALL({p(list(s.hidden_authors))}::bigint[])")
    if s.tags is not None and len(s.tags) == 1:
        # one category: a backwards scan of (category, status_id), which `= ANY` is not
        where.append(f"l.category = {p(s.tags[0])}")
    elif s.tags is not None:
        where.append(f"l.category = ANY({p(list(s.tags))}::text[])")
    if s.all_tags:  # a listing here has one category
        where.append(f"l.category = ALL({p(list(s.all_tags))}::text[])")
    if s.no_tags:
        where.append(f"l.category <> ALL({p(list(s.no_tags))}::text[])")
    if s.only_media:
        where.append("EXISTS (SELECT 1 FROM listing_photos ph WHERE ph.listing_id = l.id)")
    return where


def _remote(s: Sources, p: _Params, *, each: bool = False) -> list[str]:
    where = ["r.is_listing", "NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.uri = r.uri)"]
    if s.remote_actors is not None and not each:
        where.append(f"(r.attributed_to = ANY({_list(p, s.remote_actors, 'text')}) "
                     f"OR r.domain = ANY({_list(p, s.remote_domains, 'text')}))")  # fmt: skip
    if s.public_place:
        where.append(f"NOT {_DOMAIN_LIMITED}")
    if s.hidden_actors:
        where.append(f"r.attributed_to <> ALL({_list(p, s.hidden_actors, 'text')})")
    if s.hidden_domains:
        where.append(f"r.domain <> ALL({_list(p, s.hidden_domains, 'text')})")
    if s.tags is not None:
        where.append(f"remote_hashtags(r.document) && {p(list(s.tags))}::text[]")
    if s.all_tags:
        where.append(f"remote_hashtags(r.document) @> {p(list(s.all_tags))}::text[]")
    if s.no_tags:
        where.append(f"NOT (remote_hashtags(r.document) && {p(list(s.no_tags))}::text[])")
    if s.only_media:
        where.append(_MEDIA)
    return where


def _messages(s: Sources, p: _Params) -> list[str]:
    party = p(s.messages_of)
    return [
        "m.kind = 'message'",
        f"""m.conversation_id = ANY(ARRAY(
            SELECT c.id FROM conversations c WHERE c.respondent_account_id = {party}
            UNION ALL
            SELECT c.id FROM conversations c JOIN listings l ON l.id = c.listing_id
            WHERE l.author_id = {party}))""",
    ]


def _part(table: str, where: list[str], bounds: Bounds, p: _Params, order: str) -> str:
    alias = table.split()[-1]
    conditions = where + _bounds(f"{alias}.status_id", bounds, p)
    return (
        f"(SELECT {alias}.status_id FROM {table} WHERE {' AND '.join(conditions) or 'true'} "
        f"ORDER BY {alias}.status_id {order} LIMIT {p(bounds.limit)})"
    )


def _each(
    column: str, values: Sequence[Any], kind: str, table: str, where: list[str],
    bounds: Bounds, p: _Params, order: str,
) -> str:  # fmt: skip
    """A page from each of a few authors (or domains): one short scan of the (column,
    status_id) index per value, then the newest of those. Where the few post rarely, a
    single backwards scan of status_id filtered by the list would read the whole table
    to fill a page; the planner cannot know it, as its statistics say how many rows an
    author has on average, not that these few have almost none."""
    alias = table.split()[-1]
    conditions = [f"{alias}.{column} = w.v", *where, *_bounds(f"{alias}.status_id", bounds, p)]
    limit = p(bounds.limit)
    return (
        f"(SELECT x.status_id FROM unnest({p(list(values))}::{kind}[]) AS w(v) "
        f"CROSS JOIN LATERAL (SELECT {alias}.status_id FROM {table} "
        f"WHERE {' AND '.join(conditions)} ORDER BY {alias}.status_id {order} LIMIT {limit}) x "
        f"ORDER BY x.status_id {order} LIMIT {limit})"
    )


def _local_parts(s: Sources, bounds: Bounds, p: _Params, order: str) -> list[str]:
    if not s.local or s.local_authors == ():
        return []
    if s.local_authors is not None and len(s.local_authors) <= EACH_AT_MOST:
        where = _local(s, p, each=True)
        return [
            _each("author_id", s.local_authors, "bigint", "listings l", where, bounds, p, order)
        ]
    return [_part("listings l", _local(s, p), bounds, p, order)]


def _remote_parts(s: Sources, bounds: Bounds, p: _Params, order: str) -> list[str]:
    if not s.remote or (s.remote_actors == () and not s.remote_domains):
        return []
    if s.remote_actors is None or len(s.remote_actors) > EACH_AT_MOST:
        return [_part("remote_objects r", _remote(s, p), bounds, p, order)]
    parts = []
    for column, values in (("attributed_to", s.remote_actors), ("domain", s.remote_domains)):
        if values:
            where = _remote(s, p, each=True)
            parts.append(_each(column, values, "text", "remote_objects r", where, bounds, p, order))
    return parts


def page_query(s: Sources, bounds: Bounds) -> tuple[str, list[Any]]:
    """The SQL and arguments of one page of status ids (the bench and the tests EXPLAIN
    it)."""
    p = _Params()
    order = "ASC" if bounds.upwards else "DESC"
    parts = _local_parts(s, bounds, p, order) + _remote_parts(s, bounds, p, order)
    if s.messages_of is not None and s.tags is None and not s.only_media:
        parts.append(_part("messages m", _messages(s, p), bounds, p, order))
    if not parts:
        return "SELECT NULL::bigint AS status_id WHERE false", []
    union = " UNION ALL ".join(parts)
    sql = f"SELECT status_id FROM ({union}) page ORDER BY status_id {order} LIMIT {p(bounds.limit)}"
    return sql, p.values


async def page_ids(conn: asyncpg.Connection, s: Sources, bounds: Bounds) -> list[int]:
    """The status ids of one page, newest first (a min_id page too, once read)."""
    sql, args = page_query(s, bounds)
    ids = [row["status_id"] for row in await _fetch_planned_each_time(conn, sql, args)]
    return list(reversed(ids)) if bounds.upwards else ids


async def _fetch_planned_each_time(
    conn: asyncpg.Connection, sql: str, args: Sequence[Any]
) -> list[asyncpg.Record]:
    """The best plan depends on the values (a few followed people or many, a rare tag or a
    common one), and asyncpg's prepared statements would get one generic plan after five
    runs, so each page is planned for its own (about 0.2 ms). BEGIN and SET LOCAL go in one
    round trip: on a busy machine each round trip is a wait of its own."""
    if conn.is_in_transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        return await conn.fetch(sql, *args)
    await conn.execute("BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_custom_plan")
    try:
        rows = await conn.fetch(sql, *args)
    except Exception:
        await conn.execute("ROLLBACK")
        raise  # (cancelled: the pool rolls back as it takes the connection back)
    await conn.execute("COMMIT")
    return rows


# --- whom a resident follows -------------------------------------------------------------------


@dataclass(frozen=True)
class ViewerFacts:
    """What a timeline needs to know of its viewer, read in one round trip: what they
    block, mute or hide, the residents the moderators limited or suspended, and (for home)
    whom they follow: residents by account id, people on other servers by URI, and the
    domains of the neighbourhoods (Groups) they follow."""

    hidden: Hidden
    limited: frozenset[int]
    suspended: frozenset[int]
    residents: tuple[int, ...] = ()
    actors: tuple[str, ...] = ()
    group_domains: tuple[str, ...] = ()
    own_group: bool = False  # they follow this node's neighbourhood


# $1 the viewer's account id (or NULL), $2 their actor URI (or NULL: whom they follow is not
# asked), $3 this node's /users/ prefix, $4 this node's Group
_VIEWER_FACTS = """
    WITH followed AS (
        SELECT f.followed_uri, a.id AS account_id, ra.type, ra.domain
        FROM follows f
        LEFT JOIN accounts a ON f.followed_uri = $3 || a.username AND a.status = 'active'
        LEFT JOIN remote_actors ra ON ra.uri = f.followed_uri
        WHERE f.follower_uri = $2 AND f.state = 'accepted'
    )
    SELECT
        ARRAY(SELECT target_account_id FROM resident_blocks
              WHERE account_id = $1 AND target_account_id IS NOT NULL) AS hidden_accounts,
        ARRAY(SELECT target_actor_uri FROM resident_blocks
              WHERE account_id = $1 AND target_actor_uri IS NOT NULL) AS hidden_actors,
        ARRAY(SELECT domain FROM resident_domain_hides WHERE account_id = $1) AS hidden_domains,
        -- few rows, read through 0021's partial index
        ARRAY(SELECT id FROM accounts WHERE limited_at IS NOT NULL AND status <> 'suspended')
            AS limited,
        ARRAY(SELECT id FROM accounts WHERE status = 'suspended') AS suspended,
        ARRAY(SELECT account_id FROM followed WHERE account_id IS NOT NULL) AS residents,
        ARRAY(SELECT followed_uri FROM followed WHERE type <> 'Group') AS actors,
        ARRAY(SELECT DISTINCT domain FROM followed WHERE type = 'Group') AS group_domains,
        EXISTS (SELECT 1 FROM followed WHERE followed_uri = $4) AS own_group
"""


async def viewer_facts(
    conn: asyncpg.Connection,
    account_id: int | None,
    follower_uri: str | None,
    users_prefix: str,
    group_uri: str,
) -> ViewerFacts:
    row = await conn.fetchrow(_VIEWER_FACTS, account_id, follower_uri, users_prefix, group_uri)
    return ViewerFacts(
        hidden=Hidden(tuple(row["hidden_accounts"]), tuple(row["hidden_actors"]),
                      tuple(row["hidden_domains"])),
        limited=frozenset(row["limited"]), suspended=frozenset(row["suspended"]),
        residents=tuple(row["residents"]), actors=tuple(row["actors"]),
        group_domains=tuple(row["group_domains"]), own_group=row["own_group"],
    )  # fmt: skip


async def explain(conn: asyncpg.Connection, sql: str, args: Sequence[Any]) -> list[str]:
    """EXPLAIN (ANALYZE) of a page query, planned for its values as pages are."""
    rows = await _fetch_planned_each_time(
        conn, f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}", args
    )
    return [row[0] for row in rows]


# --- for the bench -----------------------------------------------------------------------------


async def copy_rows(
    conn: asyncpg.Connection, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
) -> None:
    """Bulk-load rows with COPY: the bench's residents, people, listings and follows."""
    await conn.copy_records_to_table(table, records=records, columns=list(columns))
