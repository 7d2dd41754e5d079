"""Statuses: a listing (here or from another node) by id."""

from __future__ import annotations

from aiohttp import web

from commonsfed.api.auth import viewer
from commonsfed.api.errors import not_found
from commonsfed.api.params import path_id
from commonsfed.api.render import statuses_json
from commonsfed.services import statuses
from commonsfed.web.keys import POOL, SETTINGS


async def get_status(request: web.Request) -> web.Response:
    settings, reader = request.app[SETTINGS], viewer(request, "read:statuses")
    async with request.app[POOL].acquire() as conn:
        status_id = path_id(request)
        view = (await statuses.statuses_by_id(conn, settings, [status_id], reader)).get(status_id)
        if view is None:
            raise not_found()
        [body] = await statuses_json(conn, settings, [view], reader)
    return web.json_response(body)
