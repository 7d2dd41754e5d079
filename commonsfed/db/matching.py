"""Queries of matches and alerts: the listings of the other side that match a new one, the
matches kept for their authors' pages, saved searches, a resident's area and weekly
digest, and the queue of remote listings waiting to be matched (migration 0042).

A match reads the open listings of one category, kind and purpose by 0042's index (a few
hundred at 100,000 listings), then checks their words and distance. Remote listings have no such indexes (their text lives in a JSON document), so
only the newest REMOTE_WINDOW of them are read, by 0007's index, and judged there: a
listing is short-lived, and a bound keeps a match's cost flat however many arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from commonsfed.db.search import HAVERSINE, REMOTE_AT, REMOTE_TAGS, REMOTE_TEXT, _Params

REMOTE_WINDOW = 1000  # the newest remote listings read for one match, at most


@dataclass(frozen=True)
class Wanted:
    """What a new listing looks for among the listings here: the other side (`purpose`),
    its kind and category, any of its words (a to_tsquery; ranked with its title's likeness
    by trigrams), and, when it has a point, at most `km` away (listings without one count)."""

    purpose: str
    kind: str
    category: str
    words: str | None  # "drill:* | cordless:*"; None: nothing can match
    title: str
    latitude: float | None
    longitude: float | None
    km: float
    not_author_id: int | None = None  # the new listing's author, who is no match for it
    trigrams: bool = False  # pg_trgm is there (see `has_trigrams`): titles' likeness ranks
    # a remote new listing's author and domain: not matched for who blocks, mutes or hides them
    author_uri: str | None = None
    domain: str | None = None

    @property
    def hopeless(self) -> bool:
        """Nothing can match: no words to have in common."""
        return not self.words


async def has_trigrams(conn: asyncpg.Connection) -> bool:
    """pg_trgm is installed (migration 0042 installs it where PostgreSQL has it)."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')"
    )


def _similarity(w: Wanted, column: str, p: _Params) -> str:
    """How much `column` reads like w's title, by trigrams (0 without pg_trgm)."""
    return f"similarity({column}, {p(w.title)})" if w.trigrams else "0"


def _wanted_conditions(w: Wanted, p: _Params) -> list[str]:
    """Which listings may match, read from listings alone by 0042's listings_match_idx: the
    open ones of the category, kind and purpose (and the circle). Their words are checked
    after (`_word_conditions`): the GIN on `search` reads every listing with a common word
    (thousands for "looking:*"), more than one category, kind and purpose hold."""
    where = [
        "l.state = 'open'",
        f"l.category = {p(w.category)}",
        f"l.kind = {p(w.kind)}",
        f"l.purpose = {p(w.purpose)}",
    ]
    if w.not_author_id is not None:
        where.append(f"l.author_id <> {p(w.not_author_id)}")
    if w.latitude is not None and w.longitude is not None:
        lat, lon = p(w.latitude), p(w.longitude)
        where.append(f"(l.latitude IS NULL OR {HAVERSINE.format(lat=lat, lon=lon)} <= {p(w.km)})")
    return where


def _author_conditions(w: Wanted, p: _Params) -> list[str]:
    """Whom a match may introduce: an active resident, not limited, and (for a local new
    listing) neither blocking its author nor blocked by them."""
    where = ["a.status = 'active'", "a.limited_at IS NULL"]
    if w.not_author_id is not None:
        author = p(w.not_author_id)
        where.append(
            "NOT EXISTS (SELECT 1 FROM resident_blocks b WHERE b.kind = 'block' AND "
            f"((b.account_id = l.author_id AND b.target_account_id = {author}) OR "
            f"(b.account_id = {author} AND b.target_account_id = l.author_id)))"
        )
    if w.author_uri is not None:
        where.append(
            "NOT EXISTS (SELECT 1 FROM resident_blocks b WHERE b.account_id = l.author_id "
            f"AND b.target_actor_uri = {p(w.author_uri)})"
        )
        where.append(
            "NOT EXISTS (SELECT 1 FROM resident_domain_hides h WHERE h.account_id = l.author_id "
            f"AND h.domain = {p(w.domain)})"
        )
    return where


