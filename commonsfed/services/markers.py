"""A resident's reading positions in the home timeline and the notifications (Mastodon's
markers), kept so that an app on another device opens where they stopped."""

from __future__ import annotations

import asyncpg

from commonsfed.db import markers as q
from commonsfed.db.markers import Marker
from commonsfed.models import Account
from commonsfed.services.errors import ValidationError

TIMELINES = ("home", "notifications")
MAX_ID = 40


async def markers(pool: asyncpg.Pool, account: Account, timelines: list[str]) -> list[Marker]:
    wanted = [name for name in timelines if name in TIMELINES]
    if not wanted:
        return []
    async with pool.acquire() as conn:
        return await q.markers_of(conn, account.id, wanted)


async def save_markers(
    pool: asyncpg.Pool, account: Account, positions: dict[str, str]
) -> list[Marker]:
    """Save each timeline's last read id (all or none)."""
    for timeline, last_read_id in positions.items():
        if timeline not in TIMELINES:
            raise ValidationError({"timeline": f"{timeline} is not home or notifications"})
        if not last_read_id or len(last_read_id) > MAX_ID or not last_read_id.isdigit():
            raise ValidationError({"last_read_id": "must be a status or notification id"})
    if not positions:
        raise ValidationError({"last_read_id": "give home[last_read_id] or "
                                               "notifications[last_read_id]"})  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        return [await q.save_marker(conn, account.id, timeline, last_read_id)
                for timeline, last_read_id in positions.items()]  # fmt: skip
