"""The weekly digest: a mail of the listings posted here, and those that reached us from
federated neighbourhoods, in the past week in the categories a resident chose (none: all),
within their distance of their area (no area: anywhere; a remote listing without a point
counts only then, as on /explore).

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
import orjson

from commonsfed.ap.remote_listings import listing_from_ap
from commonsfed.db import mail as mail_q
from commonsfed.db import matching as q
from commonsfed.services.matching import remote_path
from commonsfed.services.places import distance_km

EVERY = timedelta(days=7)
BATCH = 50
MOST = 30  # listings in one digest, at most (the newest, here first)
REMOTE_READ = 500  # remote listings read for one digest, at most (newest first)


async def send_due(pool: asyncpg.Pool, now: datetime | None = None) -> int:
    """Queue the digests due at `now`; returns how many residents were looked at."""
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        due = await q.claim_due_digests(conn, now, EVERY, BATCH)
        for prefs in due:
            found = [_local(row) for row in await q.new_listings_near(conn, prefs, now, MOST)]
            found += await _remote_near(conn, prefs, now, MOST - len(found))
            if found:
                await _queue(conn, prefs, found)
    return len(due)


def _local(row: asyncpg.Record) -> dict:
    return {"title": row["title"], "path": f"/listings/{row['uid']}", "purpose": row["purpose"],
            "category": row["category_name"], "place": row["place"]}  # fmt: skip


async def _remote_near(conn, prefs: asyncpg.Record, now: datetime, most: int) -> list[dict]:
    """The open listings of federated neighbourhoods that reached us since the last digest,
    with one of the chosen categories' hashtags, within the distance (read from their
    documents, as /explore reads them)."""
    if most <= 0:
        return []
    chosen, point = set(prefs["digest_categories"]), (prefs["latitude"], prefs["longitude"])
    found: list[dict] = []
    for row in await q.remote_listings_since(conn, prefs["since"], now, REMOTE_READ):
        remote = listing_from_ap(orjson.loads(row["document"]))
        if remote is None or remote.state != "open":
            continue
        if chosen and not chosen & set(remote.categories):
            continue
        if not _near(point, remote.latitude, remote.longitude, prefs["digest_km"]):
            continue
        found.append({"title": remote.title, "path": remote_path(row["uri"]),
                      "purpose": remote.purpose, "place": remote.place or "",
                      "category": f"#{remote.categories[0]}" if remote.categories else ""})  # fmt: skip
        if len(found) >= most:
            break
    return found


def _near(point: tuple, latitude: float | None, longitude: float | None, km: float) -> bool:
    if point[0] is None:
        return True  # no area: anywhere
    if latitude is None or longitude is None:
        return False
    return distance_km(point[0], point[1], latitude, longitude) <= km


async def _queue(conn: asyncpg.Connection, prefs: asyncpg.Record, found: list[dict]) -> None:
    await mail_q.queue_mail(
        conn,
        recipient=prefs["email"],
        template="digest",
        context={"username": prefs["username"], "listings": found},
        account_id=prefs["account_id"],
    )
