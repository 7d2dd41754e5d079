"""Running `commonsfed serve`: the listening sockets, the connections, the access log, and a
stop that takes seconds.

aiohttp's `web.run_app` does most of this, but not all of what a node exposed to the
Internet needs, so the same pieces (`web.AppRunner`, `loop.create_server`) are put
together here:

- the sockets are bound first, before the database starts, so that a port in use or an
  address this machine does not have is one line (`ListenError`) and nothing to undo;
- connections are `connections.GuardedConnection`s: deadlines for slow senders, caps;
- one access log line per request (`AccessLog`), unless settings turn it off;
- SIGTERM (or SIGINT, or for `serve --processes` the parent's pipe: see
  `commonsfed.processes`) stops the node in a few seconds whatever it is doing, where
  run_app gives requests in flight 60 s: requests get `REQUEST_GRACE` to finish, the
  in-process workers about as long (`federation.workers`), the pool `db.pool.CLOSE_TIMEOUT`;
  what is still running then is abandoned (claimed queue items go back when their leases
  run out). A second signal ends the process at once.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import signal
import socket
from collections.abc import Awaitable
from typing import Protocol

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from commonsfed import event_loop
from commonsfed.config import Settings
from commonsfed.connections import ConnectionTable, GuardedConnection, Limits

log = logging.getLogger(__name__)
access_log = logging.getLogger("commonsfed.access")

BACKLOG = 128  # aiohttp's default; connections.RESERVED_FILES counts on it
# aiohttp's shutdown_timeout: a request in flight gets this long to finish, then as long
# again to end once cancelled. aiohttp's own default is 60 s.
REQUEST_GRACE = 1.5
# The whole stop never takes longer than this, even if some part does not end by itself.
STOP_TIMEOUT = 8.0
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ListenError(Exception):
    """The node cannot listen where its settings say; `bad_host`: the address itself is
    wrong for this machine (a bad setting), else the port cannot be had."""

    def __init__(self, message: str, *, bad_host: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.bad_host = bad_host


def listen(host: str, port: int, *, reuse_port: bool = False) -> list[socket.socket]:
    """Sockets bound and listening on every address `host` names (a name may have an IPv4
    and an IPv6 one), as asyncio's create_server would make them. `reuse_port`: with
    SO_REUSEPORT, so that several processes of this user listen on the one port, each with
    a socket of its own, and Linux spreads new connections among them (`serve --processes`)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {host}: {exc.strerror}", bad_host=True) from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:  # as asyncio: IPv6 only, IPv4 has its own socket
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            _bind(sock, address, host, port)
    except ListenError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _bind(sock: socket.socket, address: tuple, host: str, port: int) -> None:
    try:
        sock.bind(address)
        # now, not when the node has started: with SO_REUSEADDR two processes may bind the
        # same port, and only the first listen() tells them apart
        sock.listen(BACKLOG)
    except OSError as exc:
        where = f"{host}:{port}"
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ListenError(f"{host} is not an address of this machine", bad_host=True) from None
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(f"cannot listen on {where}: another program uses the port") from None
        if exc.errno == errno.EACCES:
            raise ListenError(
                f"cannot listen on {where}: permission denied (ports below 1024 need privileges)"
            ) from None
        raise ListenError(f"cannot listen on {where}: {exc.strerror or exc}") from None


