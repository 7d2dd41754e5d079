"""The node as apps see it before anything else: /api/v1/instance and /api/v2/instance,
its rules, its peers, and its weekly activity."""

from __future__ import annotations

from aiohttp import web

from commonsfed.api import entities
from commonsfed.services import instance
from commonsfed.web.keys import POOL, SETTINGS


async def instance_v2(request: web.Request) -> web.Response:
    view = await instance.instance(request.app[POOL], request.app[SETTINGS])
    return web.json_response(entities.instance_v2(view))


async def instance_v1(request: web.Request) -> web.Response:
    view = await instance.instance(request.app[POOL], request.app[SETTINGS])
    return web.json_response(entities.instance_v1(view))


async def rules(request: web.Request) -> web.Response:
    texts = request.app[SETTINGS].rules
    return web.json_response([entities.rule(number, text) for number, text in enumerate(texts, 1)])


async def peers(request: web.Request) -> web.Response:
    return web.json_response(await instance.peers(request.app[POOL]))


async def activity(request: web.Request) -> web.Response:
    # Mastodon may keep this to itself too (an empty list); the node counts no weeks
    return web.json_response([])
