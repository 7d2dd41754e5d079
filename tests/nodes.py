"""Several real nodes in one test process (the `start_nodes` fixture, for any test), each with its own database and port.

Their host names are real (north.test, south.test, east.test): the dev-only resolver map
tells every node's HTTP client which loopback port each name lives on, so ids, WebFinger
handles, Host headers and signatures are exactly what they would be on the Internet.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, replace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from commonsfed.app import create_app
from commonsfed.config import Settings
from commonsfed.db.pool import connect
from commonsfed.federation.context import Federation
from commonsfed.federation.delivery import DeliveryWorker
from commonsfed.federation.inbox_worker import InboxWorker
from commonsfed.web.keys import FEDERATION
from tests.builders import LOOPBACK_TILES, TEST_SECRET

NAMES = ("north.test", "south.test", "east.test")


@dataclass
class Node:
    name: str
    settings: Settings
    app: web.Application
    client: TestClient

    @property
    def federation(self) -> Federation:
        return self.app[FEDERATION]

    @property
    def workers(self) -> list:
        """One delivery and one inbox worker, made on first use and kept."""
        if "workers" not in self.__dict__:
            self.__dict__["workers"] = [DeliveryWorker(self.federation),
                                        InboxWorker(self.federation)]
        return self.__dict__["workers"]

    def url(self, path: str) -> str:
        return f"http://{self.name}{path}"

    async def query(self, sql: str, *args) -> list:
        """The rows of `sql` on this node's database, on a connection of its own (for checks
        and for setting a scene; the node's pool is left to the node)."""
        conn = await connect(self.settings.direct_url)  # PostgreSQL itself, not a pooler
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()


def free_port() -> int:
    """A port free now, for a server in another process (which cannot be handed a socket);
    in this process use `bound_socket`, which holds the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bound_socket() -> socket.socket:
    """A socket bound to a free loopback port and kept: the port is known before the node's
    settings are made, and no other process (or pytest-xdist worker) can take it meanwhile."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
async def start_nodes(make_database, tmp_path):
    """start_nodes(n, **settings changes) -> [Node, ...]; all stopped after the test.
    `others` maps more names (servers the test stands in for) to "127.0.0.1:port" in every
    node's resolver map. A node's changes are a dict of settings, or a function of its
    Settings that returns the ones to use."""
    clients: list[TestClient] = []
    reserved: list[socket.socket] = []

    async def start(count: int = 2, *, others: dict[str, str] | None = None, **changes):
        names = NAMES[:count]
        sockets = {name: bound_socket() for name in names}
        reserved.extend(sockets.values())
        resolve = {name: f"127.0.0.1:{sock.getsockname()[1]}" for name, sock in sockets.items()}
        resolve |= others or {}
        nodes = []
        for name in names:
            settings = Settings(
                domain=name, database_url=make_database(), data_dir=tmp_path / name,
                secret=TEST_SECRET, dev=True, resolve=resolve, run_worker=False,
                instance_name=f"{name.split('.')[0].title()} Commons",
                map_tiles=LOOPBACK_TILES,
            )
            change = changes.get(name, {})
            settings = change(settings) if callable(change) else replace(settings, **change)
            app = create_app(settings)
            sock = sockets[name]
            client = TestClient(TestServer(app, host="127.0.0.1", port=sock.getsockname()[1],
                                           socket_factory=lambda *_, sock=sock: sock))
            await client.start_server()
            clients.append(client)
            nodes.append(Node(name, settings, app, client))
        return nodes

    yield start
    for client in clients:
        await client.close()
    for sock in reserved:  # closed with its server already, unless start() failed half-way
        sock.close()


async def settle(*nodes: Node, rounds: int = 100) -> int:
    """Tick every worker of every node until none has anything left to do; returns the
    number of ticks that did something. Deliveries due later (retries) are not waited for."""
    done = 0
    for _ in range(rounds):
        busy = [await worker.tick() for node in nodes for worker in node.workers]
        if not any(busy):
            return done
        done += sum(busy)
    raise AssertionError(f"the nodes did not settle in {rounds} rounds")
