"""Every kind of notification the code makes is one the database takes: migrations that
each add kinds to the list as it stood before them must leave none out."""

from __future__ import annotations

import asyncpg

from commonsfed.db.notifications import NOTIFICATION_KINDS


async def test_notification_kinds__the_database_takes_every_kind_the_code_names(database_url):
    conn = await asyncpg.connect(database_url)
    try:
        check = await conn.fetchval(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname = 'notifications_kind_check'"
        )
    finally:
        await conn.close()

    assert [kind for kind in NOTIFICATION_KINDS if f"'{kind}'" not in check] == []
