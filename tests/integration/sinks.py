"""The delivery tests' world: north, a real node, and a "sink" at sink.test where bob lives.

A sink is a small aiohttp server on loopback that stands for a peer we do not run: it counts
what reaches it and answers as scripted. The resolver map sends sink.test to it. The
fixtures (`sink`, `world`) are registered in tests/integration/conftest.py.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
import pytest
from aiohttp import web
from multidict import CIMultiDict

from commonsfed.ap.actors import RemoteActor
from commonsfed.db import actors as actors_q
from commonsfed.federation import outbox
from commonsfed.federation.delivery import DeliveryWorker
from commonsfed.services.accounts import register

AS2 = "https://www.w3.org/ns/activitystreams"
INBOX = "http://sink.test/inbox"
BOB = "http://sink.test/users/bob"


@dataclass(frozen=True)
class Received:
    raw_path: str
    headers: CIMultiDict[str]
    body: bytes
    peer: tuple = ()  # the client's address and port: one per connection

    @property
    def activity_id(self) -> str:
        return orjson.loads(self.body)["id"]


@dataclass
class Sink:
    """A peer we do not run. `answers` are (status, headers) used in order, then 202.
    The first request to a path in `stalled` gets no answer until `unstall` is set."""

    server: object = None
    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    stalled: set[str] = field(default_factory=set)
    unstall: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def answer(self, *statuses: int, **headers: str) -> None:
        self.answers.extend((status, headers) for status in statuses)

    def counts(self) -> Counter[str]:
        return Counter(item.activity_id for item in self.received)

    def connections(self) -> set[tuple]:
        """The connections what was received came over."""
        return {item.peer for item in self.received}

    def paths(self) -> Counter[str]:
        return Counter(item.raw_path for item in self.received)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else ()
        self.received.append(
            Received(request.raw_path, CIMultiDict(request.headers), body, tuple(peer))
        )
        self.arrived.set()
        if request.raw_path in self.stalled:
            self.stalled.discard(request.raw_path)
            await self.unstall.wait()
        status, headers = self.answers.popleft() if self.answers else (202, {})
        return web.Response(status=status, headers=headers)


@dataclass
class World:
    """North with its resident alice, and a sink at sink.test where bob lives."""

    node: object
    sink: Sink
    alice: str

    @property
    def federation(self):
        return self.node.federation

    @property
    def pool(self):
        return self.federation.pool

    def worker(self, **options) -> DeliveryWorker:
        return DeliveryWorker(self.federation, **options)

    async def publish(self, *, to: str = BOB, inboxes: Sequence[str] = ()) -> str:
        """Alice publishes a Note to `to` (and any `inboxes`); returns the activity id."""
        settings = self.node.settings
        activity_id = outbox.new_activity_id(settings)
        activity = {
            "@context": AS2, "id": activity_id, "type": "Create", "actor": self.alice,
            "to": [to], "object": {"id": f"{activity_id}/note", "type": "Note",
                                   "attributedTo": self.alice, "content": "Ladder to lend"},
        }  # fmt: skip
        async with self.pool.acquire() as conn, conn.transaction():
            await outbox.publish(conn, settings, activity, extra_inboxes=list(inboxes))
        return activity_id

    async def fetch(self, query: str, *args):
        async with self.pool.acquire() as conn:
            return await conn.fetch(query, *args)

    async def fetchrow(self, query: str, *args):
        async with self.pool.acquire() as conn:
            return await conn.fetchrow(query, *args)

    async def execute(self, query: str, *args) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(query, *args)

    async def make_due(self) -> None:
        """Time passes: every pending delivery's retry comes due."""
        await self.execute("UPDATE deliveries SET next_try_at = now() WHERE state = 'pending'")

    async def delivery(self, activity_id: str):
        return await self.fetchrow("SELECT * FROM deliveries WHERE activity_uri = $1", activity_id)

    async def host(self, host: str = "sink.test"):
        return await self.fetchrow("SELECT * FROM hosts WHERE host = $1", host)


@pytest.fixture
async def sink(aiohttp_server) -> Sink:
    sink = Sink()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", sink.handle)
    sink.server = await aiohttp_server(app, host="127.0.0.1")
    yield sink
    sink.unstall.set()  # so that the server closes without waiting for stalled requests


@pytest.fixture
async def world(start_nodes, sink) -> World:
    # run_worker off: these tests are the only ones ticking north's workers
    changes = {"resolve": {"sink.test": sink.target}, "run_worker": False}
    (north,) = await start_nodes(1, **{"north.test": changes})
    pool, settings = north.federation.pool, north.settings
    await register(pool, settings, username="alice", email="a@example.org", password="x" * 12)
    async with pool.acquire() as conn:
        await actors_q.upsert_remote_actor(conn, _bob(), {"id": BOB})
    return World(north, sink, north.federation.uris.user("alice"))


def _bob() -> RemoteActor:
    return RemoteActor(
        uri=BOB, domain="sink.test", type="Person", preferred_username="bob", name="Bob",
        inbox=f"{BOB}/inbox", shared_inbox=INBOX, followers=None,
        key_id=f"{BOB}#main-key", public_key_pem="unused",
    )  # fmt: skip


def inboxes(count: int) -> list[str]:
    return [f"http://sink.test/users/u{n}/inbox" for n in range(count)]
