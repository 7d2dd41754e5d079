"""Queries for the public /about page."""

from __future__ import annotations

import asyncpg


async def public_blocks(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The domain blocks people are shown: those that limit or suspend (a block that only
    rejects media or reports changes nothing a visitor sees, and Mastodon leaves those out
    too); limited ones first, then by name."""
    return await conn.fetch(
        """
        SELECT domain, severity, public_comment, obfuscate FROM domain_policies
        WHERE policy = 'block' AND severity IN ('limit', 'suspend')
        ORDER BY severity = 'suspend', domain
        """
    )
