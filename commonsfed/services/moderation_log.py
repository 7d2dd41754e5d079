"""The moderation log: every moderation or administration action, with who, when, what and
why. Each action writes its line in the same transaction as the change it records, so the
log never tells of something that did not happen, and nothing happens unrecorded."""

from __future__ import annotations

from typing import Any

import asyncpg

from commonsfed.db import moderation_log as q
from commonsfed.models import Account, ModerationEntry

MAX_REASON = 2000  # characters: a reason is a sentence or a paragraph, not a file
PAGE = 50


async def record(
    conn: asyncpg.Connection,
    moderator: Account | None,
    action: str,
    target_kind: str,
    target: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> ModerationEntry:
    """Add one line; `moderator` None is the node acting on its own (a deadline that ran out,
    a command run from the shell)."""
    return await q.insert_entry(
        conn,
        moderator_id=moderator.id if moderator else None,
        moderator_name=moderator.username if moderator else "",
        action=action,
        target_kind=target_kind,
        target=target,
        reason=reason.strip()[:MAX_REASON],
        details=details or {},
    )


async def recent(pool: asyncpg.Pool, before_id: int | None = None) -> list[ModerationEntry]:
    async with pool.acquire() as conn:
        return await q.recent_entries(conn, limit=PAGE, before_id=before_id)


async def history(pool: asyncpg.Pool, target_kind: str, target: str) -> list[ModerationEntry]:
    async with pool.acquire() as conn:
        return await q.entries_about(conn, target_kind, target)
