"""A node served on a real loopback port under its own address (http://127.0.0.1:PORT, a
dev node), for clients in threads or other processes (Mastodon.py, toot) that must reach
it by name; its TestClient is a resident's browser on the same node."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from commonsfed.app import create_app
from tests.nodes import bound_socket


@pytest.fixture
async def start_live_node(settings):
    """start_live_node(**settings changes) -> (base URL, browser): a node on 127.0.0.1 and
    a client that keeps its cookies; stopped after the test."""
    started: list[tuple[TestClient, object]] = []

    async def start(**changes):
        sock = bound_socket()
        port = sock.getsockname()[1]
        app = create_app(replace(settings, domain=f"127.0.0.1:{port}", **changes))
        browser = TestClient(TestServer(app, host="127.0.0.1", port=port,
                                        socket_factory=lambda *_: sock))  # fmt: skip
        started.append((browser, sock))
        await browser.start_server()
        return f"http://127.0.0.1:{port}", browser

    yield start
    for browser, sock in started:
        await browser.close()
        sock.close()


@pytest.fixture
async def live_node(start_live_node):
    return await start_live_node()
