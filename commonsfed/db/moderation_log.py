"""Queries on the moderation log: lines are added, read, and never changed."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from commonsfed.models import ModerationEntry

COLUMNS = (
    "id, moderator_id, moderator_name, action, target_kind, target, reason, details, created_at"
)


def _entry(row: asyncpg.Record) -> ModerationEntry:
    return ModerationEntry(**(dict(row) | {"details": orjson.loads(row["details"])}))


async def insert_entry(
    conn: asyncpg.Connection,
    *,
    moderator_id: int | None,
    moderator_name: str,
    action: str,
    target_kind: str,
    target: str,
    reason: str,
    details: dict[str, Any],
) -> ModerationEntry:
    row = await conn.fetchrow(
        f"""
        INSERT INTO moderation_log
            (moderator_id, moderator_name, action, target_kind, target, reason, details)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
        RETURNING {COLUMNS}
        """,
        moderator_id, moderator_name, action, target_kind, target, reason,
        orjson.dumps(details).decode(),
    )  # fmt: skip
    return _entry(row)


async def recent_entries(
    conn: asyncpg.Connection, *, limit: int, before_id: int | None = None
) -> list[ModerationEntry]:
    """The newest lines first, a page at a time (`before_id` is the last id already shown)."""
    rows = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM moderation_log
        WHERE $1::bigint IS NULL OR id < $1
        ORDER BY id DESC LIMIT $2
        """,
        before_id, limit,
    )  # fmt: skip
    return [_entry(row) for row in rows]


async def entries_about(
    conn: asyncpg.Connection, target_kind: str, target: str, *, limit: int = 100
) -> list[ModerationEntry]:
    """The history of one account, remote actor, listing, report or domain, newest first."""
    rows = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM moderation_log
        WHERE target_kind = $1 AND target = $2
        ORDER BY created_at DESC, id DESC LIMIT $3
        """,
        target_kind, target, limit,
    )  # fmt: skip
    return [_entry(row) for row in rows]
