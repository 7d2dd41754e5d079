"""A resident's home on the web: the welcome page after registering, and the following feed
(services.home). Whom they follow is managed on /follows (web.follows)."""

from __future__ import annotations

import functools

import aiohttp_jinja2
from aiohttp import web

from commonsfed.services import home, search
from commonsfed.web.keys import FEDERATION, SETTINGS
from commonsfed.web.listings import LABELS
from commonsfed.web.views import require_account


async def welcome(request: web.Request) -> web.Response:
    """Shown once right after registering (or a first login), and at /welcome any time: the
    node's rules, and a first step or two."""
    require_account(request)
    return aiohttp_jinja2.render_template("welcome.html", request, {})


def _before(request: web.Request) -> int | None:
    value = request.query.get("before", "")
    if value and not (value.isdigit() and len(value) < 19):
        raise web.HTTPBadRequest(text="This page link is damaged. Go back to the newest listings.")
    return int(value) if value else None


async def following(request: web.Request) -> web.Response:
    account = require_account(request)
    before = _before(request)
    page = await home.following(request.app[FEDERATION], account, before)
    context = {
        "cards": page.cards,
        "older_link": f"/following?before={page.older}" if page.older else None,
        "first_link": "/following" if before is not None else None,
        "follows_anyone": page.follows_anyone,
        "labels": LABELS,
        "age": functools.partial(search.age, tz=request.app[SETTINGS].tz),
    }
    return aiohttp_jinja2.render_template("following.html", request, context)
