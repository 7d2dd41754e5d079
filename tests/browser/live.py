"""A node served over real HTTP on a loopback port, for a browser to walk through
(the `live_node` fixture, made available to tests/browser/ by its conftest.py).

The node is the real app on the test's own database (tests/conftest.py's `settings`: dev mode,
so plain http and session cookies without `Secure`; registration open, so a new account is
active at once). Its domain is the address the browser uses, 127.0.0.1:<port>, so every link
and id the node prints is one the browser can follow.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
from aiohttp import web

from commonsfed.app import create_app
from commonsfed.config import Settings


@dataclass(frozen=True)
class LiveNode:
    settings: Settings
    app: web.Application

    def url(self, path: str = "/") -> str:
        return f"{self.settings.base_url}{path}"


@pytest.fixture
async def live_node(settings: Settings) -> AsyncIterator[LiveNode]:
    # bound before the app is made, so the domain names the port the node listens on
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    node_settings = replace(settings, domain=f"127.0.0.1:{port}", registration="open")
    app = create_app(node_settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield LiveNode(node_settings, app)
    finally:
        await runner.cleanup()
