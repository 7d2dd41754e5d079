"""Timelines: home, public, a tag's, the direct messages; lists (which this node has none
of). Each page is newest first, paged with max_id/since_id/min_id and a Link header.

The public and tag timelines are readable without a token, as Mastodon's are unless an
admin closes them; a token with read:statuses reads them as its resident (their blocks,
mutes and hidden domains applied)."""

from __future__ import annotations

from aiohttp import web

from commonsfed.api.auth import require_user, viewer
from commonsfed.api.errors import not_found
from commonsfed.api.paging import PageRequest, page_request, paged_response
from commonsfed.api.params import Params, read_params
from commonsfed.api.render import statuses_json
from commonsfed.db.timelines import Bounds
from commonsfed.models import Account
from commonsfed.services import timelines
from commonsfed.services.timelines import Timeline
from commonsfed.web.keys import POOL, SETTINGS


def bounds(page: PageRequest) -> Bounds:
    """max_id: older than it; min_id: just newer than it, read upwards; since_id: newer
    than it, the newest first."""
    return Bounds(below=page.max_id, above=page.after, limit=page.limit,
                  upwards=page.oldest_first)  # fmt: skip


async def _respond(
    request: web.Request, params: Params, timeline: Timeline, reader: Account | None
) -> web.Response:
    settings = request.app[SETTINGS]
    async with request.app[POOL].acquire() as conn:
        page = await timelines.page(conn, settings, timeline, reader, bounds(page_request(params)))
        body = await statuses_json(conn, settings, page.views, reader)
    return paged_response(request, body, page.views, lambda view: view.id)


async def home(request: web.Request) -> web.Response:
    reader = require_user(request, "read:statuses")
    return await _respond(request, await read_params(request), timelines.HOME, reader)


async def direct(request: web.Request) -> web.Response:
    """Mastodon's direct timeline (removed from its docs, still asked by some apps): the
    messages of the resident's conversations."""
    reader = require_user(request, "read:statuses")
    return await _respond(request, await read_params(request), timelines.DIRECT, reader)


async def public(request: web.Request) -> web.Response:
    params = await read_params(request)
    timeline = timelines.public(
        local=params.bool("local"), remote=params.bool("remote"),
        only_media=params.bool("only_media"),
    )  # fmt: skip
    return await _respond(request, params, timeline, viewer(request, "read:statuses"))


async def tag(request: web.Request) -> web.Response:
    params = await read_params(request)
    names = [request.match_info["hashtag"], *params.list("any")]
    timeline = timelines.tag(
        names, local=params.bool("local"), only_media=params.bool("only_media"),
        all_of=params.list("all"), none_of=params.list("none"),
    )  # fmt: skip
    return await _respond(request, params, timeline, viewer(request, "read:statuses"))


async def list_timeline(request: web.Request) -> web.Response:
    """This node has no lists, so every list id is unknown."""
    require_user(request, "read:lists")
    raise not_found()