def local_query(w: Wanted, limit: int) -> tuple[str, list[Any]]:
    """The SQL and arguments of the best `limit` open listings here for `w`, best first
    (the bench EXPLAINs it). The listings that may match are read once (a MATERIALIZED
    CTE: the planner otherwise joins the authors first and rescans listings per author),
    then their words, then their authors."""
    p = _Params()
    where = " AND ".join(_wanted_conditions(w, p))
    query = f"to_tsquery('simple', {p(w.words)})"
    similarity = _similarity(w, "l.title", p)
    sql = f"""
        WITH possible AS MATERIALIZED (
            SELECT l.id, l.uid, l.title, l.author_id, l.search FROM listings l WHERE {where}
        )
        SELECT l.id, l.uid, l.title, l.author_id, a.username AS author,
               coalesce(ts_rank(l.search, {query}), 0) + {similarity} AS score
        FROM possible l
        JOIN accounts a ON a.id = l.author_id
        WHERE l.search @@ {query} AND {" AND ".join(_author_conditions(w, p))}
        ORDER BY score DESC, l.id DESC
        LIMIT {p(limit)}
    """
    return sql, p.values


async def local_candidates(conn: asyncpg.Connection, w: Wanted, limit: int) -> list[asyncpg.Record]:
    sql, args = local_query(w, limit)
    async with conn.transaction():
        # planned for these values, as db.search's queries are (see _fetch_planned_each_time)
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        return await conn.fetch(sql, *args)


async def remote_candidates(
    conn: asyncpg.Connection, w: Wanted, limit: int = REMOTE_WINDOW
) -> list[asyncpg.Record]:
    """Among the newest `limit` remote listings (0007's index), those of `w`'s purpose with
    its category's hashtag whose words or title match, best first; their kind, state and
    place are judged by the caller from the document."""
    p = _Params()
    query = f"to_tsquery('simple', {p(w.words)})"
    similarity = _similarity(w, "coalesce(r.document->>'name', '')", p)
    return await conn.fetch(
        f"""
        SELECT r.uri, r.document::text AS document, r.domain, r.attributed_to,
               coalesce(ts_rank(t.text, {query}), 0) + {similarity} AS score
        FROM (
            SELECT r.* FROM (
                SELECT r.uri, r.document, r.domain, r.attributed_to FROM remote_objects r
                WHERE r.is_listing ORDER BY {REMOTE_AT} DESC LIMIT {p(limit)}
            ) r
            WHERE r.document->>'purpose' = {p(w.purpose)}
              AND EXISTS (SELECT 1 FROM jsonb_array_elements({REMOTE_TAGS}) tag
                          WHERE lower(ltrim(tag->>'name', '#')) = {p(w.category)})
              AND NOT EXISTS (SELECT 1 FROM domain_policies d WHERE d.domain = r.domain
                              AND d.policy = 'block' AND d.severity IN ('limit', 'suspend'))
            OFFSET 0  -- the text is made only for these few
        ) r
        CROSS JOIN LATERAL (SELECT to_tsvector('simple'::regconfig, {REMOTE_TEXT}) AS text) t
        WHERE t.text @@ {query}
        ORDER BY score DESC
        """,
        *p.values,
    )


async def listing_row(conn: asyncpg.Connection, listing_id: int) -> asyncpg.Record:
    """A listing as matching reads it, with its author's name."""
    return await conn.fetchrow(
        """
        SELECT l.id, l.uid, l.author_id, a.username AS author, l.purpose, l.kind, l.category,
               l.title, l.description, l.latitude, l.longitude
        FROM listings l JOIN accounts a ON a.id = l.author_id WHERE l.id = $1
        """,
        listing_id,
    )


async def category_slugs(conn: asyncpg.Connection) -> list[str]:
    return [row["slug"] for row in await conn.fetch("SELECT slug FROM categories")]


