"""The streaming API: `/api/v1/streaming` over a WebSocket, as Mastodon serves it.

A socket names its first stream in the query (`stream=public:local`, `stream=hashtag&tag=
tools`) or none, and subscribes and unsubscribes on the open socket with JSON messages
(`{"type": "subscribe", "stream": "hashtag", "tag": "tools"}`). Events go out as Mastodon
sends them: `{"stream": ["public:local"], "event": "update", "payload": "<Status JSON as a
string>"}`, `status.update` (the same payload) for an edited one, `delete` with the
status id as payload, and on the `user` stream `notification`.

The token comes in the `Authorization` header, the `access_token` query parameter, or the
`Sec-WebSocket-Protocol` header (browsers cannot set headers on a WebSocket, and Mastodon
accepts it there; the answer then names the same protocol, as browsers require). A bad
token is a 401 before the upgrade. Public streams are open without a token, as the public
timelines are.

Events reach the process through services.streaming's LISTEN; each socket asks, for its own
viewer, whether each of its streams shows the status (services.timelines.shows: the same
question a page of that timeline answers, blocks and moderation included) and renders it
with api.render.statuses_json.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from commonsfed.api.auth import CLIENT
from commonsfed.api.errors import UNAUTHORIZED, ApiError
from commonsfed.api.stream_events import StreamError, outgoing, stream_key
from commonsfed.db.pool import DATABASE_ERRORS
from commonsfed.models import Account
from commonsfed.services import oauth
from commonsfed.services.oauth import Client
from commonsfed.services.streaming import Hub, Subscriber
from commonsfed.web.keys import POOL, SETTINGS

log = logging.getLogger(__name__)

HUB = web.AppKey("streaming_hub", Hub)
SOCKETS = web.AppKey("streaming_sockets", set)
EVENT_STREAMS = web.AppKey("streaming_event_streams", set)
TOO_SLOW = 1013  # RFC 6455 "try again later": the socket fell too far behind
HEARTBEAT = 30.0  # seconds between pings, so proxies keep an idle socket open


def setup(app: web.Application) -> None:
    """The hub (its LISTEN starts with the first socket) and a clean close on shutdown."""
    app[SOCKETS] = set()
    app[EVENT_STREAMS] = set()
    app.cleanup_ctx.append(_hub)
    app.on_shutdown.append(_close_sockets)


async def _hub(app: web.Application) -> AsyncIterator[None]:
    app[HUB] = hub = Hub(app[SETTINGS].direct_url)  # LISTEN: never through a pooler
    yield
    await hub.close()


async def _close_sockets(app: web.Application) -> None:
    for task in list(app[EVENT_STREAMS]):
        task.cancel()  # ends the response: the app reconnects to another process
    for ws in list(app[SOCKETS]):
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


async def health(request: web.Request) -> web.Response:
    """Mastodon's streaming server answers this; some apps check it before connecting."""
    return web.Response(text="OK")


# --- the socket --------------------------------------------------------------------------------


async def stream(request: web.Request) -> web.StreamResponse:
    reader, protocol = await _authenticate(request)
    first = None
    if request.query.get("stream"):
        try:
            first = stream_key(request.query["stream"], request.query.get("tag"), reader)
        except StreamError as error:
            raise ApiError(error.status, error.message) from None
    ws = web.WebSocketResponse(protocols=(protocol,) if protocol else (), heartbeat=HEARTBEAT)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "Connect with a WebSocket")
    subscriber = Subscriber(reader, on_overflow=lambda: _close_soon(request.app, ws))
    if first:
        subscriber.streams.add(first)
    await _serve(request, ws, subscriber)
    return ws


async def _authenticate(request: web.Request) -> tuple[Account | None, str | None]:
    """The socket's resident, and the token when it came as the WebSocket protocol."""
    client: Client | None = request.get(CLIENT)
    protocol = None
    offered = request.headers.get("Sec-WebSocket-Protocol", "").strip()
    if client is None and offered and "," not in offered:
        client = await oauth.client_of(request.app[POOL], offered)
        if client is None:
            raise ApiError(401, UNAUTHORIZED)
        protocol = offered
    if client is None or client.account is None:
        return None, protocol
    readable = oauth.grants(client.scopes, "read:statuses")
    return (client.account if readable else None), protocol


