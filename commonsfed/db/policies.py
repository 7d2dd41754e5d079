"""Queries on the admin's domain decisions (block, allow)."""

from __future__ import annotations

import asyncpg


async def get_policy(conn: asyncpg.Connection, domain: str) -> str | None:
    return await conn.fetchval("SELECT policy FROM domain_policies WHERE domain = $1", domain)


async def set_policy(conn: asyncpg.Connection, domain: str, policy: str, note: str = "") -> None:
    await conn.execute(
        """
        INSERT INTO domain_policies (domain, policy, note) VALUES ($1, $2, $3)
        ON CONFLICT (domain) DO UPDATE SET policy = EXCLUDED.policy, note = EXCLUDED.note
        """,
        domain, policy, note,
    )


async def remove_policy(conn: asyncpg.Connection, domain: str, policy: str) -> bool:
    result = await conn.execute(
        "DELETE FROM domain_policies WHERE domain = $1 AND policy = $2", domain, policy
    )
    return result != "DELETE 0"


async def list_policies(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT domain, policy, note, created_at FROM domain_policies ORDER BY domain")


async def sever_follows_with_domain(conn: asyncpg.Connection, domain: str) -> int:
    """A domain block ends every follow between this node and that domain, as Mastodon's does."""
    result = await conn.execute(
        """
        DELETE FROM follows
        WHERE split_part(split_part(follower_uri, '://', 2), '/', 1) = $1
           OR split_part(split_part(followed_uri, '://', 2), '/', 1) = $1
        """,
        domain,
    )
    return int(result.split()[-1])
