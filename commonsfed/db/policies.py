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
