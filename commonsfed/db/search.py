"""Queries that find listings: the neighbourhood page (local and federated), its feeds.

Every page is newest first and paged by keyset. Local listings order by (created_at, id);
remote ones by (`REMOTE_AT`, uri) with uri compared
byte by byte (COLLATE "C"), as Python compares strings. Where both are shown, a local and a remote listing of the
same moment order remote first, so a cursor says which side it stopped on (see `Cursor`).
Only open and reserved listings are ever found: the partial indexes of 0007_search.sql.

A resident who blocks, mutes or hides people gets their pages with those left out: the lists
travel as array parameters (a few ids, URIs or domains, read once per page from the primary
keys of resident_blocks and resident_domain_hides) and filter the rows each index scan
reads, so the plans stay the same backwards scans that stop after one page. Everyone else's
queries carry no such condition at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

OPEN = "l.state IN ('open', 'reserved')"
# when a remote listing counts as posted: never later than it reached us (0007's index)
REMOTE_AT = "least(coalesce(r.published_at, r.received_at), r.received_at)"
# the readable text of a remote listing: its name and its content without the tags
REMOTE_TEXT = (
    "coalesce(r.document->>'name', '') || ' ' "
    "|| regexp_replace(coalesce(r.document->>'content', ''), '<[^>]*>', ' ', 'g')"
)
REMOTE_PLACE = "coalesce(r.document->'location'->>'name', '')"
# jsonb numbers are read as numeric: a float8 cast of 1e400 would fail the whole query
REMOTE_COORDINATE = (
    "CASE WHEN jsonb_typeof(r.document->'location'->'{0}') = 'number' "
    "THEN (r.document->'location'->>'{0}')::numeric END"
)
REMOTE_TAGS = """
    CASE jsonb_typeof(r.document->'tag') WHEN 'array' THEN r.document->'tag'
         WHEN 'object' THEN jsonb_build_array(r.document->'tag') ELSE '[]'::jsonb END
"""


@dataclass(frozen=True)
class Box:
    """A rough bounding box in degrees."""

    south: float
    north: float
    west: float
    east: float


@dataclass(frozen=True)
class Circle:
    """Within `km` of a point: the box narrows by index, the circle is exact (haversine)."""

    latitude: float
    longitude: float
    km: float


# the great-circle distance in km from a listing (l.) to a point ({lat}, {lon}, parameters)
HAVERSINE = (
    "2 * 6371.0088 * asin(least(1, sqrt("
    "sin(radians(l.latitude - {lat}) / 2) ^ 2 + cos(radians({lat})) * cos(radians(l.latitude))"
    " * sin(radians(l.longitude - {lon}) / 2) ^ 2)))"
)


@dataclass(frozen=True)
class Filter:
    """What the neighbourhood page asks for; None: not filtered."""

    purpose: str | None = None
    kind: str | None = None  # local only: a remote listing's kind is read in Python
    category: str | None = None
    words: str | None = None  # websearch syntax, on the generated `search` column
    place_query: str | None = None  # a to_tsquery of prefixes: "elm:* & street:*"
    box: Box | None = None
    circle: Circle | None = None  # local only: remote listings are measured in Python
    author_id: int | None = None
    # what the viewer blocks, mutes or hides (db.blocks.Hidden): left out
    hidden_authors: tuple[int, ...] = ()
    hidden_actors: tuple[str, ...] = ()
    hidden_domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cursor:
    """Where a page stopped: the last listing shown, local (id) or remote (uri)."""

    at: datetime
    local_id: int | None = None
    remote_uri: str | None = None


class _Params:
    """Numbered parameters for one query, so every value travels apart from the SQL."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


# --- local listings --------------------------------------------------------------------------


