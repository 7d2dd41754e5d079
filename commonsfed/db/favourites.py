"""Queries on favourites (Likes in the reactions table, with ids of their own since
migration 0026), their notifications, and bookmarks."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

# --- favourites ----------------------------------------------------------------------------


async def liked(conn: asyncpg.Connection, actor_uri: str, object_uris: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        """
        SELECT object_uri FROM reactions
        WHERE kind = 'Like' AND actor_uri = $1 AND object_uri = ANY($2::text[])
        """,
        actor_uri, list(object_uris),
    )  # fmt: skip
    return {row["object_uri"] for row in rows}


async def like_counts(conn: asyncpg.Connection, object_uris: Sequence[str]) -> dict[str, int]:
    rows = await conn.fetch(
        """
        SELECT object_uri, count(*) AS likes FROM reactions
        WHERE kind = 'Like' AND object_uri = ANY($1::text[]) GROUP BY object_uri
        """,
        list(object_uris),
    )
    return {row["object_uri"]: row["likes"] for row in rows}


async def likers(conn: asyncpg.Connection, object_uri: str, limit: int) -> list[str]:
    """Who favourited `object_uri`, the latest first."""
    rows = await conn.fetch(
        """
        SELECT actor_uri FROM reactions WHERE kind = 'Like' AND object_uri = $1
        ORDER BY id DESC LIMIT $2
        """,
        object_uri, limit,
    )  # fmt: skip
    return [row["actor_uri"] for row in rows]


def _paging(column: str, first: int) -> str:
    """The WHERE and ORDER BY of a page by `column`: $first is max_id, then the id the page
    starts above, then the limit, then whether the page is read oldest first."""
    a, b, limit, up = (f"${first + n}" for n in range(4))
    return f"""
        AND ({a}::bigint IS NULL OR {column} < {a}) AND ({b}::bigint IS NULL OR {column} > {b})
        ORDER BY CASE WHEN {up}::boolean THEN {column} END ASC,
                 CASE WHEN NOT {up}::boolean THEN {column} END DESC
        LIMIT {limit}
    """


async def favourites_page(
    conn: asyncpg.Connection,
    actor_uri: str,
    base_url: str,
    page: tuple[int | None, int | None, int, bool],
) -> list[tuple[int, int]]:
    """(favourite id, status id) of what `actor_uri` favourited that the node still has:
    a listing of this node (`base_url`/listings/<uid>) or an object from another server."""
    rows = await conn.fetch(
        """
        SELECT r.id, coalesce(l.status_id, ro.status_id) AS status_id FROM reactions r
        LEFT JOIN remote_objects ro ON ro.uri = r.object_uri
        LEFT JOIN listings l ON starts_with(r.object_uri, $2)
            AND l.uid = substr(r.object_uri, length($2) + 1)
        WHERE r.actor_uri = $1 AND r.kind = 'Like'
            AND coalesce(l.status_id, ro.status_id) IS NOT NULL
        """ + _paging("r.id", 3),
        actor_uri, base_url + "/listings/", *page,
    )  # fmt: skip
    return [(row["id"], row["status_id"]) for row in rows]


async def insert_favourite_notice(
    conn: asyncpg.Connection, listing_uid: str, actor_uri: str
) -> None:
    """Tell the author of the listing `listing_uid` that `actor_uri` favourited it (once)."""
    await conn.execute(
        """
        INSERT INTO notifications (account_id, kind, listing_id, actor_uri)
        SELECT l.author_id, 'favourite', l.id, $2 FROM listings l
        WHERE l.uid = $1 AND NOT EXISTS (
            SELECT 1 FROM notifications n
            WHERE n.kind = 'favourite' AND n.listing_id = l.id AND n.actor_uri = $2)
        """,
        listing_uid, actor_uri,
    )  # fmt: skip


async def delete_favourite_notice(
    conn: asyncpg.Connection, listing_uid: str, actor_uri: str
) -> None:
    """A favourite taken back takes its notification with it, as Mastodon's does."""
    await conn.execute(
        """
        DELETE FROM notifications n USING listings l
        WHERE l.uid = $1 AND n.listing_id = l.id AND n.kind = 'favourite' AND n.actor_uri = $2
        """,
        listing_uid, actor_uri,
    )  # fmt: skip


# --- bookmarks -----------------------------------------------------------------------------


async def add_bookmark(conn: asyncpg.Connection, account_id: int, status_id: int) -> None:
    await conn.execute(
        """
        INSERT INTO bookmarks (account_id, status_id) VALUES ($1, $2)
        ON CONFLICT (account_id, status_id) DO NOTHING
        """,
        account_id, status_id,
    )  # fmt: skip


async def remove_bookmark(conn: asyncpg.Connection, account_id: int, status_id: int) -> None:
    await conn.execute(
        "DELETE FROM bookmarks WHERE account_id = $1 AND status_id = $2", account_id, status_id
    )


async def bookmarked(
    conn: asyncpg.Connection, account_id: int, status_ids: Sequence[int]
) -> set[int]:
    rows = await conn.fetch(
        "SELECT status_id FROM bookmarks WHERE account_id = $1 AND status_id = ANY($2::bigint[])",
        account_id, list(status_ids),
    )  # fmt: skip
    return {row["status_id"] for row in rows}


async def bookmarks_page(
    conn: asyncpg.Connection, account_id: int, page: tuple[int | None, int | None, int, bool]
) -> list[tuple[int, int]]:
    """(bookmark id, status id), by when each was made."""
    rows = await conn.fetch(
        "SELECT id, status_id FROM bookmarks WHERE account_id = $1" + _paging("id", 2),
        account_id, *page,
    )  # fmt: skip
    return [(row["id"], row["status_id"]) for row in rows]
