"""Scheduled jobs run by the workers: expiry and near-expiry notices, on a clock we set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from commonsfed.services import listings
from commonsfed.services.jobs import ScheduledJobs
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
