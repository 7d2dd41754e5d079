"""Statuses: a listing (here or from another node) by id."""

from __future__ import annotations

from aiohttp import web

from commonsfed.api import entities
from commonsfed.api.auth import viewer
from commonsfed.api.errors import not_found
from commonsfed.api.params import path_id
from commonsfed.services import statuses
from commonsfed.web.keys import POOL, SETTINGS


async def get_status(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    view = await statuses.status_by_id(
        request.app[POOL], settings, path_id(request), viewer(request, "read:statuses")
    )
    if view is None:
        raise not_found()
    return web.json_response(entities.status(view, settings))
