"""What apps read when they start: valid answers for everything they ask, real where the
node has something (preferences, markers), empty where it has nothing of the kind (custom
emojis, filters, lists, announcements, trends). Each asks for the scope Mastodon asks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from commonsfed.api import entities
from commonsfed.api.auth import require_user
from commonsfed.api.params import read_params
from commonsfed.services import markers
from commonsfed.web.keys import POOL

Handler = Callable[[web.Request], Awaitable[web.Response]]


def empty_list(scope: str | None = None) -> Handler:
    """An endpoint with nothing in it here: for everyone, or for a resident whose token
    has `scope`."""

    async def handler(request: web.Request) -> web.Response:
        if scope is not None:
            require_user(request, scope)
        return web.json_response([])

    return handler


async def preferences(request: web.Request) -> web.Response:
    require_user(request, "read:accounts")
    return web.json_response({
        "posting:default:visibility": "public",
        "posting:default:sensitive": False,
        "posting:default:language": None,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
    })  # fmt: skip


async def get_markers(request: web.Request) -> web.Response:
    account = require_user(request, "read:statuses")
    params = await read_params(request)
    found = await markers.markers(request.app[POOL], account, params.list("timeline"))
    return web.json_response({marker.timeline: entities.marker(marker) for marker in found})


async def save_markers(request: web.Request) -> web.Response:
    account = require_user(request, "write:statuses")
    params = await read_params(request)
    positions = {}
    for timeline in markers.TIMELINES:
        nested = params.raw(timeline)  # JSON: {"home": {"last_read_id": "..."}}
        value = nested.get("last_read_id") if isinstance(nested, dict) else None
        value = value or params.get(f"{timeline}[last_read_id]")  # a form
        if value is not None:
            positions[timeline] = str(value)
    saved = await markers.save_markers(request.app[POOL], account, positions)
    return web.json_response({marker.timeline: entities.marker(marker) for marker in saved})
