"""Queries on the delivery queue."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

DELIVERY_CHANNEL = "commonsfed_deliveries"


async def insert_deliveries(conn: asyncpg.Connection, activity_uri: str, inboxes: list[str]) -> int:
    """One row per inbox, then a NOTIFY that reaches the workers when the transaction commits."""
    if not inboxes:
        return 0
    await conn.executemany(
        """
        INSERT INTO deliveries (activity_uri, inbox, host) VALUES ($1, $2, $3)
        ON CONFLICT (activity_uri, inbox) DO NOTHING
        """,
        [(activity_uri, inbox, urlsplit(inbox).netloc.lower()) for inbox in inboxes],
    )
    await conn.execute(f"NOTIFY {DELIVERY_CHANNEL}")
    return len(inboxes)
