"""Scheduled jobs run by the workers: expiry and near-expiry notices, on a clock we set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from commonsfed.services import listings
from commonsfed.services.jobs import ScheduledJobs, prune_queues
from tests.integration.test_listings import people, pool, post  # noqa: F401  (fixtures)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


async def notices(pool) -> list[str]:  # noqa: F811
    async with pool.acquire() as conn:
        return [row["kind"] for row in await conn.fetch("SELECT kind FROM notifications")]


async def test_scheduled_jobs__expire_listings_and_warn_once_a_minute(pool, settings, people):  # noqa: F811
    # Given a listing that expires today and one that expires in two days
    [alice] = await people("alice")
    today = datetime.now(UTC).date()
    due = await post(pool, settings, alice, expires_on=today.isoformat())
    soon = await post(pool, settings, alice, expires_on=(today + timedelta(days=2)).isoformat())
    clock = Clock(datetime.now(UTC) + timedelta(days=1, hours=1))
    jobs = ScheduledJobs(pool, settings, clock)

    # When the worker ticks, then ticks again within the minute, then a minute later
    first = await jobs.tick()
    within_a_minute = await jobs.tick()
    clock.now += timedelta(minutes=1)
    a_minute_later = await jobs.tick()

    # Then the due listing expired, the other's author was warned once, and nothing repeats
    assert (first, within_a_minute, a_minute_later) == (True, False, False)
    assert (await listings.get_listing(pool, due.uid)).state == "expired"
    assert (await listings.get_listing(pool, soon.uid)).state == "open"
    assert await notices(pool) == ["near_expiry"]


async def test_prune_queues__deletes_only_what_finished_long_ago(pool):  # noqa: F811
    # Given deliveries and inbox items in every state, finished at various times
    now = datetime.now(UTC)
    days = lambda n: now - timedelta(days=n)  # noqa: E731
    async with pool.acquire() as conn:
        await conn.execute("""
            INSERT INTO activities (uri, actor_uri, type, document)
            VALUES ('http://localhost/activities/1', 'http://localhost/users/a', 'Create', '{}')
        """)  # fmt: skip
        deliveries = [("done", days(8)), ("done", days(6)), ("failed", days(31)),
                      ("failed", days(10)), ("pending", None)]  # fmt: skip
        for n, (state, finished) in enumerate(deliveries):
            await conn.execute(
                "INSERT INTO deliveries (activity_uri, inbox, host, state, finished_at)"
                " VALUES ('http://localhost/activities/1', $1, 'peer.test', $2, $3)",
                f"http://peer.test/{n}/inbox", state, finished)
        items = [("done", days(15)), ("done", days(13)), ("unhandled", days(15)),
                 ("failed", days(40)), ("pending", None)]  # fmt: skip
        for n, (state, handled) in enumerate(items):
            await conn.execute(
                "INSERT INTO inbox_items (activity_id, actor_uri, activity, state, handled_at)"
                " VALUES ($1, 'http://peer.test/u', '{}', $2, $3)",
                f"http://peer.test/activities/{n}", state, handled)

    # When the queues are pruned
    pruned = await prune_queues(pool, now)

    # Then only what finished past its keeping time went
    async with pool.acquire() as conn:
        kept_deliveries = await conn.fetch("SELECT inbox FROM deliveries ORDER BY id")
        kept_items = await conn.fetch("SELECT activity_id FROM inbox_items ORDER BY id")
    assert pruned == 4
    assert [row[0].split("/")[3] for row in kept_deliveries] == ["1", "3", "4"]
    assert [row[0].rsplit("/", 1)[1] for row in kept_items] == ["1", "3", "4"]
    assert await prune_queues(pool, now) == 0
