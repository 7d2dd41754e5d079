"""The inbox worker: claims the activities the inbox stored, a batch at a time, and runs
them through the handler table (`federation.handlers`), with retries for what may pass.

The web process only accepts and stores (`federation.inbox`); everything that costs more
than a signature check (JSON-LD, fetches, the handlers' transactions) happens here. How a
batch is handled, in waves that share their reads, their writes' transaction and their
outcomes' statement, is `federation.inbox_batch`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

import orjson

from commonsfed.db import inbox as q
from commonsfed.federation import claims
from commonsfed.federation.context import Federation
from commonsfed.federation.inbox_batch import (  # noqa: F401  (re-exported)
    Batch,
    Handle,
    InboxItem,
    Outcome,
    activity_pair,
    retry_at,
)
from commonsfed.live_settings import refresh_settings

log = logging.getLogger(__name__)

# Items a claim takes: enough that the round trips and the commit of a batch cost little
# per item, few enough that the first of them is recorded within tens of milliseconds.
BATCH = 64


class InboxWorker:
    """Claims stored activities and runs them through the handler table, a batch a tick.

    `tick` claims a batch and handles it; `fetch_next` hands out one claimed item (claiming
    a batch when it holds none) and `process_one` handles and records it; the loop that
    waits on `channel` and calls `heartbeat` on a timer lives in `federation.workers`. A
    handler may take long (it fetches), and the heartbeat keeps the claim's short lease
    alive meanwhile (`federation.claims`). Handlers run outside the worker's claim, so an
    item whose worker dies after the handler committed runs again when its lease runs out:
    handlers must be idempotent (they are keyed by activity id).
    """

    channel = q.INBOX_CHANNEL

    def __init__(
        self,
        federation: Federation,
        *,
        lease: timedelta = claims.LEASE,
        heartbeat_every: timedelta = claims.HEARTBEAT_EVERY,
        batch: int = BATCH,
        handle: Handle | None = None,
    ) -> None:
        self.fed = federation
        self.lease = lease
        self.heartbeat_every = heartbeat_every.total_seconds()
        self.batch = batch
        self._handle = handle  # stands in for the handler table when given (tests)
        self._claimed: list[InboxItem] = []  # claimed by fetch_next, not yet handed out
        self._held: claims.Held[InboxItem] = claims.Held("inbox items")  # until recorded

    async def fetch_next(self) -> InboxItem | None:
        """The next item this worker holds, claiming a batch when it holds none."""
        if not self._claimed:
            self._claimed.extend(await self._claim())
        return self._claimed.pop(0) if self._claimed else None

    async def process_one(self, item: InboxItem) -> Outcome:
        """Handle one claimed item and record its outcome."""
        (outcome,) = await self._process([item])
        return outcome

    async def tick(self) -> bool:
        """Claim a batch (or take what fetch_next left) and handle it; False when nothing
        was due."""
        # the federation mode and the Group's follow policy, as an admin set them last
        await refresh_settings(self.fed.settings, self.fed.pool)
        batch, self._claimed = self._claimed, []
        batch = batch or await self._claim()
        if not batch:
            return False
        await self._process(batch)
        return True

    async def heartbeat(self) -> int:
        """Renew the lease of what this worker holds; returns how many it still holds. One
        taken over by another worker is let go (its outcome here will not be recorded)."""
        held = self._held.items()
        if held:
            async with self.fed.pool.acquire() as conn:
                kept = await q.renew_items(conn, [(i.id, i.claim) for i in held], self.lease)
            if self._held.renewed(held, kept):
                self._claimed = [item for item in self._claimed if item.id in self._held]
        return len(self._held)

    async def release_claims(self) -> int:
        """Give back what this worker claimed and has not finished (on shutdown)."""
        self._claimed = []
        held = self._held.let_go_all()
        if not held:
            return 0
        async with self.fed.pool.acquire() as conn:
            return await q.release_items(conn, [(item.id, item.claim) for item in held])

    async def _claim(self) -> list[InboxItem]:
        async with self.fed.pool.acquire() as conn:
            rows = await q.claim_items(conn, self.lease, self.batch)
        items = [
            InboxItem(**{**dict(row), "activity": orjson.loads(row["activity"])}) for row in rows
        ]
        self._held.hold(items)
        return items

    async def _process(self, items: Sequence[InboxItem]) -> list[Outcome]:
        try:
            return await Batch(self.fed, self._record, self._handle).run(items)
        except Exception:
            # not renewed any more: what was not recorded is tried again when its lease ends
            for item in items:
                self._held.let_go(item.id)
            raise

    async def _record(self, pairs: Sequence[tuple[InboxItem, Outcome]]) -> None:
        """Record outcomes in one statement; one whose claim a heartbeat found taken over
        is left to the worker that took it."""
        held = [(item, outcome) for item, outcome in pairs if self._held.let_go(item.id)]
        if not held:
            return
        finished = [
            q.Finished(item.id, item.claim, o.state, o.error, o.next_try_at) for item, o in held
        ]
        async with self.fed.pool.acquire() as conn:
            kept = await q.finish_items(conn, finished)
        for item, outcome in held:
            if item.id not in kept:
                log.warning(
                    "inbox item %d: lease ran out and another worker took it over; "
                    "its outcome (%s) was not recorded",
                    item.id,
                    outcome.state,
                )
