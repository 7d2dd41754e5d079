"""RSS 2.0 and Atom feeds of open listings: the neighbourhood's, a category's, a resident's.

Written with jinja2 templates under autoescape (the .xml extension turns it on), so every
value is escaped where it lands; text XML cannot carry is dropped by the service.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import aiohttp_jinja2
from aiohttp import web

from commonsfed.services import search
from commonsfed.web.keys import ACCOUNT, POOL, SETTINGS
from commonsfed.web.listings import LABELS

CONTENT_TYPES = {"atom": "application/atom+xml", "rss": "application/rss+xml"}
CACHE = "public, max-age=300"
# a logged-in resident's feed leaves out whom they block, mute or hide: theirs alone
PRIVATE_CACHE = "private, max-age=300"


def _rfc822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _render(request: web.Request, feed: search.Feed | None) -> web.Response:
    if feed is None:
        raise web.HTTPNotFound()
    fmt = request.match_info["format"]
    context = {
        "feed": feed,
        "base": request.app[SETTINGS].base_url,
        "labels": LABELS,
        "iso": _iso,
        "rfc822": _rfc822,
    }
    response = aiohttp_jinja2.render_template(f"feeds/{fmt}.xml", request, context)
    response.content_type = CONTENT_TYPES[fmt]
    response.charset = "utf-8"
    response.headers["Cache-Control"] = PRIVATE_CACHE if request[ACCOUNT] else CACHE
    response.headers["Vary"] = "Cookie"
    return response


async def neighbourhood(request: web.Request) -> web.Response:
    name = request.app[SETTINGS].instance_name
    feed = await search.neighbourhood_feed(request.app[POOL], name, request[ACCOUNT])
    return _render(request, feed)


async def category(request: web.Request) -> web.Response:
    name, slug = request.app[SETTINGS].instance_name, request.match_info["slug"]
    feed = await search.category_feed(request.app[POOL], name, slug, request[ACCOUNT])
    return _render(request, feed)


async def resident(request: web.Request) -> web.Response:
    name, username = request.app[SETTINGS].instance_name, request.match_info["name"]
    feed = await search.resident_feed(request.app[POOL], name, username, request[ACCOUNT])
    return _render(request, feed)
