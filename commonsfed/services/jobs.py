"""Scheduled jobs, run by the same workers as the queues: listings that expire, and the
notices that they soon will. Each tick runs the jobs that are due; a clock is passed in so
tests decide what time it is instead of waiting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from commonsfed.config import Settings
from commonsfed.services import listings, notifications

INTERVAL = timedelta(minutes=1)


def _now() -> datetime:
    return datetime.now(UTC)


class ScheduledJobs:
    """A steppable worker (see federation.workers): `tick()` runs the jobs when due."""

    channel = "commonsfed_jobs"  # nothing notifies it; the runner's idle wake-up is enough

    def __init__(
        self, pool: asyncpg.Pool, settings: Settings, clock: Callable[[], datetime] = _now
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.clock = clock
        self.last_run: datetime | None = None

    async def tick(self) -> bool:
        """Run the jobs if a minute has passed since the last run; True if any did work."""
        now = self.clock()
        if self.last_run is not None and now - self.last_run < INTERVAL:
            return False
        self.last_run = now
        expired = await listings.expire_due(self.pool, self.settings, now)
        warned = await notifications.notify_near_expiry(self.pool, now)
        return bool(expired or warned)
