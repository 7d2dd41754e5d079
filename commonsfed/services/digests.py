"""The weekly digest: a mail of the listings posted here in the past week in the categories
a resident chose (none: all), within their distance of their area (no area: anywhere).

Decisions:
- Driven by the scheduled jobs' tick (services.jobs), which looks each minute for digests
  due: a resident's first one goes on the first tick after they turn it on (with the past
  week's listings), the next a week after the one before. A week with nothing new sends
  nothing and waits another week.
- Claimed and marked sent in one transaction with the mail queued (db.mail), so two
  workers never send the same digest twice and a failure sends none.
- Only confirmed addresses of active accounts, as for every notification mail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from commonsfed.db import mail as mail_q
from commonsfed.db import matching as q

EVERY = timedelta(days=7)
BATCH = 50
MOST = 30  # listings in one digest, at most (the newest)


async def send_due(pool: asyncpg.Pool, now: datetime | None = None) -> int:
    """Queue the digests due at `now`; returns how many residents were looked at."""
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        due = await q.claim_due_digests(conn, now, EVERY, BATCH)
        for prefs in due:
            found = await q.new_listings_near(conn, prefs, now, MOST)
            if found:
                await _queue(conn, prefs, found)
    return len(due)


async def _queue(conn: asyncpg.Connection, prefs: asyncpg.Record, found: list) -> None:
    await mail_q.queue_mail(
        conn,
        recipient=prefs["email"],
        template="digest",
        context={
            "username": prefs["username"],
            "listings": [
                {
                    "title": row["title"],
                    "path": f"/listings/{row['uid']}",
                    "purpose": row["purpose"],
                    "category": row["category_name"],
                    "place": row["place"],
                }  # fmt: skip
                for row in found
            ],
        },
        account_id=prefs["account_id"],
    )
