"""The neighbourhood page: open listings here and in federated neighbourhoods, with filters
as GET parameters in a plain form; and the latest of them on the home page."""

from __future__ import annotations

import functools
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from commonsfed.services import remote_cards, search
from commonsfed.web.keys import ACCOUNT, FEDERATION, POOL, SETTINGS
from commonsfed.web.listings import LABELS

HOME_COUNT = 6


def _query(values: dict[str, str], **changes: str) -> str:
    """The page's query string with `changes`, leaving out empty filters."""
    merged = {**values, **changes}
    return urlencode({name: value for name, value in merged.items() if value})


def _feed_path(found: search.Search) -> str:
    """The feed that follows this page most closely: a resident's, a category's, or all."""
    if found.author and "author" not in found.errors:
        return f"/users/{found.author}/feed"
    if found.filter.category:
        return f"/categories/{found.filter.category}/feed"
    return "/feed"


async def explore(request: web.Request) -> web.Response:
    result = await search.explore(request.app[POOL], request.query, request[ACCOUNT])
    found = result.search
    older = _query(found.values, after=result.page.next_cursor) if result.page.next_cursor else None
    context = {
        "search": found,
        "values": found.values,
        "errors": found.errors,
        "cards": await remote_cards.dress(request.app[FEDERATION], result.page.cards),
        "category_options": [(row["slug"], row["name"]) for row in result.categories],
        "labels": LABELS,
        "age": _age(request),
        "older_link": f"/explore?{older}" if older else None,
        "first_link": f"/explore?{_query(found.values)}" if found.cursor else None,
        "feed_path": _feed_path(found),
        "filtered": any(found.values.values()),
    }
    return aiohttp_jinja2.render_template("explore.html", request, context)


async def category(request: web.Request) -> web.Response:
    """/categories/<slug> and /tags/<slug>: what FEP-0837 `resourceConformsTo` and the
    hashtags point at."""
    slug = request.match_info["slug"]
    raise web.HTTPFound(f"/explore?{urlencode({'category': slug})}")


async def home_context(request: web.Request) -> dict:
    """A template context processor: the newest listings, for the home page only (processors
    run on every request, so every other page pays nothing)."""
    route = request.match_info.route
    if getattr(route, "name", None) != "home" or request.method != "GET":
        return {}
    everywhere = request.query.get("where") == "everywhere"  # a link, so no JavaScript
    cards = await search.latest(request.app[POOL], HOME_COUNT, request[ACCOUNT], everywhere)
    return {
        "latest_listings": await remote_cards.dress(request.app[FEDERATION], cards),
        "latest_everywhere": everywhere,
        "labels": LABELS,
        "age": _age(request),
    }


def _age(request: web.Request):
    """search.age in the node's time zone, for the templates."""
    return functools.partial(search.age, tz=request.app[SETTINGS].tz)
