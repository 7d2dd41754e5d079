"""GET /metrics for Prometheus, and the middleware that times every request.

/metrics is for the admin's monitoring, not for the world: it answers a client on this
machine that came straight in (not through a proxy), or one that sends `Authorization:
Bearer <COMMONSFED_METRICS_TOKEN>`. Behind a proxy on the same machine every request comes
from loopback, so a request that carries X-Forwarded-For or Forwarded counts as coming from
outside, wherever the connection came from.

`commonsfed worker` has no web server of its own; with `COMMONSFED_METRICS_PORT` it serves
this same page (`metrics_app`) so its deliveries can be scraped too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import socket
import time
from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from commonsfed.config import Settings
from commonsfed.db import queues
from commonsfed.db.pool import DATABASE_ERRORS
from commonsfed.metrics import Metrics
from commonsfed.web.keys import METRICS, POOL, SETTINGS
from commonsfed.web.middlewares import Handler

_QUEUE_TIMEOUT = 2  # seconds: a scrape waits no longer for the queue counts
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
CLIENT_CLOSED = 499  # as in the access log: the client left before the answer


def refusal(request: web.Request, token: str | None) -> web.Response | None:
    """Why this request may not read the metrics (an answer to send), or None."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, given = header.partition(" ")
        if not token:
            return _refuse(401, "this node has no metrics token (COMMONSFED_METRICS_TOKEN)")
        if scheme.lower() == "bearer" and _same(given.strip(), token):
            return None
        return _refuse(401, "wrong metrics token")
    if _direct_from_loopback(request):
        return None
    if token:
        return _refuse(401, "metrics need Authorization: Bearer <COMMONSFED_METRICS_TOKEN>")
    return _refuse(
        403,
        "metrics are served to this machine only (set COMMONSFED_METRICS_TOKEN to let others in)",
    )


def _same(given: str, token: str) -> bool:
    # constant time: a timing difference must not tell how much of a guess was right
    return hmac.compare_digest(given.encode(), token.encode())


def _direct_from_loopback(request: web.Request) -> bool:
    if any(name in request.headers for name in _PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def _refuse(status: int, message: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="metrics"'} if status == 401 else None
    return web.json_response({"error": message}, status=status, headers=headers)


async def metrics_page(request: web.Request) -> web.Response:
    refused = refusal(request, request.app[SETTINGS].metrics_token)
    if refused is not None:
        return refused
    metrics = request.app[METRICS]
    await read_shared_state(metrics, request.app[POOL])
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def read_shared_state(metrics: Metrics, pool: asyncpg.Pool) -> None:
    """The pool's use, and the queues as PostgreSQL has them now. A database that does not
    answer leaves the queue gauges as they were: the counters are still worth serving."""
    metrics.set_pool(pool.get_size(), pool.get_idle_size(), pool.get_max_size())
    try:
        async with asyncio.timeout(_QUEUE_TIMEOUT), pool.acquire() as conn:
            metrics.set_queues(await queues.queue_depths(conn))
    except DATABASE_ERRORS:
        pass


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request by its route's pattern, never its path (ids in paths
    would make a series apiece). Outermost, so it sees the status that was sent."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = CLIENT_CLOSED
        raise
    finally:
        method = request.method if request.method in _METHODS else "other"
        route = route_label(request)
        metrics = request.app[METRICS]
        metrics.http_requests.labels(method, route, str(status)).inc()
        metrics.http_seconds.labels(method, route).observe(time.perf_counter() - started)


def route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def metrics_app(settings: Settings, pool: asyncpg.Pool, metrics: Metrics) -> web.Application:
    """The worker's web server: /metrics alone."""
    app = web.Application()
    app[SETTINGS], app[POOL], app[METRICS] = settings, pool, metrics
    app.router.add_get("/metrics", metrics_page)
    return app


@contextlib.asynccontextmanager
async def metrics_server(
    settings: Settings, pool: asyncpg.Pool, metrics: Metrics, sockets: list[socket.socket]
) -> AsyncIterator[None]:
    """Serve `metrics_app` on `sockets` (bound already, see `serving.listen`) meanwhile;
    nothing when there are none."""
    if not sockets:
        yield
        return
    runner = web.AppRunner(metrics_app(settings, pool, metrics), access_log=None)
    await runner.setup()
    try:
        for sock in sockets:
            await web.SockSite(runner, sock).start()
        yield
    finally:
        await runner.cleanup()
