"""Queries on the links mailed to residents (account_tokens) and on the requests that send
them (mail_requests, counted to throttle them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from commonsfed.models import from_row


@dataclass(frozen=True)
class AccountToken:
    account_id: int
    purpose: str  # "confirm_email" | "reset_password"
    email: str  # the address the link confirms, or the one a reset link went to
    expires_at: datetime
    expired: bool  # by the database's clock


async def replace_token(
    conn: asyncpg.Connection,
    account_id: int,
    purpose: str,
    token_hash: bytes,
    email: str,
    valid_for: timedelta,
) -> datetime:
    """The account's one link for `purpose` is this one from now on (the one before is
    void). Returns when it expires."""
    return await conn.fetchval(
        """
        INSERT INTO account_tokens (account_id, purpose, token_hash, email, expires_at)
        VALUES ($1, $2, $3, $4, now() + $5::interval)
        ON CONFLICT (account_id, purpose) DO UPDATE SET token_hash = EXCLUDED.token_hash,
            email = EXCLUDED.email, created_at = now(), expires_at = EXCLUDED.expires_at
        RETURNING expires_at
        """,
        account_id, purpose, token_hash, email, valid_for,
    )  # fmt: skip


_TOKEN_COLUMNS = "account_id, purpose, email, expires_at, expires_at <= now() AS expired"


async def find_token(
    conn: asyncpg.Connection, purpose: str, token_hash: bytes
) -> AccountToken | None:
    """The link, expired or not (None: never made, used, or replaced by a newer one)."""
    row = await conn.fetchrow(
        f"SELECT {_TOKEN_COLUMNS} FROM account_tokens WHERE purpose = $1 AND token_hash = $2",
        purpose, token_hash,
    )  # fmt: skip
    return from_row(AccountToken, row)


async def take_token(
    conn: asyncpg.Connection, purpose: str, token_hash: bytes
) -> AccountToken | None:
    """Use the link up: deleted, and returned if it had not expired. Two requests with one
    link: the second finds nothing."""
    row = await conn.fetchrow(
        f"""
        DELETE FROM account_tokens WHERE purpose = $1 AND token_hash = $2
        RETURNING {_TOKEN_COLUMNS}
        """,
        purpose, token_hash,
    )  # fmt: skip
    token = from_row(AccountToken, row)
    return None if token is None or token.expired else token


async def pending_email(conn: asyncpg.Connection, account_id: int) -> tuple[str, datetime] | None:
    """The address an unexpired confirmation link of the account would confirm, and until
    when."""
    row = await conn.fetchrow(
        """
        SELECT email, expires_at FROM account_tokens
        WHERE account_id = $1 AND purpose = 'confirm_email' AND expires_at > now()
        """,
        account_id,
    )
    return (row["email"], row["expires_at"]) if row else None


async def delete_tokens(conn: asyncpg.Connection, account_id: int, purpose: str) -> None:
    await conn.execute(
        "DELETE FROM account_tokens WHERE account_id = $1 AND purpose = $2", account_id, purpose
    )


async def prune_expired(conn: asyncpg.Connection, before: datetime) -> int:
    result = await conn.execute("DELETE FROM account_tokens WHERE expires_at < $1", before)
    return int(result.rsplit(" ", 1)[-1])


# --- Throttling the requests that send mail ------------------------------------------------------


async def record_request(conn: asyncpg.Connection, action: str, subject: str, address: str) -> None:
    await conn.execute(
        "INSERT INTO mail_requests (action, subject, address) VALUES ($1, $2, $3)",
        action, subject, address,
    )  # fmt: skip


async def request_retry_after(
    conn: asyncpg.Connection,
    action: str,
    subject: str,
    address: str,
    window: timedelta,
    per_subject: int,
    per_address: int,
) -> timedelta | None:
    """How long until one more request of `action` is allowed, for this subject and from this
    client address; None when it is allowed now. A limit of n frees up when the n-th newest
    request in the window leaves it."""
    return await conn.fetchval(
        """
        SELECT max(free_at) - now() FROM (
            (SELECT requested_at + $4::interval AS free_at FROM mail_requests
             WHERE action = $1 AND subject = $2 AND requested_at > now() - $4::interval
             ORDER BY requested_at DESC OFFSET $5 - 1 LIMIT 1)
            UNION ALL
            (SELECT requested_at + $4::interval FROM mail_requests
             WHERE action = $1 AND address = $3 AND requested_at > now() - $4::interval
             ORDER BY requested_at DESC OFFSET $6 - 1 LIMIT 1)
        ) limits
        """,
        action, subject, address, window, per_subject, per_address,
    )  # fmt: skip


async def prune_requests(conn: asyncpg.Connection, before: datetime) -> int:
    result = await conn.execute("DELETE FROM mail_requests WHERE requested_at < $1", before)
    return int(result.rsplit(" ", 1)[-1])
