"""Queries on residents' accounts and failed logins."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from commonsfed.models import Account, from_row

# what `models.Account` holds (also read by db.sessions)
ACCOUNT_COLUMNS = "id, username, email, status, is_admin, display_name, created_at"


async def insert_account(
    conn: asyncpg.Connection,
    *,
    username: str,
    email: str,
    password_hash: str,
    status: str,
    is_admin: bool = False,
    keys: tuple[str, str],
) -> Account:
    row = await conn.fetchrow(
        f"""
        INSERT INTO accounts (username, email, password_hash, status, is_admin, approved_at,
                              private_key_pem, public_key_pem)
        VALUES ($1, $2, $3, $4, $5, CASE WHEN $4 = 'active' THEN now() END, $6, $7)
        RETURNING {ACCOUNT_COLUMNS}
        """,
        username, email, password_hash, status, is_admin, keys[0], keys[1],
    )
    return from_row(Account, row)


async def username_taken(conn: asyncpg.Connection, username: str) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE lower(username) = lower($1))", username
    )


async def email_taken(conn: asyncpg.Connection, email: str) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE lower(email) = lower($1))", email
    )


async def get_account(conn: asyncpg.Connection, account_id: int) -> Account | None:
    row = await conn.fetchrow(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1", account_id)
    return from_row(Account, row)


async def get_by_username(conn: asyncpg.Connection, username: str) -> Account | None:
    row = await conn.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE lower(username) = lower($1)", username
    )
    return from_row(Account, row)


async def get_password_hash(conn: asyncpg.Connection, account_id: int) -> str | None:
    return await conn.fetchval("SELECT password_hash FROM accounts WHERE id = $1", account_id)


async def set_password_hash(conn: asyncpg.Connection, account_id: int, password_hash: str) -> None:
    await conn.execute(
        "UPDATE accounts SET password_hash = $2 WHERE id = $1", account_id, password_hash
    )


async def approve(conn: asyncpg.Connection, username: str) -> Account | None:
    row = await conn.fetchrow(
        f"""
        UPDATE accounts SET status = 'active', approved_at = now()
        WHERE lower(username) = lower($1) AND status = 'pending'
        RETURNING {ACCOUNT_COLUMNS}
        """,
        username,
    )
    return from_row(Account, row)


async def pending_accounts(conn: asyncpg.Connection) -> list[Account]:
    rows = await conn.fetch(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE status = 'pending' ORDER BY created_at"
    )
    return [from_row(Account, row) for row in rows]


async def count_accounts(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM accounts WHERE status = 'active'")


async def record_login_failure(conn: asyncpg.Connection, username: str, address: str) -> None:
    await conn.execute(
        "INSERT INTO login_failures (username, address) VALUES (lower($1), $2)", username, address
    )


async def recent_login_failures(
    conn: asyncpg.Connection, username: str, address: str, window: timedelta
) -> tuple[int, int]:
    """Failures in the window: (for this account name, from this address)."""
    row = await conn.fetchrow(
        """
        SELECT count(*) FILTER (WHERE username = lower($1)) AS by_account,
               count(*) FILTER (WHERE address = $2) AS by_address
        FROM login_failures
        WHERE failed_at > now() - $3::interval AND (username = lower($1) OR address = $2)
        """,
        username, address, window,
    )
    return row["by_account"], row["by_address"]


async def clear_login_failures(conn: asyncpg.Connection, username: str) -> None:
    await conn.execute("DELETE FROM login_failures WHERE username = lower($1)", username)


async def touch_last_seen(conn: asyncpg.Connection, account_id: int) -> None:
    await conn.execute("UPDATE accounts SET last_seen_at = now() WHERE id = $1", account_id)
