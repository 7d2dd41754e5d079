"""The streaming API: `/api/v1/streaming` over a WebSocket, as Mastodon serves it.

A socket names its first stream in the query (`stream=public:local`, `stream=hashtag&tag=
tools`) or none, and subscribes and unsubscribes on the open socket with JSON messages
(`{"type": "subscribe", "stream": "hashtag", "tag": "tools"}`). Events go out as Mastodon
sends them: `{"stream": ["public:local"], "event": "update", "payload": "<Status JSON as a
string>"}`, `delete` with the status id as payload, and on the `user` stream `notification`.

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
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from commonsfed.api.auth import CLIENT
from commonsfed.api.errors import UNAUTHORIZED, ApiError
from commonsfed.api.render import statuses_json
from commonsfed.config import Settings
from commonsfed.db.pool import DATABASE_ERRORS
from commonsfed.models import Account
from commonsfed.services import oauth, timelines
from commonsfed.services.oauth import Client
from commonsfed.services.streaming import Event, Hub, Subscriber
from commonsfed.services.timelines import Timeline
from commonsfed.web.keys import POOL, SETTINGS

log = logging.getLogger(__name__)

NotificationRenderer = Callable[
    [asyncpg.Connection, Settings, Account, int], Awaitable[dict[str, Any] | None]
]
HUB = web.AppKey("streaming_hub", Hub)
SOCKETS = web.AppKey("streaming_sockets", set)
NOTIFICATIONS = web.AppKey("streaming_notification_renderer", list)
TOO_SLOW = 1013  # RFC 6455 "try again later": the socket fell too far behind
HEARTBEAT = 30.0  # seconds between pings, so proxies keep an idle socket open

# stream -> the timeline it follows (None: notifications only)
STREAMS: dict[str, Timeline | None] = {
    "user": timelines.HOME,
    "user:notification": None,
    "public": timelines.public(),
    "public:media": timelines.public(only_media=True),
    "public:local": timelines.public(local=True),
    "public:local:media": timelines.public(local=True, only_media=True),
    "public:remote": timelines.public(remote=True),
    "public:remote:media": timelines.public(remote=True, only_media=True),
}
HASHTAG_STREAMS = {"hashtag": False, "hashtag:local": True}  # name -> local only
USER_STREAMS = {"user", "user:notification"}


class StreamError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def setup(app: web.Application) -> None:
    """The hub (its LISTEN starts with the first socket) and a clean close on shutdown."""
    app[SOCKETS] = set()
    app[NOTIFICATIONS] = []
    app.cleanup_ctx.append(_hub)
    app.on_shutdown.append(_close_sockets)


def set_notification_renderer(app: web.Application, render: NotificationRenderer) -> None:
    """How the `user` stream renders a `notification` event (services.streaming.
    publish_notification): `render(conn, settings, viewer, notification_id)` gives the
    Notification entity, or None when the viewer may not see it. Until one is set, the
    events are not sent."""
    app[NOTIFICATIONS][:] = [render]


async def _hub(app: web.Application) -> AsyncIterator[None]:
    app[HUB] = hub = Hub(app[SETTINGS].database_url)
    yield
    await hub.close()


async def _close_sockets(app: web.Application) -> None:
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
            first = _stream_key(request.query["stream"], request.query.get("tag"), reader)
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


def _stream_key(name: str, tag: str | None, reader: Account | None) -> tuple[str, str]:
    if name in HASHTAG_STREAMS:
        tag = (tag or "").lstrip("#").strip().lower()
        if not tag:
            raise StreamError(400, "A hashtag stream needs a tag")
        return name, tag
    if name not in STREAMS:
        raise StreamError(400, "Unknown stream type")
    if name in USER_STREAMS and reader is None:
        raise StreamError(401, "Missing access token")
    return name, ""


async def _command(ws: web.WebSocketResponse, subscriber: Subscriber, text: str) -> None:
    """A subscribe or unsubscribe message; anything else gets an error event."""
    try:
        data = orjson.loads(text)
        kind, name = data["type"], data["stream"]
        key = _stream_key(str(name), data.get("tag"), subscriber.viewer)
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
                messages = await _messages(app, conn, sub, event)
        except DATABASE_ERRORS as exc:
            log.warning("streaming: event %s not sent: %s", event, exc)
            continue
        for message in messages:
            try:
                await ws.send_str(message)
            except (ConnectionError, RuntimeError):
                return


def _label(key: tuple[str, str]) -> list[str]:
    return [key[0], key[1]] if key[1] else [key[0]]


def _timeline(key: tuple[str, str]) -> Timeline | None:
    if key[0] in HASHTAG_STREAMS:
        return timelines.tag([key[1]], local=HASHTAG_STREAMS[key[0]])
    return STREAMS[key[0]]


async def _messages(
    app: web.Application, conn: asyncpg.Connection, sub: Subscriber, event: Event
) -> list[str]:
    keys = sorted(sub.streams)
    if event.event == "delete":
        return [_event(key, "delete", str(event.id)) for key in keys if _timeline(key)]
    if event.event == "notification":
        return await _notification(app, conn, sub, event, keys)
    if event.event != "update":
        return []
    settings, rendered, out = app[SETTINGS], None, []
    for key in keys:
        timeline = _timeline(key)
        if timeline is None or not _may_hold(timeline, event.kind):
            continue
        view = await timelines.shows(conn, settings, timeline, sub.viewer, event.id)
        if view is None:
            continue
        if rendered is None:
            [body] = await statuses_json(conn, settings, [view], sub.viewer)
            rendered = orjson.dumps(body).decode()
        out.append(_event(key, "update", rendered))
    return out


def _may_hold(timeline: Timeline, kind: str) -> bool:
    """Whether a status of `kind` can be in `timeline` at all (spares the query)."""
    if kind == "message":
        return timeline.name in ("home", "direct")
    return timeline.local if kind == "local" else timeline.remote


async def _notification(
    app: web.Application, conn: asyncpg.Connection, sub: Subscriber, event: Event,
    keys: list[tuple[str, str]],
) -> list[str]:  # fmt: skip
    viewer = sub.viewer
    wanted = [key for key in keys if key[0] in USER_STREAMS]
    if viewer is None or viewer.id != event.account_id or not wanted or not app[NOTIFICATIONS]:
        return []
    [render] = app[NOTIFICATIONS]
    body = await render(conn, app[SETTINGS], viewer, event.id)
    if body is None:
        return []
    payload = orjson.dumps(body).decode()
    return [_event(key, "notification", payload) for key in wanted]


def _event(key: tuple[str, str], name: str, payload: str) -> str:
    return orjson.dumps({"stream": _label(key), "event": name, "payload": payload}).decode()
