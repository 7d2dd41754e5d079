"""Queries for what the client API says of the node itself (/api/v1/instance, peers)."""

from __future__ import annotations

import asyncpg


async def first_admin_id(conn: asyncpg.Connection) -> int | None:
    """The admin apps show as the node's contact: the earliest active one."""
    return await conn.fetchval(
        "SELECT id FROM accounts WHERE role = 'admin' AND status = 'active' ORDER BY id LIMIT 1"
    )


async def peers(conn: asyncpg.Connection) -> list[str]:
    """The domains the node knows people from, less those an admin suspended (a block
    matches its domain exactly, as everywhere on the node)."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT r.domain FROM remote_actors r
        WHERE NOT EXISTS (
            SELECT 1 FROM domain_policies d
            WHERE d.policy = 'block' AND d.severity = 'suspend'
              AND d.domain = r.domain
        )
        ORDER BY r.domain
        """
    )
    return [row["domain"] for row in rows]