async def _serve(request: web.Request, ws: web.WebSocketResponse, subscriber: Subscriber) -> None:
    """Listen before the upgrade: once an app's socket is open, it hears what comes next."""
    app = request.app
    await app[HUB].add(subscriber)
    sender = None
    try:
        await ws.prepare(request)
        app[SOCKETS].add(ws)
        sender = asyncio.create_task(_send_events(app, ws, subscriber))
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await _command(ws, subscriber, message.data)
    finally:
        app[HUB].remove(subscriber)
        app[SOCKETS].discard(ws)
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender


def _close_soon(app: web.Application, ws: web.WebSocketResponse) -> None:
    """Close a socket that fell behind, without waiting for it (it is slow)."""
    task = asyncio.get_running_loop().create_task(
        ws.close(code=TOO_SLOW, message=b"too far behind: reconnect")
    )
    app[SOCKETS].discard(ws)
    task.add_done_callback(lambda done: done.cancelled() or done.exception())


async def _command(ws: web.WebSocketResponse, subscriber: Subscriber, text: str) -> None:
    """A subscribe or unsubscribe message; anything else gets an error event."""
    try:
        data = orjson.loads(text)
        kind, name = data["type"], data["stream"]
        key = stream_key(str(name), data.get("tag"), subscriber.viewer)
    except (ValueError, KeyError, TypeError):
        await ws.send_str(_error(400, 'Expected {"type": ..., "stream": ...}'))
        return
    except StreamError as error:
        await ws.send_str(_error(error.status, error.message))
        return
    if kind == "subscribe":
        subscriber.streams.add(key)
    elif kind == "unsubscribe":
        subscriber.streams.discard(key)
    else:
        await ws.send_str(_error(400, "Unknown type: subscribe or unsubscribe"))


def _error(status: int, message: str) -> str:
    return orjson.dumps({"error": message, "status": status}).decode()


# --- events ------------------------------------------------------------------------------------


async def _send_events(app: web.Application, ws: web.WebSocketResponse, sub: Subscriber) -> None:
    while not ws.closed:
        event = await sub.queue.get()
        try:
            async with app[POOL].acquire() as conn:
                messages = await outgoing(app, conn, sub, event)
        except DATABASE_ERRORS as exc:
            log.warning("streaming: event %s not sent: %s", event, exc)
            continue
        for message in messages:
            try:
                await ws.send_str(message.as_json())
            except (ConnectionError, RuntimeError):
                return


# --- server-sent events ---------------------------------------------------------------------


async def event_stream(request: web.Request) -> web.StreamResponse:
    """The same streams as server-sent events, at Mastodon's older paths
    (`/api/v1/streaming/public/local`, `/hashtag?tag=tools`, `/user`): one stream each,
    `event: update` and `data: <payload>` per event, a `:thump` comment while idle."""
    reader, _ = await _authenticate(request)
    name = request.match_info["stream"].replace("/", ":")
    try:
        key = stream_key(name, request.query.get("tag"), reader)
    except StreamError as error:
        raise ApiError(error.status, error.message) from None
    task = asyncio.current_task()
    assert task is not None
    subscriber = Subscriber(reader, {key}, on_overflow=task.cancel)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    app = request.app
    await app[HUB].add(subscriber)
    app[EVENT_STREAMS].add(task)
    try:
        await response.prepare(request)
        # a first comment at once, as Mastodon's streaming server sends one: aiohttp holds
        # the headers back until the body's first bytes, and clients wait for the headers
        await response.write(b":)\n\n")
        await _send_event_stream(app, response, subscriber)
    finally:
        app[HUB].remove(subscriber)
        app[EVENT_STREAMS].discard(task)
    return response


async def _send_event_stream(
    app: web.Application, response: web.StreamResponse, sub: Subscriber
) -> None:
    while True:
        try:
            event = await asyncio.wait_for(sub.queue.get(), HEARTBEAT)
        except TimeoutError:
            await response.write(b":thump\n\n")
            continue
        try:
            async with app[POOL].acquire() as conn:
                messages = await outgoing(app, conn, sub, event)
        except DATABASE_ERRORS as exc:
            log.warning("streaming: event %s not sent: %s", event, exc)
            continue
        for message in messages:
            await response.write(f"event: {message.event}\ndata: {message.payload}\n\n".encode())
