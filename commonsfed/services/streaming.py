"""What the streaming API hears, and whom it tells: one LISTEN per process, fanned out.

Every `serve` process may hold open sockets, and a listing may be made in any of them (or
in a worker, for one from another node), so events travel through PostgreSQL: a trigger
(migration 0027) NOTIFYs `commonsfed_statuses` when a listing, a remote listing or a
message is stored or deleted, on commit and whatever the path, and migration 0029's does
the same for a resident's notification (services.api_notifications.CHANNEL). Each process
LISTENs on one connection of its own, opened when its first socket subscribes, and hands
each event to every subscriber's queue. The payload is ids only: each socket decides what
its viewer may see and renders it for them (api/stream_events.py).

A subscriber's queue is bounded: one that does not keep up is dropped (its socket closed,
and the app reconnects) rather than holding up the others or the process's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import orjson

from commonsfed.db.pool import DATABASE_ERRORS, connect
from commonsfed.models import Account
from commonsfed.services import api_notifications

log = logging.getLogger(__name__)

CHANNEL = "commonsfed_statuses"
QUEUE_SIZE = 200  # events a socket may fall behind by before it is dropped
RELISTEN_SECONDS = 2.0  # after a lost LISTEN connection, wait this long before the next


@dataclass(frozen=True)
class Event:
    """`update` or `delete` of a status (`kind` local, remote or message), or a resident's
    `notification` (`account_id` theirs, `id` the notification's)."""

    event: str
    id: int
    kind: str = ""
    account_id: int | None = None


def event_from_payload(payload: str) -> Event | None:
    try:
        data = orjson.loads(payload)
        return Event(str(data["event"]), int(data["id"]), str(data.get("kind", "")))
    except (ValueError, KeyError, TypeError):
        log.warning("streaming: a NOTIFY that is not an event: %.200s", payload)
        return None


@dataclass(eq=False)
class Subscriber:
    """One socket: whose it is, what it listens to, and the events waiting to be sent."""

    viewer: Account | None
    streams: set[tuple[str, str]] = field(default_factory=set)  # (stream, tag or "")
    on_overflow: Callable[[], None] = lambda: None
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: bool = False

    def offer(self, event: Event) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = True
            self.on_overflow()


class Hub:
    """A process's subscribers and its one LISTEN connection."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._subscribers: set[Subscriber] = set()
        self._conn: asyncpg.Connection | None = None
        self._starting: asyncio.Lock = asyncio.Lock()
        self._retry: asyncio.Task | None = None
        self._closed = False

    @property
    def subscribers(self) -> frozenset[Subscriber]:
        return frozenset(self._subscribers)

    async def add(self, subscriber: Subscriber) -> None:
        self._subscribers.add(subscriber)
        await self.listen()

    def remove(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def dispatch(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            subscriber.offer(event)

    async def listen(self) -> None:
        """LISTEN, unless this process already does; a failure is logged and tried again
        by the next socket (the sockets open meanwhile hear nothing, and say so nowhere:
        apps also reload their timelines when they come back)."""
        async with self._starting:
            if self._conn is not None or self._closed:
                return
            try:
                conn = await connect(self._url)
                await conn.add_listener(CHANNEL, self._notified)
                await api_notifications.listen(conn, self._notification)
            except DATABASE_ERRORS as exc:
                log.warning("streaming: cannot LISTEN: %s", exc)
                return
            conn.add_termination_listener(self._terminated)
            self._conn = conn

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        event = event_from_payload(payload)
        if event is not None:
            self.dispatch(event)

    def _notification(self, account_id: int, notification_id: int) -> None:
        self.dispatch(Event("notification", notification_id, account_id=account_id))

    def _terminated(self, _conn: object) -> None:
        self._conn = None
        if not self._closed and self._subscribers:
            log.warning("streaming: the LISTEN connection was lost; listening again")
            self._retry = asyncio.get_running_loop().create_task(self._listen_later())

    async def _listen_later(self) -> None:
        await asyncio.sleep(RELISTEN_SECONDS)
        await self.listen()

    async def close(self) -> None:
        self._closed = True
        if self._retry is not None:
            self._retry.cancel()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.remove_termination_listener(self._terminated)
            with contextlib.suppress(*DATABASE_ERRORS, OSError):
                await conn.close(timeout=2)
