"""Scheduled jobs, run by the same workers as the queues: listings that expire, the notices
that they soon will, the accounts whose suspension ran out its 30 days (deleted), the keys
of deleted accounts whose farewell has been delivered, and (hourly) pruning the queues of what finished long ago (mail included), the
sessions no one used for a month, the exports of more than a week ago, and the
expired links, failed logins and mail requests that no throttle counts any more, the
photos apps uploaded but never posted (after a day), spent Idempotency-Keys, and the
cached photos of remote listings past their expiry or beyond the cache's cap. Each run also
matches the remote listings that arrived (services.matching), sends the weekly digests
that are due (services.digests), decides the pledges whose deadline came, and withdraws the
proposals of hours that another node left unanswered for a week.
Each tick runs the jobs that are due; a clock is passed in so tests decide what time
it is instead of waiting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import deliveries as deliveries_q
from commonsfed.db import inbox as inbox_q
from commonsfed.db import mail as mail_q
from commonsfed.db import tokens as tokens_q
from commonsfed.services import (
    account_actions,
    account_deletion,
    digests,
    export,
    listings,
    loans,
    mail_sending,
    matching,
    media,
    notifications,
    pledges,
    remote_media,
    sessions,
    status_posting,
    throttle,
    timebank_withdrawal,
)
from commonsfed.services.accounts import LOGIN_WINDOW

INTERVAL = timedelta(minutes=1)
PRUNE_INTERVAL = timedelta(hours=1)
KEEP_DONE_DELIVERIES = timedelta(days=7)
KEEP_FAILED_DELIVERIES = timedelta(days=30)
KEEP_HANDLED_INBOX = timedelta(days=14)  # peers retry for ~2 days: redeliveries still dedupe
# sent mail holds addresses and (dead by then) links: kept a week, to answer "did it go?"
KEEP_SENT_MAIL = timedelta(days=7)
KEEP_FAILED_MAIL = timedelta(days=30)
# pending mail no worker ever tried (a node without a mail server) is given up after this
GIVE_UP_UNTRIED_MAIL = mail_sending.RETRY_WINDOW
PRUNE_BATCH = 5000


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
        self.last_prune: datetime | None = None

    async def tick(self) -> bool:
        """Run the jobs if a minute has passed since the last run; True if any did work."""
        now = self.clock()
        if self.last_run is not None and now - self.last_run < INTERVAL:
            return False
        self.last_run = now
        expired = await listings.expire_due(self.pool, self.settings, now)
        warned = await notifications.notify_near_expiry(self.pool, now)
        ended = await account_actions.delete_expired_suspensions(self.pool, self.settings, now)
        erased = await account_deletion.erase_spent_keys(self.pool, self.settings)
        matched = await matching.match_arrivals(self.pool, self.settings)
        matched += await digests.send_due(self.pool, now)
        # the loan calendar's reminders, and group purchases whose deadline came
        decided = await loans.run_reminders(self.pool, self.settings, now)
        decided += await pledges.decide_deadlines(self.pool, self.settings, now)
        # proposals of hours that another node left unanswered for a week
        decided += await timebank_withdrawal.withdraw_due(self.pool, self.settings, now)
        pruned = 0
        if self.last_prune is None or now - self.last_prune >= PRUNE_INTERVAL:
            self.last_prune = now
            pruned = await prune_queues(self.pool, now) + await sessions.prune(self.pool)
            pruned += await export.prune(self.pool, self.settings, now)
            pruned += await prune_throttles(self.pool, now)
            pruned += await media.prune(self.pool, self.settings, now)
            pruned += await status_posting.prune(self.pool, now)
            pruned += await remote_media.prune(self.pool, self.settings, now)
        return bool(expired or warned or ended or erased or pruned or matched or decided)


async def prune_queues(pool: asyncpg.Pool, now: datetime) -> int:
    """Delete finished deliveries and handled inbox items past their keeping time, in batches
    (each its own short transaction). Returns how many rows went."""
    total = 0
    async with pool.acquire() as conn:
        for prune in (
            lambda: deliveries_q.prune_finished(
                conn, now - KEEP_DONE_DELIVERIES, now - KEEP_FAILED_DELIVERIES, PRUNE_BATCH
            ),
            lambda: inbox_q.prune_handled(conn, now - KEEP_HANDLED_INBOX, PRUNE_BATCH),
            lambda: mail_q.prune_finished(
                conn, now - KEEP_SENT_MAIL, now - KEEP_FAILED_MAIL, PRUNE_BATCH
            ),
        ):
            while (count := await prune()) > 0:
                total += count
                if count < PRUNE_BATCH:
                    break
        total += await mail_q.give_up_unclaimed(conn, now - GIVE_UP_UNTRIED_MAIL)
    return total


async def prune_throttles(pool: asyncpg.Pool, now: datetime) -> int:
    """Delete expired links, and the failed logins and mail requests older than the windows
    that count them. Returns how many rows went."""
    async with pool.acquire() as conn:
        return (
            await tokens_q.prune_expired(conn, now)
            + await accounts_q.prune_login_failures(conn, now - LOGIN_WINDOW)
            + await tokens_q.prune_requests(conn, now - throttle.MAIL_WINDOW)
        )
