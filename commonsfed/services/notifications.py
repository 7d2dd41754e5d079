"""Residents' notifications: read them, count the unread, mark them read; and the scheduled
job that warns authors of listings about to expire.

The notifications themselves are written by the services whose changes they report (answers,
reservations, messages), in the same transaction as the change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from commonsfed.db import notifications as q
from commonsfed.db.notifications import Notification
from commonsfed.models import Account

NEAR_EXPIRY = timedelta(days=2)
PAGE_SIZE = 100


async def notifications(pool: asyncpg.Pool, account: Account) -> list[Notification]:
    """The account's latest notifications, newest first."""
    async with pool.acquire() as conn:
        return await q.account_notifications(conn, account.id, PAGE_SIZE)


async def count_unread(pool: asyncpg.Pool, account: Account) -> int:
    async with pool.acquire() as conn:
        return await q.count_unread(conn, account.id)


async def mark_read(pool: asyncpg.Pool, account: Account) -> None:
    async with pool.acquire() as conn:
        await q.mark_read(conn, account.id)


async def read_and_mark(pool: asyncpg.Pool, account: Account) -> list[Notification]:
    """The notifications as they stood (unread ones still marked so), then all marked read."""
    async with pool.acquire() as conn, conn.transaction():
        shown = await q.account_notifications(conn, account.id, PAGE_SIZE)
        await q.mark_read(conn, account.id)
        return shown


async def notify_near_expiry(pool: asyncpg.Pool, now: datetime | None = None) -> int:
    """The scheduled job: authors of open or reserved listings that expire within two days
    hear so, once per listing. Returns how many were told; safe to run often and from several
    workers at once."""
    async with pool.acquire() as conn:
        return await q.notify_near_expiry(conn, now or datetime.now(UTC), NEAR_EXPIRY)