class AccessLog(AbstractAccessLogger):
    """One line per request: method, path, status, time taken. Never the query string,
    which may carry a token, nor the client's address."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = request.rel_url.raw_path  # still percent-encoded: no line breaks in the log
        self.logger.info("%s %s %d %.1fms", request.method, path, response.status, time * 1000)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def open_file_limit() -> int | None:
    try:
        import resource  # not on Windows
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def serve(
    app: web.Application,
    settings: Settings,
    sockets: list[socket.socket],
    stop_when: HasFileno | None = None,
) -> None:
    """Serve `app` on `sockets` (from `listen`) until SIGTERM or SIGINT, or until
    `stop_when` (the read end of a pipe) can be read: its other end was closed, because
    the parent of `serve --processes` asks its children to stop, or because it died."""
    event_loop.run(_serve(app, settings, sockets, stop_when))


class HasFileno(Protocol):
    def fileno(self) -> int: ...


async def _serve(
    app: web.Application,
    settings: Settings,
    sockets: list[socket.socket],
    stop_when: HasFileno | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    stopping = _stop_on_signals(loop)
    if stop_when is not None:
        _stop_when_readable(loop, stop_when.fileno(), stopping)
    table = ConnectionTable(Limits.from_settings(settings, open_file_limit()))
    runner = web.AppRunner(
        app, shutdown_timeout=REQUEST_GRACE, **access_log_args(settings.access_log)
    )
    servers: list[asyncio.Server] = []
    try:
        if not await unless_stopped(stopping, runner.setup()):
            return
        servers = await start_servers(runner, sockets, table, access_log_on=settings.access_log)
        event_loop.freeze_start_objects()
        per_address = table.limits.per_address or "no cap"
        log.info(
            "ready: at most %d connections, %s from one address (loopback: no cap)",
            table.limits.max_connections,
            per_address,
        )
        await stopping.wait()
        log.info("stopping")
    finally:
        for server in servers:
            server.close()
        await _clean_up(runner)
        for signum in _SIGNALS:
            loop.remove_signal_handler(signum)
        if stop_when is not None:
            loop.remove_reader(stop_when.fileno())


def _stop_when_readable(loop: asyncio.AbstractEventLoop, fd: int, stopping: asyncio.Event) -> None:
    def readable() -> None:
        loop.remove_reader(fd)  # once: a closed pipe stays readable, which would spin
        stopping.set()

    loop.add_reader(fd, readable)


def access_log_args(on: bool) -> dict:
    """The access log arguments of aiohttp's protocol (and of its runner)."""
    return {"access_log_class": AccessLog, "access_log": access_log if on else None}


async def start_servers(
    runner: web.AppRunner,
    sockets: list[socket.socket],
    table: ConnectionTable,
    *,
    access_log_on: bool = True,
) -> list[asyncio.Server]:
    """Accept connections on `sockets` for `runner`'s app (set up), each a
    `GuardedConnection` counted in `table`. aiohttp's sites would make each an
    unguarded `web.RequestHandler`, so this is their `loop.create_server` with our
    protocol, made with the same arguments."""
    loop = asyncio.get_running_loop()
    factory = functools.partial(
        GuardedConnection, runner.server, loop=loop, table=table, **access_log_args(access_log_on)
    )
    return [await loop.create_server(factory, sock=sock, backlog=BACKLOG) for sock in sockets]


def _stop_on_signals(loop: asyncio.AbstractEventLoop) -> asyncio.Event:
    """An event set by the first SIGINT or SIGTERM. The handlers are then removed, so a
    second signal has its usual effect: the process ends at once."""
    stopping = asyncio.Event()

    def stop() -> None:
        stopping.set()
        for signum in _SIGNALS:
            loop.remove_signal_handler(signum)

    for signum in _SIGNALS:
        loop.add_signal_handler(signum, stop)
    return stopping


async def unless_stopped(stopping: asyncio.Event, work: Awaitable[None]) -> bool:
    """Run `work` (the node's start: pool, keys, workers); a signal meanwhile cancels it,
    as a database that does not answer could keep it waiting. False when stopped."""
    task = asyncio.ensure_future(work)
    signalled = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, signalled}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        signalled.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
    if task.cancelled():
        return False
    task.result()  # its error, if it failed
    return True


async def _clean_up(runner: web.AppRunner) -> None:
    """aiohttp's cleanup: requests in flight get REQUEST_GRACE, then the app's cleanup
    contexts stop the workers and close the HTTP client and the pool, each bounded."""
    try:
        async with asyncio.timeout(STOP_TIMEOUT):
            await runner.cleanup()
    except TimeoutError:
        log.warning("the node did not stop cleanly in %g s; leaving the rest", STOP_TIMEOUT)
