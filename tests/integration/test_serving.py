"""The node's connections under `serving`, in this process on real loopback sockets: the
header and body deadlines, the caps, the access log, and a client that hangs up.

Deadlines are a fraction of a second here (they are constructor parameters); the settings'
defaults are checked in tests/unit/test_limits.py and by the `serve` process tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import aiohttp
import pytest
from aiohttp import web

from commonsfed import serving
from commonsfed.app import create_app
from commonsfed.connections import BODY, ConnectionTable, Limits, is_loopback
from tests.waiting import until

AS2 = "application/activity+json"


@dataclass
class Served:
    port: int
    table: ConnectionTable

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def serve(settings):
    """serve(limits, ...) -> Served: the node's app behind guarded connections."""
    runners: list[web.AppRunner] = []
    servers: list[asyncio.Server] = []

    async def start(limits: Limits, *, uncapped: Callable[[str], bool] = is_loopback,
                    access_log_on: bool = True) -> Served:
        app = create_app(replace(settings, access_log=access_log_on))
        runner = web.AppRunner(app, shutdown_timeout=0.5, **serving.access_log_args(access_log_on))
        await runner.setup()
        runners.append(runner)
        sockets = serving.listen("127.0.0.1", 0)
        table = ConnectionTable(limits, uncapped=uncapped)
        servers.extend(await serving.start_servers(runner, sockets, table,
                                                   access_log_on=access_log_on))
        return Served(sockets[0].getsockname()[1], table)

    yield start
    for server in servers:
        server.close()
    for runner in runners:
        await runner.cleanup()


async def connect(served: Served, source: str = "127.0.0.1"):
    return await asyncio.open_connection("127.0.0.1", served.port, local_addr=(source, 0))


async def to_the_end(reader: asyncio.StreamReader, within: float = 5.0) -> bytes:
    """What the server sends until it closes the connection (a close with our data still
    unread in its buffer comes as a reset)."""
    received = b""
    async with asyncio.timeout(within):
        try:
            while chunk := await reader.read(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return received


async def trickle(writer: asyncio.StreamWriter, chunk: bytes, every: float) -> None:
    """A slow client: `chunk` every `every` seconds, until the server closes on it."""
    try:
        while not writer.is_closing():
            writer.write(chunk)
            await writer.drain()
            await asyncio.sleep(every)
    except ConnectionError:
        pass


async def get_status(served: Served, path: str = "/healthz", source: str = "127.0.0.1") -> int:
    connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(served.url(path), timeout=aiohttp.ClientTimeout(total=5)) as answer:
            return answer.status


# --- deadlines -------------------------------------------------------------------------


async def test_connection__that_sends_nothing__is_closed_after_the_header_deadline(serve):
    served = await serve(Limits(header_timeout=0.3))

    reader, writer = await connect(served)

    assert (await to_the_end(reader)).startswith(b"HTTP/1.1 408 Request Timeout")
    await until(lambda: len(served.table) == 0)
    writer.close()


async def test_connection__headers_trickling_in__get_a_408_and_are_closed(serve):
    served = await serve(Limits(header_timeout=0.3))
    reader, writer = await connect(served)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")

    # When a header line comes every 50 ms, never ending
    sending = asyncio.create_task(trickle(writer, b"X-Slow: 1\r\n", 0.05))

    # Then the deadline runs from the connection's start, however much keeps coming
    assert (await to_the_end(reader)).startswith(b"HTTP/1.1 408")
    await sending
    writer.close()


async def test_connection__body_slower_than_the_minimum_rate__is_cut_off_quietly(serve, caplog):
    served = await serve(Limits(body_timeout=0.3, body_min_rate=500))
    reader, writer = await connect(served)
    writer.write(b"POST /inbox HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + AS2.encode()
                 + b"\r\nContent-Length: 5000\r\n\r\n")

    # When the body comes at 200 bytes a second
    with caplog.at_level(logging.INFO):
        sending = asyncio.create_task(trickle(writer, b"x" * 10, 0.05))
        answer = await to_the_end(reader)
        await sending
        await until(lambda: len(served.table) == 0)

    # Then the connection is closed, and the inbox, which was reading the body, says so in
    # one line, not an error
    assert answer == b""
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in caplog.records if r.name == "commonsfed.web.middlewares"] == [
        "POST /inbox: the client hung up before the answer"
    ]
    writer.close()


