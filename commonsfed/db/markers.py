"""Queries on a resident's reading positions (api_markers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from commonsfed.models import from_row


@dataclass(frozen=True)
class Marker:
    timeline: str
    last_read_id: str
    version: int
    updated_at: datetime


async def markers_of(
    conn: asyncpg.Connection, account_id: int, timelines: list[str]
) -> list[Marker]:
    rows = await conn.fetch(
        """
        SELECT timeline, last_read_id, version, updated_at FROM api_markers
        WHERE account_id = $1 AND timeline = ANY($2::text[]) ORDER BY timeline
        """,
        account_id, timelines,
    )  # fmt: skip
    return [from_row(Marker, row) for row in rows]


async def save_marker(
    conn: asyncpg.Connection, account_id: int, timeline: str, last_read_id: str
) -> Marker:
    """Set the position; `version` counts the saves, as Mastodon's lock_version does."""
    row = await conn.fetchrow(
        """
        INSERT INTO api_markers (account_id, timeline, last_read_id) VALUES ($1, $2, $3)
        ON CONFLICT (account_id, timeline) DO UPDATE
            SET last_read_id = EXCLUDED.last_read_id, updated_at = now(),
                version = api_markers.version + 1
        RETURNING timeline, last_read_id, version, updated_at
        """,
        account_id, timeline, last_read_id,
    )  # fmt: skip
    return from_row(Marker, row)
