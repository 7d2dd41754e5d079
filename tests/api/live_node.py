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
async def live_node(settings):
    """(base URL, browser): a node on 127.0.0.1 and a client that keeps its cookies."""
    sock = bound_socket()
    port = sock.getsockname()[1]
    app = create_app(replace(settings, domain=f"127.0.0.1:{port}"))
    browser = TestClient(TestServer(app, host="127.0.0.1", port=port,
                                    socket_factory=lambda *_: sock))  # fmt: skip
    await browser.start_server()
    try:
        yield f"http://127.0.0.1:{port}", browser
    finally:
        await browser.close()
        sock.close()
