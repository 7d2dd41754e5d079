"""A client that hangs up is the client's business: one INFO line, not an ERROR with a
traceback (it happens all day: a phone loses signal, a peer's timeout runs out)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import web

from commonsfed.app import create_app
from tests.waiting import until

AS2 = "application/activity+json"


@pytest.fixture
async def plain_node(settings):
    """The node served as web.run_app serves an app, with none of `serving`'s deadlines
    (aiohttp's test server would cancel a handler whose client left, which run_app does
    not): the port it listens on. Without an access log, whose line for the request may come
    before or after the one this test reads."""
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield runner.addresses[0][1]
    await runner.cleanup()


async def test_client_hanging_up_mid_body__is_one_info_line(plain_node, caplog):
    # Given a client whose upload the inbox has begun to read (it asked for a 100 Continue)
    reader, writer = await asyncio.open_connection("127.0.0.1", plain_node)
    writer.write(b"POST /inbox HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + AS2.encode()
                 + b"\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"

    # When the client goes away half-way through the body
    with caplog.at_level(logging.INFO):
        writer.write(b" " * 100)
        writer.close()
        await until(lambda: any(r.name.startswith(("commonsfed.web", "aiohttp"))
                                for r in caplog.records))

    # Then the log says so in one line, with no error and no traceback
    records = [r for r in caplog.records if r.name.startswith(("commonsfed.web", "aiohttp"))]
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("INFO", "POST /inbox: the client hung up before the answer")
    ]
    assert not [r for r in caplog.records if r.exc_info]
