"""The connections of `serve`: deadlines for slow senders, and caps on how many are held.

aiohttp reads a request's headers and body with no deadline of its own (its keep-alive
timeout, an hour by default, closes only a connection left idle between requests), so a
client that sends a byte now and then holds a connection, and a file descriptor, as long as
it likes. A thousand such clients exhaust a process limited to 1,024 open files; asyncio's
accept loop then fails with EMFILE and no one gets in, /healthz included.

So each connection is aiohttp's own protocol (`web.RequestHandler`), with deadlines in the
manner of Apache's mod_reqtimeout:

- headers: the request line and headers must be in `header_timeout` seconds after the
  connection opened (on a kept-alive connection, after the first byte of the next request);
  past it the client gets a 408 and the connection is closed;
- body: `body_timeout` seconds, plus one second for every `body_min_rate` bytes received, so
  a slow but steady upload goes through and a trickle is cut off.

`ConnectionTable` caps the connections held at once, in all (under the open-file limit, with
room left for the database pool, outgoing HTTP and files) and from one client address. At a
cap, the connection that has waited longest without a request in progress (still sending
its headers, or idle between requests) is closed to make room; only when every connection
is in the middle of a request is the new one turned away. So while a thousand slow senders
are held, a real request such as a load balancer's /healthz still gets in: it pushes the
oldest of them out.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from commonsfed.config import Settings

log = logging.getLogger(__name__)

# Open files kept out of the connections' share: asyncio accepts up to the listen backlog
# (128) in one go before any of them is counted here, the HTTP client opens up to 100,
# the database pool 10, and photos, templates and logs need some.
RESERVED_FILES = 300
BODY_MIN_RATE = 500  # bytes a second, as mod_reqtimeout's default MinRate

# What a connection is doing, as far as its deadlines and the caps are concerned.
HEADERS = "headers"  # waiting for a request's headers (from the first byte on a kept-alive one)
BODY = "body"  # the handler runs and the request's body is still coming
BUSY = "busy"  # the handler runs, the body is in (or there is none)
IDLE = "idle"  # kept alive between requests: aiohttp's keep-alive timeout applies

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


@dataclass(frozen=True)
class Limits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    body_min_rate: int = BODY_MIN_RATE
    max_connections: int = 1024 - RESERVED_FILES
    per_address: int = 64  # 0: no cap

    @classmethod
    def from_settings(cls, settings: Settings, open_files: int | None) -> Limits:
        room = max_connections_for(open_files)
        wanted = settings.max_connections or room
        if wanted > room:
            log.warning(
                "max connections %d is more than the open-file limit (%s) leaves room for: "
                "using %d; raise the limit (LimitNOFILE in the systemd unit) to hold more",
                wanted, open_files, room,
            )  # fmt: skip
        return cls(
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            max_connections=min(wanted, room),
            per_address=settings.connections_per_address,
        )


def max_connections_for(open_files: int | None) -> int:
    """The connections a process with this open-file limit can hold (None: unknown)."""
    if open_files is None:
        return 1024 - RESERVED_FILES
    return max(open_files - RESERVED_FILES, open_files // 4)


def is_loopback(address: str) -> bool:
    """A proxy on this machine, which speaks for every client (as `views.client_address`
    trusts its X-Forwarded-For): never capped per address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return (mapped or ip).is_loopback


class ConnectionTable:
    """The connections one `serve` process holds, and the caps on them."""

    def __init__(self, limits: Limits, *, uncapped: Callable[[str], bool] = is_loopback) -> None:
        self.limits = limits
        self._uncapped = uncapped  # addresses with no per-address cap
        self._open: set[GuardedConnection] = set()
        # connections with no request in progress, the one waiting longest first
        self._waiting: dict[GuardedConnection, None] = {}
        self._by_address: Counter[str] = Counter()
        self.closed = _Tally()

    def __len__(self) -> int:
        return len(self._open)

    def stages(self) -> Counter[str]:
        """How many connections are at each stage (HEADERS, BODY, BUSY, IDLE)."""
        return Counter(conn.stage for conn in self._open)

    def admit(self, conn: GuardedConnection) -> bool:
        """Count a new connection in, making room if a cap is reached; False: turn it away."""
        cap = self.limits.per_address
        if cap and not self._uncapped(conn.address) and self._by_address[conn.address] >= cap:
            if not self._make_room(conn.address):
                self.closed.add(f"turned away ({cap} from one address)")
                return False
        if len(self._open) >= self.limits.max_connections:
            if not self._make_room(None):
                self.closed.add(f"turned away (all {self.limits.max_connections} busy)")
                return False
        self._open.add(conn)
        self._by_address[conn.address] += 1
        return True

    def moved(self, conn: GuardedConnection) -> None:
        """`conn` changed stage: a connection waiting for a request goes to the back of the
        line, one with a request in progress leaves it."""
        self._waiting.pop(conn, None)
        if conn in self._open and conn.stage in (HEADERS, IDLE):
            self._waiting[conn] = None

    def forget(self, conn: GuardedConnection) -> None:
        if conn not in self._open:
            return
        self._open.discard(conn)
        self._waiting.pop(conn, None)
        self._by_address[conn.address] -= 1
        if not self._by_address[conn.address]:
            del self._by_address[conn.address]

    def _make_room(self, address: str | None) -> bool:
        """Close the connection (of `address`, or any) that has waited longest for a
        request; False when every one has a request in progress."""
        for conn in self._waiting:
            if address is None or conn.address == address:
                self.forget(conn)  # now: its connection_lost comes a loop iteration later
                conn.force_close()
                self.closed.add("closed to make room for a new one")
                return True
        return False


