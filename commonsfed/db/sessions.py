"""Queries on residents' sessions: where each one is logged in."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from commonsfed.db.accounts import ACCOUNT_COLUMNS
from commonsfed.models import Account, AccountSession, from_row


async def insert_session(
    conn: asyncpg.Connection, token_hash: bytes, account_id: int, user_agent: str, address: str
) -> int:
    return await conn.fetchval(
        """
        WITH seen AS (UPDATE accounts SET last_seen_at = now() WHERE id = $2)
        INSERT INTO account_sessions (token_hash, account_id, user_agent, address)
        VALUES ($1, $2, $3, $4) RETURNING id
        """,
        token_hash, account_id, user_agent, address,
    )  # fmt: skip


async def session_account(
    conn: asyncpg.Connection, token_hash: bytes, max_idle: timedelta, touch_after: timedelta
) -> tuple[Account, int] | None:
    """The account a session token belongs to and the session's id, when the session was
    used within `max_idle`; its last use, and the account's, is moved to now when older than
    `touch_after` (so a busy session is not written on every request)."""
    row = await conn.fetchrow(
        f"""
        WITH found AS (
            SELECT id, account_id, last_seen_at FROM account_sessions
            WHERE token_hash = $1 AND last_seen_at > now() - $2::interval
        ), touched AS (
            UPDATE account_sessions s SET last_seen_at = now()
            FROM found WHERE s.id = found.id AND found.last_seen_at < now() - $3::interval
        ), account_touched AS (
            -- the account's own last use, which outlives its sessions (NodeInfo's activity)
            UPDATE accounts a SET last_seen_at = now()
            FROM found WHERE a.id = found.account_id
                         AND found.last_seen_at < now() - $3::interval
        )
        SELECT found.id AS session_id, {_prefixed("a")}
        FROM found JOIN accounts a ON a.id = found.account_id
        """,
        token_hash, max_idle, touch_after,
    )  # fmt: skip
    return (from_row(Account, row), row["session_id"]) if row else None


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in ACCOUNT_COLUMNS.split(","))


async def list_sessions(
    conn: asyncpg.Connection, account_id: int, max_idle: timedelta
) -> list[AccountSession]:
    rows = await conn.fetch(
        """
        SELECT id, user_agent, address, created_at, last_seen_at FROM account_sessions
        WHERE account_id = $1 AND last_seen_at > now() - $2::interval
        ORDER BY last_seen_at DESC, id DESC
        """,
        account_id, max_idle,
    )  # fmt: skip
    return [from_row(AccountSession, row) for row in rows]


async def delete_session(conn: asyncpg.Connection, account_id: int, session_id: int) -> bool:
    result = await conn.execute(
        "DELETE FROM account_sessions WHERE id = $1 AND account_id = $2", session_id, account_id
    )
    return result != "DELETE 0"


async def delete_session_by_token(conn: asyncpg.Connection, token_hash: bytes) -> None:
    await conn.execute("DELETE FROM account_sessions WHERE token_hash = $1", token_hash)


async def delete_other_sessions(
    conn: asyncpg.Connection, account_id: int, keep_session_id: int | None
) -> int:
    """End every session of the account but `keep_session_id` (None: all of them)."""
    result = await conn.execute(
        "DELETE FROM account_sessions WHERE account_id = $1 AND id IS DISTINCT FROM $2",
        account_id, keep_session_id,
    )  # fmt: skip
    return int(result.split()[-1])


async def prune_sessions(conn: asyncpg.Connection, max_idle: timedelta) -> int:
    result = await conn.execute(
        "DELETE FROM account_sessions WHERE last_seen_at < now() - $1::interval", max_idle
    )
    return int(result.split()[-1])
