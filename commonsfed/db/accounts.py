"""Queries on residents' accounts and failed logins."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from commonsfed.models import Account, from_row

# what `models.Account` holds (also read by db.sessions)
ACCOUNT_COLUMNS = (
    "id, username, email, status, role, display_name, created_at, email_confirmed_at, language"
)


async def insert_account(
    conn: asyncpg.Connection,
    *,
    username: str,
    email: str,
    password_hash: str,
    status: str,
    role: str = "none",
    keys: tuple[str, str],
    email_confirmed: bool = False,
) -> Account:
    row = await conn.fetchrow(
        f"""
        INSERT INTO accounts (username, email, password_hash, status, role, approved_at,
                              private_key_pem, public_key_pem, email_confirmed_at)
        VALUES ($1, $2, $3, $4, $5, CASE WHEN $4 = 'active' THEN now() END, $6, $7,
                CASE WHEN $8 THEN now() END)
        RETURNING {ACCOUNT_COLUMNS}
        """,
        username, email, password_hash, status, role, keys[0], keys[1], email_confirmed,
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


async def get_by_email(conn: asyncpg.Connection, email: str) -> Account | None:
    row = await conn.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE lower(email) = lower($1)", email
    )
    return from_row(Account, row)


async def get_password_hash(conn: asyncpg.Connection, account_id: int) -> str | None:
    return await conn.fetchval("SELECT password_hash FROM accounts WHERE id = $1", account_id)


async def set_password_hash(conn: asyncpg.Connection, account_id: int, password_hash: str) -> None:
    """A new password voids the account's reset link: whatever way it was changed, a link
    mailed for the old one must not set another."""
    await conn.execute(
        """
        WITH voided AS (
            DELETE FROM account_tokens WHERE account_id = $1 AND purpose = 'reset_password'
        )
        UPDATE accounts SET password_hash = $2 WHERE id = $1
        """,
        account_id, password_hash,
    )  # fmt: skip


async def confirm_email(conn: asyncpg.Connection, account_id: int, email: str) -> Account | None:
    """Mark the address confirmed, if it is still the account's (None otherwise)."""
    row = await conn.fetchrow(
        f"""
        UPDATE accounts SET email_confirmed_at = coalesce(email_confirmed_at, now())
        WHERE id = $1 AND lower(email) = lower($2)
        RETURNING {ACCOUNT_COLUMNS}
        """,
        account_id, email,
    )  # fmt: skip
    return from_row(Account, row)


async def set_email(
    conn: asyncpg.Connection, account_id: int, email: str, *, confirmed: bool
) -> Account | None:
    """The account's address is now `email`: confirmed (its owner followed a link mailed
    there) or not. UniqueViolationError when another account has it."""
    row = await conn.fetchrow(
        f"""
        UPDATE accounts SET email = $2, email_confirmed_at = CASE WHEN $3 THEN now() END
        WHERE id = $1
        RETURNING {ACCOUNT_COLUMNS}
        """,
        account_id, email, confirmed,
    )  # fmt: skip
    return from_row(Account, row)


async def email_taken_by_another(conn: asyncpg.Connection, email: str, account_id: int) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE lower(email) = lower($1) AND id <> $2)",
        email, account_id,
    )  # fmt: skip


async def get_mail_notifications(conn: asyncpg.Connection, account_id: int) -> list[str]:
    return list(
        await conn.fetchval("SELECT mail_notifications FROM accounts WHERE id = $1", account_id)
    )


async def set_mail_notifications(
    conn: asyncpg.Connection, account_id: int, choices: list[str]
) -> None:
    await conn.execute(
        "UPDATE accounts SET mail_notifications = $2 WHERE id = $1", account_id, choices
    )


async def drop_mail_notification(conn: asyncpg.Connection, account_id: int, choice: str) -> bool:
    """Stop mailing the account about `choice`; False when it was not chosen (or no account)."""
    result = await conn.execute(
        """
        UPDATE accounts SET mail_notifications = array_remove(mail_notifications, $2)
        WHERE id = $1 AND $2 = ANY (mail_notifications)
        """,
        account_id, choice,
    )  # fmt: skip
    return result == "UPDATE 1"


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


async def set_role(conn: asyncpg.Connection, username: str, role: str) -> Account | None:
    """A live account's new role (None: no such account, or one that was deleted)."""
    row = await conn.fetchrow(
        f"""
        UPDATE accounts SET role = $2
        WHERE lower(username) = lower($1) AND status <> 'deleted'
        RETURNING {ACCOUNT_COLUMNS}
        """,
        username, role,
    )  # fmt: skip
    return from_row(Account, row)


async def admin_count(conn: asyncpg.Connection) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM accounts WHERE role = 'admin' AND status <> 'deleted'"
    )


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


async def login_retry_after(
    conn: asyncpg.Connection,
    username: str,
    address: str,
    window: timedelta,
    per_account: int,
    per_address: int,
) -> timedelta | None:
    """How long until this account name may be tried again from this address; None when it
    may be now. A limit of n frees up when the n-th newest failure in the window leaves it
    (so the wait counts from the actual failures, not from the last attempt)."""
    return await conn.fetchval(
        """
        SELECT max(free_at) - now() FROM (
            (SELECT failed_at + $3::interval AS free_at FROM login_failures
             WHERE username = lower($1) AND failed_at > now() - $3::interval
             ORDER BY failed_at DESC OFFSET $4 - 1 LIMIT 1)
            UNION ALL
            (SELECT failed_at + $3::interval FROM login_failures
             WHERE address = $2 AND failed_at > now() - $3::interval
             ORDER BY failed_at DESC OFFSET $5 - 1 LIMIT 1)
        ) limits
        """,
        username, address, window, per_account, per_address,
    )  # fmt: skip


async def prune_login_failures(conn: asyncpg.Connection, before: datetime) -> int:
    result = await conn.execute("DELETE FROM login_failures WHERE failed_at < $1", before)
    return int(result.rsplit(" ", 1)[-1])


async def clear_login_failures(conn: asyncpg.Connection, username: str) -> None:
    await conn.execute("DELETE FROM login_failures WHERE username = lower($1)", username)


async def touch_last_seen(conn: asyncpg.Connection, account_id: int) -> None:
    await conn.execute("UPDATE accounts SET last_seen_at = now() WHERE id = $1", account_id)


async def set_language(conn: asyncpg.Connection, account_id: int, language: str | None) -> None:
    await conn.execute("UPDATE accounts SET language = $2 WHERE id = $1", account_id, language)