async def domain_limited(conn: asyncpg.Connection, domain: str | None) -> bool:
    """Listings of a limited or suspended domain stay out of matches, as out of /explore."""
    return await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM domain_policies WHERE domain = $1 AND policy = 'block'
                       AND severity IN ('limit', 'suspend'))
        """,
        domain,
    )


# --- matches kept for the listing's page ------------------------------------------------------


async def keep_local_matches(
    conn: asyncpg.Connection, listing_id: int, matches: list[tuple[int, float]]
) -> None:
    """Keep (matched id, score) pairs both ways: each author sees the other listing."""
    if not matches:
        return
    await conn.execute(
        """
        INSERT INTO listing_matches (listing_id, matched_id, score)
        SELECT x.listing_id, x.matched_id, x.score
        FROM unnest($2::bigint[], $3::real[]) AS m(id, score)
        CROSS JOIN LATERAL (VALUES ($1::bigint, m.id, m.score), (m.id, $1::bigint, m.score))
            AS x(listing_id, matched_id, score)
        ON CONFLICT DO NOTHING
        """,
        listing_id,
        [m[0] for m in matches],
        [m[1] for m in matches],
    )


async def forget_matches(conn: asyncpg.Connection, listing_id: int) -> None:
    """A listing's matches, both ways: an edited listing is matched anew."""
    await conn.execute(
        "DELETE FROM listing_matches WHERE listing_id = $1 OR matched_id = $1", listing_id
    )


async def keep_remote_match(
    conn: asyncpg.Connection, listing_id: int, uri: str, title: str, score: float
) -> None:
    await conn.execute(
        """
        INSERT INTO listing_matches (listing_id, matched_uri, matched_title, score)
        VALUES ($1, $2, left($3, 200), $4) ON CONFLICT DO NOTHING
        """,
        listing_id, uri, title, score,
    )  # fmt: skip


async def matches_of(conn: asyncpg.Connection, listing_id: int, limit: int) -> list[asyncpg.Record]:
    """A listing's matches still open (here) or still stored (remote), best first:
    columns uid (None for a remote one), uri, title, author, score."""
    return await conn.fetch(
        """
        SELECT l.uid, NULL AS uri, l.title, a.username AS author, m.score
        FROM listing_matches m
        JOIN listings l ON l.id = m.matched_id AND l.state IN ('open', 'reserved')
        JOIN accounts a ON a.id = l.author_id
        WHERE m.listing_id = $1
        UNION ALL
        SELECT NULL, m.matched_uri, m.matched_title, r.attributed_to, m.score
        FROM listing_matches m
        JOIN remote_objects r ON r.uri = m.matched_uri
        WHERE m.listing_id = $1 AND m.matched_uri IS NOT NULL
          -- finished as FEP-0837 publishers say it (db.search reads it so too)
          AND coalesce(r.document->'publishes'->>'vf:finished',
                       r.document->'publishes'->>'finished', '') <> 'true'
        ORDER BY score DESC
        LIMIT $2
        """,
        listing_id,
        limit,
    )


async def insert_notice(
    conn: asyncpg.Connection,
    account_id: int,
    kind: str,
    *,
    listing_id: int | None = None,
    object_uri: str | None = None,
    object_url: str | None = None,
    title: str | None = None,
) -> bool:
    """One `listing_match` or `saved_search_match` notice per resident and listing (the
    unique indexes of 0016 and 0042); True when it is new."""
    result = await conn.execute(
        """
        INSERT INTO notifications (account_id, kind, listing_id, object_uri, object_url, body)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
        """,
        account_id, kind, listing_id, object_uri, object_url, title,
    )  # fmt: skip
    return result != "INSERT 0 0"


# --- saved searches ----------------------------------------------------------------------------


async def insert_search(conn: asyncpg.Connection, account_id: int, values: dict[str, Any]) -> int:
    return await conn.fetchval(
        """
        INSERT INTO saved_searches (account_id, words, purpose, kinds, categories,
                                    latitude, longitude, km)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
        """,
        account_id, values["words"], values["purpose"], values["kinds"], values["categories"],
        values["latitude"], values["longitude"], values["km"],
    )  # fmt: skip