def _local_conditions(f: Filter, cursor: Cursor | None, p: _Params) -> list[str]:
    where = [OPEN]
    for column in ("purpose", "kind", "category"):
        if getattr(f, column) is not None:
            where.append(f"l.{column} = {p(getattr(f, column))}")
    if f.words:
        where.append(f"l.search @@ websearch_to_tsquery('simple', {p(f.words)})")
    if f.place_query:
        where.append(f"l.place_search @@ to_tsquery('simple', {p(f.place_query)})")
    if f.box:
        where.append(f"l.latitude BETWEEN {p(f.box.south)} AND {p(f.box.north)}")
        where.append(f"l.longitude BETWEEN {p(f.box.west)} AND {p(f.box.east)}")
    if f.circle:
        lat, lon = p(f.circle.latitude), p(f.circle.longitude)
        where.append(f"{HAVERSINE.format(lat=lat, lon=lon)} <= {p(f.circle.km)}")
    if f.author_id is not None:
        where.append(f"l.author_id = {p(f.author_id)}")
    if f.hidden_authors:
        where.append(f"l.author_id <> ALL({p(list(f.hidden_authors))}::bigint[])")
    if cursor and cursor.local_id is not None:
        where.append(f"(l.created_at, l.id) < ({p(cursor.at)}, {p(cursor.local_id)})")
    elif cursor:  # stopped on a remote listing: local ones of the same moment come after it
        where.append(f"l.created_at <= {p(cursor.at)}")
    return where


def local_query(f: Filter, cursor: Cursor | None, limit: int) -> tuple[str, list[Any]]:
    """The SQL and arguments of one page of local listings (the bench EXPLAINs it)."""
    p = _Params()
    where = " AND ".join(_local_conditions(f, cursor, p))
    # the page is chosen from listings alone, then joined: a filter that matches thousands
    # (a common street name) sorts those rows, not thousands of joined ones
    sql = f"""
        SELECT l.id, l.uid, l.purpose, l.kind, l.title, l.category, c.name AS category_name,
               l.place, l.latitude, l.longitude, l.state, l.created_at, a.username AS author,
               ph.filename AS photo, ph.alt AS photo_alt, ph.width AS photo_width,
               ph.height AS photo_height, l.ends_at
        FROM (
            SELECT l.id, l.uid, l.author_id, l.purpose, l.kind, l.title, l.category, l.place,
                   l.latitude, l.longitude, l.state, l.created_at,
                   least(l.available_until, l.expires_at) AS ends_at
            FROM listings l
            WHERE {where}
            ORDER BY l.created_at DESC, l.id DESC
            LIMIT {p(limit)}
        ) l
        JOIN accounts a ON a.id = l.author_id
        JOIN categories c ON c.slug = l.category
        LEFT JOIN listing_photos ph ON ph.listing_id = l.id AND ph.position = 0
        ORDER BY l.created_at DESC, l.id DESC
    """
    return sql, p.values


async def _fetch_planned_each_time(
    conn: asyncpg.Connection, sql: str, args: list[Any]
) -> list[asyncpg.Record]:
    """Run a search query with a plan made for its values. asyncpg prepares and caches
    statements, and after five runs PostgreSQL may switch to one generic plan; for these
    queries the best plan depends on the values (a rare word or a common one, a small box
    or a large one), and the generic plan measured ten times slower (bench/listings_page.py).
    Planning costs about 0.2 ms."""
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        return await conn.fetch(sql, *args)


async def local_listings(
    conn: asyncpg.Connection, f: Filter, cursor: Cursor | None, limit: int
) -> list[asyncpg.Record]:
    sql, args = local_query(f, cursor, limit)
    return await _fetch_planned_each_time(conn, sql, args)


# --- remote listings -------------------------------------------------------------------------


def _remote_conditions(f: Filter, cursor: Cursor | None, p: _Params) -> list[str]:
    where = [
        "r.is_listing",
        # finished (completed or expired) as FEP-0837 publishers say it; the rest of the
        # state (an endTime past) is read by listing_from_ap
        "coalesce(r.document->'publishes'->>'vf:finished', "
        "r.document->'publishes'->>'finished', '') <> 'true'",
        # a limited domain stays out of public places, as Mastodon keeps a silenced one out
        # of its public timelines
        "NOT EXISTS (SELECT 1 FROM domain_policies d WHERE d.domain = r.domain "
        "AND d.policy = 'block' AND d.severity IN ('limit', 'suspend'))",
    ]
    if f.purpose is not None:
        where.append(f"r.document->>'purpose' = {p(f.purpose)}")
    if f.category is not None:
        where.append(
            f"EXISTS (SELECT 1 FROM jsonb_array_elements({REMOTE_TAGS}) t "
            f"WHERE lower(ltrim(t->>'name', '#')) = {p(f.category)})"
        )
    if f.words:
        where.append(
            f"to_tsvector('simple'::regconfig, {REMOTE_TEXT}) "
            f"@@ websearch_to_tsquery('simple', {p(f.words)})"
        )
    if f.place_query:
        where.append(
            f"to_tsvector('simple'::regconfig, {REMOTE_PLACE}) "
            f"@@ to_tsquery('simple', {p(f.place_query)})"
        )
    if f.box:
        latitude, longitude = (
            REMOTE_COORDINATE.format("latitude"),
            REMOTE_COORDINATE.format("longitude"),
        )
        where.append(f"{latitude} BETWEEN {p(f.box.south)}::numeric AND {p(f.box.north)}::numeric")
        where.append(f"{longitude} BETWEEN {p(f.box.west)}::numeric AND {p(f.box.east)}::numeric")
    if f.hidden_actors:
        where.append(f"r.attributed_to <> ALL({p(list(f.hidden_actors))}::text[])")
    if f.hidden_domains:
        where.append(f"r.domain <> ALL({p(list(f.hidden_domains))}::text[])")
    if cursor and cursor.remote_uri is not None:
        where.append(f'({REMOTE_AT}, r.uri COLLATE "C") < ({p(cursor.at)}, {p(cursor.remote_uri)})')
    elif cursor:  # stopped on a local listing: remote ones of the same moment came before it
        where.append(f"{REMOTE_AT} < {p(cursor.at)}")
    return where