async def test_connection__body_at_a_steady_rate__goes_through_past_the_base_deadline(serve):
    served = await serve(Limits(body_timeout=0.2, body_min_rate=500))
    reader, writer = await connect(served)
    body = b" " * 3000  # whitespace: the inbox reads it all, then finds no JSON object in it
    writer.write(b"POST /inbox HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: "
                 + AS2.encode() + b"\r\nContent-Length: 3000\r\n\r\n")

    # When the body takes 0.5 s, at 6,000 bytes a second
    for start in range(0, 3000, 300):
        writer.write(body[start : start + 300])
        await writer.drain()
        await asyncio.sleep(0.05)

    # Then it is read and answered
    assert (await to_the_end(reader)).startswith(b"HTTP/1.1 400")
    writer.close()


async def test_connection__kept_alive__idles_freely_then_gets_a_new_header_deadline(serve):
    served = await serve(Limits(header_timeout=0.3))
    reader, writer = await connect(served)
    request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"

    writer.write(request)
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    await until(lambda: served.table.stages() == {"idle": 1})

    # When the client keeps the connection idle longer than the header deadline, then
    # starts a request it never finishes
    await asyncio.sleep(0.5)
    writer.write(b"GET /healthz HTTP/1.1\r\n")

    # Then only the unfinished request is timed out
    rest = await to_the_end(reader)
    assert b"HTTP/1.1 408" in rest
    writer.close()


# --- caps ------------------------------------------------------------------------------


async def test_table__at_the_cap__the_longest_waiting_connection_makes_room(serve):
    served = await serve(Limits(max_connections=3))
    silent = [await connect(served) for _ in range(3)]
    await until(lambda: len(served.table) == 3)

    # When a fourth client asks for /healthz
    status = await get_status(served)

    # Then it is answered, and the oldest silent connection was closed to make room
    assert status == 200
    assert await to_the_end(silent[0][0]) == b""
    assert not silent[1][0].at_eof() and not silent[2][0].at_eof()
    for _, writer in silent:
        writer.close()


async def test_table__every_connection_in_a_request__turns_a_new_one_away(serve):
    served = await serve(Limits(max_connections=2))
    uploads = [await connect(served) for _ in range(2)]
    for _, writer in uploads:
        writer.write(b"POST /inbox HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + AS2.encode()
                     + b"\r\nContent-Length: 100\r\n\r\n" + b" " * 10)
    await until(lambda: served.table.stages() == {BODY: 2})

    # When a third connects
    reader, writer = await connect(served)

    # Then it is closed at once, and the two uploads go on
    assert await to_the_end(reader) == b""
    assert served.table.stages() == {BODY: 2}
    for _, upload in uploads + [(None, writer)]:
        upload.close()


async def test_table__per_address_cap__makes_room_among_that_address_only(serve):
    # Given at most 2 connections from one address, loopback included for this test
    served = await serve(Limits(per_address=2), uncapped=lambda address: False)
    crowd = [await connect(served, "127.0.0.2") for _ in range(2)]
    neighbour = await connect(served, "127.0.0.3")
    await until(lambda: len(served.table) == 3)

    # When the crowded address asks for something more
    status = await get_status(served, source="127.0.0.2")

    # Then its own oldest waiting connection made room, and no one else's
    assert status == 200
    assert await to_the_end(crowd[0][0]) == b""
    assert not crowd[1][0].at_eof() and not neighbour[0].at_eof()
    for _, writer in crowd + [neighbour]:
        writer.close()


async def test_table__loopback__is_not_capped_per_address(serve):
    # Given a cap of 1 per address, and a proxy on this machine (loopback)
    served = await serve(Limits(per_address=1))
    proxied = [await connect(served) for _ in range(3)]

    # Then all its connections are held
    await until(lambda: len(served.table) == 3)
    assert await get_status(served) == 200
    assert not any(reader.at_eof() for reader, _ in proxied)
    for _, writer in proxied:
        writer.close()


# --- the access log --------------------------------------------------------------------


async def test_access_log__one_line_per_request_without_the_query_string(serve, caplog):
    served = await serve(Limits())

    with caplog.at_level(logging.INFO, logger="commonsfed.access"):
        assert await get_status(served, "/healthz?token=s3cret") == 200
        assert await get_status(served, "/no/such/page?code=abc") == 404
        await until(lambda: len(caplog.records) >= 2)

    lines = [r.getMessage() for r in caplog.records if r.name == "commonsfed.access"]
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        "GET /healthz 200", "GET /no/such/page 404"
    ]
    assert all(line.endswith("ms") for line in lines)
    assert "s3cret" not in caplog.text and "abc" not in caplog.text


async def test_access_log__off__logs_no_line(serve, caplog):
    served = await serve(Limits(), access_log_on=False)

    with caplog.at_level(logging.INFO, logger="commonsfed.access"):
        assert await get_status(served) == 200

    assert not [r for r in caplog.records if r.name == "commonsfed.access"]
