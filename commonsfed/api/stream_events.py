"""What each subscriber of the streaming API is sent for an event: the streams a socket
(or an event stream) may name, and for a status, whether each of its streams shows it to
its viewer (services.timelines.shows: the question a page of that timeline answers, blocks
and moderation included), rendered once with api.render.statuses_json."""

from __future__ import annotations

from typing import NamedTuple

import asyncpg
import orjson
from aiohttp import web

from commonsfed.api.conversations import conversation_json
from commonsfed.api.notifications import notification_json
from commonsfed.api.render import statuses_json
from commonsfed.config import Settings
from commonsfed.models import Account
from commonsfed.services import timelines
from commonsfed.services.statuses import StatusView
from commonsfed.services.streaming import Event, Subscriber
from commonsfed.services.timelines import Timeline
from commonsfed.web.keys import SETTINGS

# stream -> the timeline it follows (None: notifications only)
STREAMS: dict[str, Timeline | None] = {
    "user": timelines.HOME,
    "user:notification": None,
    "direct": timelines.DIRECT,
    "public": timelines.public(),
    "public:media": timelines.public(only_media=True),
    "public:local": timelines.public(local=True),
    "public:local:media": timelines.public(local=True, only_media=True),
    "public:remote": timelines.public(remote=True),
    "public:remote:media": timelines.public(remote=True, only_media=True),
}
HASHTAG_STREAMS = {"hashtag": False, "hashtag:local": True}  # name -> local only
USER_STREAMS = {"user", "user:notification", "direct"}  # a resident's own


class StreamError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Outgoing(NamedTuple):
    """One event for one stream: Mastodon's `event` name and `payload` (a string)."""

    stream: list[str]
    event: str
    payload: str

    def as_json(self) -> str:
        """As a WebSocket message."""
        return orjson.dumps(self._asdict()).decode()


def stream_key(name: str, tag: str | None, reader: Account | None) -> tuple[str, str]:
    """(stream, tag or "") for a stream a subscriber names; StreamError if it cannot."""
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


def _label(key: tuple[str, str]) -> list[str]:
    return [key[0], key[1]] if key[1] else [key[0]]


def _timeline(key: tuple[str, str]) -> Timeline | None:
    if key[0] in HASHTAG_STREAMS:
        return timelines.tag([key[1]], local=HASHTAG_STREAMS[key[0]])
    return STREAMS[key[0]]


async def outgoing(
    app: web.Application, conn: asyncpg.Connection, sub: Subscriber, event: Event
) -> list[Outgoing]:
    """What `sub` is sent for `event`, stream by stream."""
    keys = sorted(sub.streams)
    if event.event == "delete":
        return [_event(key, "delete", str(event.id)) for key in keys if _timeline(key)]
    if event.event == "notification":
        return await _notification(app, conn, sub, event, keys)
    if event.event not in ("update", "status.update"):
        return []
    settings, rendered, out = app[SETTINGS], None, []
    for key in keys:
        timeline = _timeline(key)
        if timeline is None or not _may_hold(timeline, event.kind):
            continue
        if event.event == "status.update" and key[0] == "direct":
            continue  # an edited listing is no conversation's news
        view = await timelines.shows(conn, settings, timeline, sub.viewer, event.id)
        if view is None:
            continue
        if key[0] == "direct" and sub.viewer is not None:
            conversation = await _conversation(conn, settings, sub.viewer, view)
            if conversation is not None:
                out.append(_event(key, "conversation", conversation))
            continue
        if rendered is None:
            [body] = await statuses_json(conn, settings, [view], sub.viewer)
            rendered = orjson.dumps(body).decode()
        # "update" for a new status, "status.update" for an edited one, as Mastodon sends
        out.append(_event(key, event.event, rendered))
    return out


def _may_hold(timeline: Timeline, kind: str) -> bool:
    """Whether a status of `kind` can be in `timeline` at all (spares the query)."""
    if kind == "message":
        return timeline.name in ("home", "direct")
    return timeline.local if kind == "local" else timeline.remote


async def _notification(
    app: web.Application, conn: asyncpg.Connection, sub: Subscriber, event: Event,
    keys: list[tuple[str, str]],
) -> list[Outgoing]:  # fmt: skip
    viewer = sub.viewer
    wanted = [key for key in keys if key[0] in ("user", "user:notification")]
    if viewer is None or viewer.id != event.account_id or not wanted:
        return []
    body = await notification_json(conn, app[SETTINGS], viewer, event.id)
    if body is None:
        return []
    payload = orjson.dumps(body).decode()
    return [_event(key, "notification", payload) for key in wanted]


async def _conversation(
    conn: asyncpg.Connection, settings: Settings, viewer: Account, view: StatusView
) -> str | None:
    """The `direct` stream's payload for a message: its Conversation, as Mastodon sends."""
    if view.conversation_id is None:
        return None
    body = await conversation_json(conn, settings, viewer, view.conversation_id)
    return orjson.dumps(body).decode() if body is not None else None


def _event(key: tuple[str, str], name: str, payload: str) -> Outgoing:
    return Outgoing(_label(key), name, payload)