async def account_searches(conn: asyncpg.Connection, account_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM saved_searches WHERE account_id = $1 ORDER BY id", account_id
    )


async def count_searches(conn: asyncpg.Connection, account_id: int) -> int:
    return await conn.fetchval(
        "SELECT count(*)::int FROM saved_searches WHERE account_id = $1", account_id
    )


async def delete_search(conn: asyncpg.Connection, account_id: int, search_id: int) -> bool:
    result = await conn.execute(
        "DELETE FROM saved_searches WHERE id = $1 AND account_id = $2", search_id, account_id
    )
    return result != "DELETE 0"


@dataclass(frozen=True)
class Arrival:
    """A new listing, as saved searches look at it."""

    purpose: str
    kind: str
    categories: tuple[str, ...]  # a slug, or a remote listing's hashtags
    text: str  # its title and description (or content)
    latitude: float | None
    longitude: float | None
    author_id: int | None = None  # a local author, who is not told of their own listing
    author_uri: str | None = None  # a remote author
    domain: str | None = None  # a remote author's


async def searches_matching(conn: asyncpg.Connection, new: Arrival) -> list[int]:
    """The residents (ids) with a saved search that `new` matches; a search with a
    distance never matches a listing without a point, as /explore's circle does not."""
    distance = (
        HAVERSINE.replace("l.latitude", "$6")
        .replace("l.longitude", "$7")
        .format(lat="s.latitude", lon="s.longitude")
    )
    rows = await conn.fetch(
        f"""
        SELECT DISTINCT s.account_id
        FROM saved_searches s
        JOIN accounts a ON a.id = s.account_id AND a.status = 'active'
        WHERE (s.purpose IS NULL OR s.purpose = $1)
          AND (cardinality(s.kinds) = 0 OR $2 = ANY (s.kinds))
          AND (cardinality(s.categories) = 0 OR s.categories && $3::text[])
          AND (s.words = '' OR to_tsvector('simple'::regconfig, $4) @@ s.query)
          AND (s.km IS NULL OR ($6::float8 IS NOT NULL AND {distance} <= s.km))
          AND s.account_id IS DISTINCT FROM $5
          -- nobody hears of a listing by someone they block or mute, or of a domain they hide
          AND NOT EXISTS (SELECT 1 FROM resident_blocks b WHERE b.account_id = s.account_id
                          AND (b.target_account_id = $5 OR b.target_actor_uri = $8))
          AND NOT EXISTS (SELECT 1 FROM resident_domain_hides h
                          WHERE h.account_id = s.account_id AND h.domain = $9)
        ORDER BY s.account_id
        """,
        new.purpose, new.kind, list(new.categories), new.text, new.author_id, new.latitude,
        new.longitude, new.author_uri, new.domain,
    )  # fmt: skip
    return [row["account_id"] for row in rows]


# --- a resident's area and digest -----------------------------------------------------------------