class _Tally:
    """Counts closed connections by reason and logs them: the first at once, then at most
    a line a minute (a thousand slow senders would otherwise be a thousand lines)."""

    EVERY = 60.0

    def __init__(self) -> None:
        self._unlogged: Counter[str] = Counter()
        self._next_log = 0.0

    def add(self, reason: str) -> None:
        self._unlogged[reason] += 1
        now = time.monotonic()
        if now >= self._next_log:
            self._next_log = now + self.EVERY
            summary = ", ".join(f"{count} {why}" for why, count in self._unlogged.items())
            log.info("connections: %s", summary)
            self._unlogged.clear()


class GuardedConnection(web.RequestHandler):
    """aiohttp's protocol for one HTTP connection, under a table's caps and deadlines.

    Made by the factory `serving` hands to `loop.create_server`, with the same arguments
    aiohttp's own `web.Server` would pass, plus the table.
    """

    def __init__(
        self,
        manager: web.Server,
        *,
        loop: asyncio.AbstractEventLoop,
        table: ConnectionTable,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, loop=loop, **kwargs)
        self._clock = loop
        self.table = table
        self.limits = table.limits
        self.address = ""
        self.stage = HEADERS
        self._since = 0.0  # loop time the stage began
        self._received = 0  # body bytes received since then
        self._body: Any = None  # the request's StreamReader while in BODY
        self._handler: asyncio.Task[Any] | None = None  # the request's, while in BODY or BUSY
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) else ""
        if not self.table.admit(self):
            self.force_close()
            return
        self._enter(HEADERS)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_timer()
        self.table.forget(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.stage == IDLE and data:
            self._enter(HEADERS)  # the next request on a kept-alive connection
        super().data_received(data)
        if self.stage == BODY:
            self._received += len(data)
            if self._body.is_eof():
                self._enter(BUSY)

    async def _handle_request(self, request: web.BaseRequest, *args: Any) -> Any:
        # aiohttp (3.8 to 3.14 at least) calls this private method once a request's headers
        # are parsed and returns from it once the response is sent: the one place that sees
        # both ends of a request. The arguments go through untouched.
        self._body = request.content
        self._handler = asyncio.current_task()
        self._enter(BUSY if request.content.is_eof() else BODY)
        try:
            return await super()._handle_request(request, *args)
        finally:
            self._body = None
            self._handler = None
            if self.transport is not None:
                self._enter(IDLE)

    async def shutdown(self, timeout: float | None = 15.0) -> None:  # noqa: ASYNC109 (aiohttp's)
        """aiohttp's, which lets a request in flight finish within `timeout`, then cancels
        it; but a request whose client hung up it has forgotten (the handler goes on, as
        handler_cancellation is off), so that one is cancelled here: the node is stopping,
        and it would hold its database connection to the end."""
        await super().shutdown(timeout)
        handler = self._handler
        if handler is not None and not handler.done():
            handler.cancel()
            await asyncio.wait({handler}, timeout=timeout)

    def _enter(self, stage: str) -> None:
        self.stage = stage
        self._since = self._clock.time()
        self._received = 0
        self.table.moved(self)
        self._stop_timer()
        if stage in (HEADERS, BODY):
            self._timer = self._clock.call_at(self._deadline(), self._check_deadline)

    def _deadline(self) -> float:
        if self.stage == HEADERS:
            return self._since + self.limits.header_timeout
        allowed = self.limits.body_timeout + self._received / self.limits.body_min_rate
        return self._since + allowed

    def _check_deadline(self) -> None:
        self._timer = None
        if self.stage not in (HEADERS, BODY) or self.transport is None:
            return
        deadline = self._deadline()
        if self._clock.time() < deadline:  # more of the body came meanwhile
            self._timer = self._clock.call_at(deadline, self._check_deadline)
            return
        if self.stage == HEADERS:
            self.transport.write(_TIMED_OUT)  # flushed before the close below
            self.table.closed.add(f"too slow with headers ({self.limits.header_timeout:g} s)")
        else:
            self.table.closed.add("too slow with a body")
        self.force_close()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
