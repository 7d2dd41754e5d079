"""The inbox worker: claims the activities the inbox stored and runs them through the
handler table (`federation.handlers`), one per tick, with retries for what may pass.

The web process only accepts and stores (`federation.inbox`); everything that costs more
than a signature check (JSON-LD, fetches, the handlers' transactions) happens here.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import asyncpg
import orjson

from commonsfed.ap import jsonld
from commonsfed.ap.actors import RemoteActor
from commonsfed.db import actors as actors_q
from commonsfed.db import inbox as q
from commonsfed.federation import claims
from commonsfed.federation.context import Federation
from commonsfed.live_settings import refresh_settings

log = logging.getLogger(__name__)

# Retries start at a minute and double up to six hours; after a day an item is failed.
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=1)
MAX_ERROR = 500

Handle = Callable[[Federation, dict[str, Any], RemoteActor | None], Awaitable[str]]
# A database that stops answering is not the activity's fault: try again later.
_INFRASTRUCTURE_ERRORS = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
)


@dataclass(frozen=True)
class InboxItem:
    id: int
    activity_id: str
    actor_uri: str
    activity: dict[str, Any]
    attempts: int  # including this claim
    received_at: datetime
    claim: int  # this claim's token, which renewing and finishing must still match


@dataclass(frozen=True)
class Outcome:
    state: str  # done, unhandled, failed, or pending (retry at `next_try_at`)
    error: str | None = None
    next_try_at: datetime | None = None


def activity_pair(activity: dict[str, Any]) -> tuple[str, str | None]:
    """(type, object type) as the handler table keys it; None for an object given by URI."""
    obj = activity.get("object")
    object_type = obj.get("type") if isinstance(obj, dict) else None
    return str(activity.get("type")), None if object_type is None else str(object_type)


def retry_at(item: InboxItem, now: datetime, jitter: float | None = None) -> datetime | None:
    """When to try again after a temporary failure, or None once a day has gone by.

    Jitter spreads the retries of a burst (a peer that was down) so they do not come back
    together."""
    jitter = random.uniform(0.8, 1.2) if jitter is None else jitter
    delay = min(FIRST_RETRY * 2 ** max(item.attempts - 1, 0), MAX_RETRY_DELAY) * jitter
    when = now + delay
    return None if when - item.received_at > GIVE_UP_AFTER else when


def _handler_table() -> ModuleType:
    # Imported on first use: the handlers pull in the services, which the web process's
    # inbox never needs.
    from commonsfed.federation import handlers

    return handlers


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


class InboxWorker:
    """Claims stored activities and runs them through the handler table, one per tick.

    `fetch_next` claims, `process_one` handles and records, `tick` does both once; the
    loop that waits on `channel` and calls `heartbeat` on a timer lives in
    `federation.workers`. A handler may take long (it fetches), and the heartbeat keeps the
    claim's short lease alive meanwhile (`federation.claims`). Handlers run outside the
    worker's claim, so an item whose worker dies after the handler committed runs again
    when its lease runs out: handlers must be idempotent (they are keyed by activity id).
    """

    channel = q.INBOX_CHANNEL

    def __init__(
        self,
        federation: Federation,
        *,
        lease: timedelta = claims.LEASE,
        heartbeat_every: timedelta = claims.HEARTBEAT_EVERY,
        handle: Handle | None = None,
    ) -> None:
        self.fed = federation
        self.lease = lease
        self.heartbeat_every = heartbeat_every.total_seconds()
        self._handle = handle  # the handler table's handle_activity unless given
        self._held: claims.Held[InboxItem] = claims.Held("inbox items")  # until recorded

    async def fetch_next(self) -> InboxItem | None:
        async with self.fed.pool.acquire() as conn:
            row = await q.claim_item(conn, self.lease)
        if row is None:
            return None
        item = InboxItem(**{**dict(row), "activity": orjson.loads(row["activity"])})
        self._held.hold([item])
        return item

    async def process_one(self, item: InboxItem) -> Outcome:
        started = time.perf_counter()
        try:
            outcome = await self._run(item)
        except Exception:
            self._held.let_go(item.id)  # not renewed any more: tried again when its lease ends
            raise
        self.fed.metrics.inbox_handled.labels(outcome.state).observe(time.perf_counter() - started)
        await self._record(item, outcome)
        return outcome

    async def tick(self) -> bool:
        """Handle one due item; False when there was none."""
        # the federation mode and the Group's follow policy, as an admin set them last
        await refresh_settings(self.fed.settings, self.fed.pool)
        item = await self.fetch_next()
        if item is None:
            return False
        await self.process_one(item)
        return True

    async def heartbeat(self) -> int:
        """Renew the lease of what this worker holds; returns how many it still holds. One
        taken over by another worker is let go (its outcome here will not be recorded)."""
        held = self._held.items()
        if held:
            async with self.fed.pool.acquire() as conn:
                kept = await q.renew_items(conn, [(i.id, i.claim) for i in held], self.lease)
            self._held.renewed(held, kept)
        return len(self._held)

    async def release_claims(self) -> int:
        """Give back what this worker claimed and has not finished (on shutdown)."""
        held = self._held.let_go_all()
        async with self.fed.pool.acquire() as conn:
            return await q.release_items(conn, [(item.id, item.claim) for item in held])

    async def _run(self, item: InboxItem) -> Outcome:
        try:
            document = jsonld.normalise(item.activity)
        except jsonld.JsonLdError as exc:
            return Outcome("failed", _short(f"not readable as JSON-LD: {exc}"))
        # The inbox verified the signer as this very id; an embedded actor object (some
        # servers send one) is never trusted, and the handlers read `actor` as a URI.
        document = {**document, "actor": item.actor_uri}
        table = _handler_table()
        handle = self._handle or table.handle_activity
        try:
            result = await handle(self.fed, document, await self._signer(item))
        except table.Retry as exc:
            return self._retry(item, f"temporary failure: {exc}")
        except _INFRASTRUCTURE_ERRORS as exc:
            return self._retry(item, f"database unavailable: {exc}")
        except table.Refused as exc:
            return Outcome("failed", _short(f"refused: {exc}"))
        except Exception as exc:
            log.exception("inbox item %d (%s) failed", item.id, item.activity_id)
            return Outcome("failed", _short(f"{type(exc).__name__}: {exc}"))
        return self._classify(result, document)

    async def _signer(self, item: InboxItem) -> RemoteActor | None:
        # the web process verified the signer and cached it; handlers need its inbox etc.
        async with self.fed.pool.acquire() as conn:
            return await actors_q.get_remote_actor(conn, item.actor_uri)

    @staticmethod
    def _classify(result: str, document: dict[str, Any]) -> Outcome:
        if result == "done":
            return Outcome("done")
        kind, object_type = activity_pair(document)
        # never dropped silently: admins see the pair in `commonsfed queue`
        return Outcome("unhandled", _short(f"no handler for ({kind}, {object_type or '-'})"))

    def _retry(self, item: InboxItem, error: str) -> Outcome:
        when = retry_at(item, datetime.now(UTC))
        if when is None:
            return Outcome("failed", _short(f"gave up after {item.attempts} tries: {error}"))
        return Outcome("pending", _short(error), when)

    async def _record(self, item: InboxItem, outcome: Outcome) -> None:
        if not self._held.let_go(item.id):
            return  # a heartbeat found it taken over, and said so
        async with self.fed.pool.acquire() as conn:
            if outcome.state == "pending":
                kept = await q.retry_item(
                    conn, item.id, item.claim, outcome.next_try_at, outcome.error or ""
                )
            else:
                kept = await q.finish_item(conn, item.id, item.claim, outcome.state, outcome.error)
        if not kept:
            log.warning(
                "inbox item %d: lease ran out and another worker took it over; "
                "its outcome (%s) was not recorded",
                item.id,
                outcome.state,
            )
