"""Queries for the other orders of the neighbourhood page (nearest, ending soon) and its
result count; the newest-first pages are db.search's.

These pages are paged by position, not by keyset (services.sorted_search says why): each
query reads the first `limit` rows in its order, which the caller slices. Both orders stay
index scans over the open listings: "nearest" only ever runs inside a circle (the bounding
box of 0007's coordinates index narrows it), "ending soon" reads 0033's index forwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from commonsfed.db.search import (
    HAVERSINE,
    REMOTE_AT,
    REMOTE_COORDINATE,
    Filter,
    _local_conditions,
    _Params,
    _remote_conditions,
)

# a listing's end: the earlier of the end of its availability and its expiry (0033's index)
ENDS = "least(l.available_until, l.expires_at)"
_SELECT = f"""
    SELECT l.id, l.uid, l.purpose, l.kind, l.title, l.category, c.name AS category_name,
           l.place, l.latitude, l.longitude, l.state, l.created_at, a.username AS author,
           {ENDS} AS ends_at, ph.filename AS photo, ph.alt AS photo_alt,
           ph.width AS photo_width, ph.height AS photo_height
    FROM listings l
    JOIN accounts a ON a.id = l.author_id
    JOIN categories c ON c.slug = l.category
    LEFT JOIN listing_photos ph ON ph.listing_id = l.id AND ph.position = 0
"""


async def nearest(conn: asyncpg.Connection, f: Filter, limit: int) -> list[asyncpg.Record]:
    """The first `limit` open listings inside `f.circle`, nearest its centre first."""
    if f.circle is None:
        raise ValueError("nearest needs a circle to measure from")
    p = _Params()
    where = " AND ".join(_local_conditions(f, None, p))
    distance = HAVERSINE.format(lat=p(f.circle.latitude), lon=p(f.circle.longitude))
    return await conn.fetch(
        f"{_SELECT} WHERE {where} ORDER BY {distance}, l.created_at DESC, l.id DESC "
        f"LIMIT {p(limit)}",
        *p.values,
    )


async def ending_soon(
    conn: asyncpg.Connection, f: Filter, now: datetime, limit: int
) -> list[asyncpg.Record]:
    """The first `limit` open listings, those that end (from `now` on) soonest first, then
    the others (no end, or an end past that the expiry job has not reached yet) newest
    first: two index scans rather than one sort of every open listing."""
    sql, args = ending_query(f, now, limit)
    ending = await conn.fetch(sql, *args)
    if len(ending) >= limit:
        return ending
    sql, args = ending_query(f, now, limit - len(ending), ending=False)
    return [*ending, *await conn.fetch(sql, *args)]


def ending_query(
    f: Filter, now: datetime, limit: int, *, ending: bool = True
) -> tuple[str, list[Any]]:
    """The SQL and arguments of the listings that end from `now` on, soonest first (or,
    not `ending`, of the others, newest first); the tests EXPLAIN it."""
    p = _Params()
    where = " AND ".join(_local_conditions(f, None, p))
    at = p(now)
    if ending:
        where += f" AND {ENDS} >= {at}"
        order = f"{ENDS}, l.id"
    else:
        where += f" AND ({ENDS} IS NULL OR {ENDS} < {at})"
        order = "l.created_at DESC, l.id DESC"
    return f"{_SELECT} WHERE {where} ORDER BY {order} LIMIT {p(limit)}", p.values


# --- remote listings in these orders, for "everywhere" ----------------------------------------

_REMOTE_SELECT = f"SELECT r.uri, r.domain, r.document, {REMOTE_AT} AS at FROM remote_objects r"
# a remote listing's end as its node wrote it: ISO 8601 text, compared as text to pick the
# candidates (an offset other than Z moves one by hours at most); the page sorts them exactly
REMOTE_END = "r.document->>'endTime'"


async def remote_nearest(conn: asyncpg.Connection, f: Filter, limit: int) -> list[asyncpg.Record]:
    """The first `limit` remote listings inside `f.circle`'s box, nearest its centre first
    (those without coordinates are outside every box)."""
    if f.circle is None:
        raise ValueError("nearest needs a circle to measure from")
    p = _Params()
    where = " AND ".join(_remote_conditions(f, None, p))  # the box: coordinates in range
    latitude, longitude = (f"({REMOTE_COORDINATE.format(axis)})::float8"
                           for axis in ("latitude", "longitude"))  # fmt: skip
    distance = (HAVERSINE.replace("l.latitude", latitude).replace("l.longitude", longitude)
                .format(lat=p(f.circle.latitude), lon=p(f.circle.longitude)))  # fmt: skip
    return await conn.fetch(
        f"{_REMOTE_SELECT} WHERE {where} ORDER BY {distance}, r.uri LIMIT {p(limit)}", *p.values
    )


async def remote_ending(
    conn: asyncpg.Connection, f: Filter, from_text: str, limit: int
) -> list[asyncpg.Record]:
    """The first `limit` remote listings whose `endTime` is `from_text` or later, soonest
    first."""
    p = _Params()
    where = " AND ".join(_remote_conditions(f, None, p))
    return await conn.fetch(
        f"{_REMOTE_SELECT} WHERE {where} AND {REMOTE_END} >= {p(from_text)} "
        f'ORDER BY {REMOTE_END} COLLATE "C", r.uri LIMIT {p(limit)}',
        *p.values,
    )


async def local_count(conn: asyncpg.Connection, f: Filter, cap: int) -> int:
    """How many open listings match `f`, counting at most `cap` + 1 (so a common filter
    never counts a whole table: the page says "more than `cap`")."""
    p = _Params()
    where = " AND ".join(_local_conditions(f, None, p))
    return await conn.fetchval(
        f"SELECT count(*) FROM (SELECT 1 FROM listings l WHERE {where} LIMIT {p(cap + 1)}) s",
        *p.values,
    )


async def author_listings(
    conn: asyncpg.Connection, author_id: int, limit: int, *, open_only: bool
) -> list[asyncpg.Record]:
    """A resident's listings as cards read them, newest first: every state for their own
    page, the open ones for their profile (0005's author index)."""
    state = " AND l.state IN ('open', 'reserved')" if open_only else ""
    return await conn.fetch(
        f"{_SELECT} WHERE l.author_id = $1{state} ORDER BY l.created_at DESC, l.id DESC LIMIT $2",
        author_id,
        limit,
    )
