"""The inboxes: POST /inbox (shared), /users/<name>/inbox and /actor/inbox.

Thin: read the body under the size cap, hand it to `federation.inbox.receive`, answer 202
or the refusal's status with a short JSON body. The checks themselves, and why they come in
this order, are in `commonsfed/federation/inbox.py`.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from commonsfed.federation import inbox
from commonsfed.services import actors
from commonsfed.web.keys import FEDERATION, METRICS, POOL, SETTINGS
from commonsfed.web.middlewares import for_peers

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_LOGGED_REASON = 200  # a reason may quote a peer's key id or activity id: keep logs short


def peer_error(status: int, message: str, retry_after: int | None = None) -> web.Response:
    """What a peer gets: the status and a short JSON body (the error middleware lets a
    response through untouched), and when to try again if the refusal is for now only."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response({"error": message}, status=status, headers=headers)


async def read_body(request: web.Request) -> bytes:
    """The body, refused with 413 as soon as a chunked one passes the cap."""
    body = bytearray()
    while chunk := await request.content.read(_CHUNK):
        body += chunk
        inbox.check_body_size(len(body))
    return bytes(body)


class Inboxes:
    """The inbox handlers of one node, sharing its key cache and NOTIFY coalescing."""

    def __init__(self) -> None:
        self.state = inbox.NodeInbox()

    @for_peers
    async def shared(self, request: web.Request) -> web.Response:
        return await self._receive(request)

    @for_peers
    async def instance(self, request: web.Request) -> web.Response:
        return await self._receive(request)

    @for_peers
    async def personal(self, request: web.Request) -> web.Response:
        return await self._receive(request, personal=True)

    async def _receive(self, request: web.Request, *, personal: bool = False) -> web.Response:
        """`_accept`, counted and timed for /metrics."""
        started = time.perf_counter()
        outcome, reason = "error", ""
        try:
            response, outcome, reason = await self._accept(request, personal)
            return response
        finally:
            metrics = request.app[METRICS]
            metrics.inbox_requests.labels(outcome, reason).inc()
            metrics.inbox_seconds.labels(outcome).observe(time.perf_counter() - started)

    async def _accept(self, request: web.Request, personal: bool) -> tuple[web.Response, str, str]:
        """The answer, with the outcome and the refusal's reason as /metrics counts them."""
        try:
            if personal:
                await _check_resident(request)
            inbox.check_declared_size(request.content_length)  # before reading any of it
            inbox.check_content_type(request.headers.get("Content-Type"))
            body = await read_body(request)
            signed = inbox.SignedRequest(request.method, request.raw_path, request.headers, body)
            stored = await inbox.receive(request.app[FEDERATION], self.state, signed)
        except inbox.InboxRefused as exc:
            log.info(
                "%s refused with %d: %s", request.path, exc.status, exc.message[:_LOGGED_REASON]
            )
            return peer_error(exc.status, exc.message, exc.retry_after), "refused", exc.reason
        except inbox.Dropped as exc:
            log.info("%s accepted and dropped: %s", request.path, str(exc)[:_LOGGED_REASON])
            return web.Response(status=202), "dropped", ""
        if not stored:
            log.debug("%s: already had this activity", request.path)
        return web.Response(status=202), "accepted" if stored else "duplicate", ""


async def _check_resident(request: web.Request) -> None:
    """A personal inbox's resident must exist (404) and not have left (410)."""
    name = request.match_info["name"]
    try:
        await actors.local_actor(request.app[POOL], request.app[SETTINGS], name)
    except actors.ActorGone as exc:
        raise inbox.InboxRefused(410, str(exc)) from None
    except actors.ActorNotFound as exc:
        raise inbox.InboxRefused(404, str(exc)) from None