async def preferences(conn: asyncpg.Connection, account_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM match_preferences WHERE account_id = $1", account_id)


async def save_preferences(
    conn: asyncpg.Connection,
    account_id: int,
    point: tuple[float, float] | None,
    digest: bool,
    categories: list[str],
    km: float,
) -> None:
    latitude, longitude = point if point else (None, None)
    await conn.execute(
        """
        INSERT INTO match_preferences (account_id, latitude, longitude, digest,
                                       digest_categories, digest_km)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (account_id) DO UPDATE SET latitude = $2, longitude = $3, digest = $4,
            digest_categories = $5, digest_km = $6
        """,
        account_id, latitude, longitude, digest, categories, km,
    )  # fmt: skip


async def claim_due_digests(
    conn: asyncpg.Connection, now: datetime, every: Any, limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` digests due (never sent, or last sent `every` ago), marked sent at
    `now` in the caller's transaction: a second worker skips them (SKIP LOCKED). Columns:
    the preferences, and `since` (when the last one went, else `every` before `now`)."""
    return await conn.fetch(
        """
        WITH due AS (
            SELECT p.account_id FROM match_preferences p
            JOIN accounts a ON a.id = p.account_id
            WHERE p.digest AND (p.digest_sent_at IS NULL OR p.digest_sent_at <= $1::timestamptz - $2::interval)
              AND a.status = 'active' AND a.email_confirmed_at IS NOT NULL
            ORDER BY p.digest_sent_at NULLS FIRST, p.account_id
            LIMIT $3
            FOR UPDATE OF p SKIP LOCKED
        ), old AS (
            SELECT p.account_id, p.digest_sent_at FROM match_preferences p
            JOIN due USING (account_id)
        )
        UPDATE match_preferences p SET digest_sent_at = $1
        FROM old JOIN accounts a ON a.id = old.account_id
        WHERE p.account_id = old.account_id
        RETURNING p.*, a.email, a.username,
                  coalesce(old.digest_sent_at, $1::timestamptz - $2::interval) AS since
        """,
        now, every, limit,
    )  # fmt: skip


async def new_listings_near(
    conn: asyncpg.Connection, prefs: asyncpg.Record, until: datetime, limit: int
) -> list[asyncpg.Record]:
    """The open listings here posted since `prefs['since']` in the resident's categories
    (none chosen: all), within their digest's distance of their area (no area: anywhere),
    but not their own; newest first."""
    p = _Params()
    where = [
        "l.state IN ('open', 'reserved')",
        f"l.created_at > {p(prefs['since'])}",
        f"l.created_at <= {p(until)}",
        f"l.author_id <> {p(prefs['account_id'])}",
    ]
    if prefs["digest_categories"]:
        where.append(f"l.category = ANY ({p(list(prefs['digest_categories']))}::text[])")
    if prefs["latitude"] is not None:
        lat, lon = p(prefs["latitude"]), p(prefs["longitude"])
        where.append(f"{HAVERSINE.format(lat=lat, lon=lon)} <= {p(prefs['digest_km'])}")
    return await conn.fetch(
        f"""
        SELECT l.uid, l.title, l.purpose, l.kind, l.place, c.name AS category_name
        FROM listings l JOIN categories c ON c.slug = l.category
        WHERE {" AND ".join(where)}
        ORDER BY l.created_at DESC, l.id DESC
        LIMIT {p(limit)}
        """,
        *p.values,
    )


async def remote_listings_since(
    conn: asyncpg.Connection, since: datetime, until: datetime, limit: int
) -> list[asyncpg.Record]:
    """The remote listings that reached us in (since, until], newest first (0007's index),
    but not those of limited or suspended domains; the caller reads their documents."""
    return await conn.fetch(
        f"""
        SELECT r.uri, r.document::text AS document FROM remote_objects r
        WHERE r.is_listing AND {REMOTE_AT} > $1 AND {REMOTE_AT} <= $2
          AND NOT EXISTS (SELECT 1 FROM domain_policies d WHERE d.domain = r.domain
                          AND d.policy = 'block' AND d.severity IN ('limit', 'suspend'))
        ORDER BY {REMOTE_AT} DESC
        LIMIT $3
        """,
        since, until, limit,
    )  # fmt: skip


# --- remote listings to match ---------------------------------------------------------------------


async def claim_remote_queue(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Take up to `limit` queued remote listings (in the caller's transaction: a failure
    puts them back), with their stored document when it is still there."""
    return await conn.fetch(
        """
        WITH taken AS (
            DELETE FROM remote_match_queue q
            WHERE q.uri IN (SELECT uri FROM remote_match_queue ORDER BY queued_at, uri
                            LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING q.uri
        )
        SELECT t.uri, r.document::text AS document, r.attributed_to, r.domain
        FROM taken t LEFT JOIN remote_objects r ON r.uri = t.uri AND r.is_listing
        ORDER BY t.uri
        """,
        limit,
    )