def remote_query(f: Filter, cursor: Cursor | None, limit: int) -> tuple[str, list[Any]]:
    p = _Params()
    where = " AND ".join(_remote_conditions(f, cursor, p))
    sql = f"""
        SELECT r.uri, r.domain, r.document, {REMOTE_AT} AS at
        FROM remote_objects r
        WHERE {where}
        ORDER BY {REMOTE_AT} DESC, r.uri COLLATE "C" DESC
        LIMIT {p(limit)}
    """
    return sql, p.values


async def remote_listings(
    conn: asyncpg.Connection, f: Filter, cursor: Cursor | None, limit: int
) -> list[asyncpg.Record]:
    sql, args = remote_query(f, cursor, limit)
    return await _fetch_planned_each_time(conn, sql, args)


# --- feeds -----------------------------------------------------------------------------------


async def feed_listings(
    conn: asyncpg.Connection,
    *,
    category: str | None = None,
    author_id: int | None = None,
    hidden_authors: tuple[int, ...] = (),
    limit: int = 50,
) -> list[asyncpg.Record]:
    """The latest open listings with what a feed entry needs (the description, the times)."""
    p = _Params()
    where = [OPEN]
    if category is not None:
        where.append(f"l.category = {p(category)}")
    if author_id is not None:
        where.append(f"l.author_id = {p(author_id)}")
    if hidden_authors:
        where.append(f"l.author_id <> ALL({p(list(hidden_authors))}::bigint[])")
    return await conn.fetch(
        f"""
        SELECT l.uid, l.purpose, l.kind, l.title, l.description, l.category,
               c.name AS category_name, l.place, l.state, l.created_at, l.updated_at,
               a.username AS author, a.display_name AS author_name
        FROM listings l
        JOIN accounts a ON a.id = l.author_id
        JOIN categories c ON c.slug = l.category
        WHERE {" AND ".join(where)}
        ORDER BY l.created_at DESC, l.id DESC
        LIMIT {p(limit)}
        """,
        *p.values,
    )


async def category_name(conn: asyncpg.Connection, slug: str) -> str | None:
    return await conn.fetchval("SELECT name FROM categories WHERE slug = $1", slug)


# --- for the bench ---------------------------------------------------------------------------

COPY_COLUMNS = (
    "uid",
    "author_id",
    "purpose",
    "kind",
    "title",
    "description",
    "category",
    "place",
    "latitude",
    "longitude",
    "state",
    "created_at",
    "updated_at",
)


async def copy_listings(conn: asyncpg.Connection, records: Iterable[Sequence[Any]]) -> None:
    """Bulk-load listings (tuples in COPY_COLUMNS order) with COPY: the bench's 100,000."""
    await conn.copy_records_to_table("listings", records=records, columns=COPY_COLUMNS)


async def explain(conn: asyncpg.Connection, sql: str, args: Sequence[Any]) -> list[str]:
    """EXPLAIN (ANALYZE) of a query, as lines."""
    rows = await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}", *args)
    return [row[0] for row in rows]


async def analyse(conn: asyncpg.Connection) -> None:
    await conn.execute("ANALYZE listings; ANALYZE remote_objects; ANALYZE listing_photos")
