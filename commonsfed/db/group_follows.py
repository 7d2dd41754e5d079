"""Queries for the admins' decisions on who follows the neighbourhood's Group: the follows
waiting for them, and what the following nodes say of themselves (their NodeInfo, kept)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg


async def pending_followers(conn: asyncpg.Connection, followed: str) -> list[asyncpg.Record]:
    """The remote actors whose follow of `followed` waits, oldest first, with what is
    cached of each: uri, domain, preferred_username, name, type, asked_at."""
    return await conn.fetch(
        """
        SELECT f.follower_uri AS uri, ra.domain, ra.preferred_username, ra.name, ra.type,
               f.created_at AS asked_at
        FROM follows f JOIN remote_actors ra ON ra.uri = f.follower_uri
        WHERE f.followed_uri = $1 AND f.state = 'pending'
        ORDER BY f.id
        """,
        followed,
    )


async def fresh_node_info(
    conn: asyncpg.Connection, domain: str, max_age: timedelta, error_max_age: timedelta
) -> asyncpg.Record | None:
    """The kept NodeInfo summary of `domain` unless older than `max_age` (`error_max_age`
    when the last fetch failed)."""
    return await conn.fetchrow(
        """
        SELECT domain, name, description, software, users, error, fetched_at FROM node_infos
        WHERE domain = $1
          AND fetched_at > now() - CASE WHEN error IS NULL THEN $2::interval ELSE $3::interval END
        """,
        domain, max_age, error_max_age,
    )  # fmt: skip


async def put_node_info(
    conn: asyncpg.Connection, domain: str, *, name: str = "", description: str = "",
    software: str = "", users: int | None = None, error: str | None = None,
) -> asyncpg.Record:
    return await conn.fetchrow(
        """
        INSERT INTO node_infos (domain, name, description, software, users, error)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (domain) DO UPDATE SET
            name = EXCLUDED.name, description = EXCLUDED.description,
            software = EXCLUDED.software, users = EXCLUDED.users, error = EXCLUDED.error,
            fetched_at = now()
        RETURNING domain, name, description, software, users, error, fetched_at
        """,
        domain, name, description, software, users, error,
    )  # fmt: skip
