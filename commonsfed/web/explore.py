"""The neighbourhood page: open listings here and in federated neighbourhoods, with filters
as GET parameters in a plain form; and the latest of them on the home page."""

from __future__ import annotations

import functools
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import remote_cards, search, sorted_search
from commonsfed.web.keys import ACCOUNT, FEDERATION, POOL, SETTINGS
from commonsfed.web.language import reader_language, translate
from commonsfed.web.listings import LABELS
from commonsfed.web.middlewares import render_error

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
    result = await sorted_search.explore(request.app[POOL], request.query, request[ACCOUNT])
    context = await _list_context(request, result, "/explore")
    context["place_options"] = [(str(place.id), place.name) for place in result.places]
    return aiohttp_jinja2.render_template("explore.html", request, context)


async def category(request: web.Request) -> web.Response:
    """/categories/<slug>: a category's open listings, with the count and the sort of
    /explore. FEP-0837 `resourceConformsTo` and the listings' hashtags point here."""
    slug = request.match_info["slug"]
    pool = request.app[POOL]
    name = await search.category_title(pool, slug)
    if name is None:
        message = N_(
            "There is no such category here. The offers and requests page lists them all."
        )
        return render_error(request, 404, message)
    result = await sorted_search.explore(pool, request.query, request[ACCOUNT], category=slug)
    context = await _list_context(request, result, f"/categories/{slug}")
    context["category_name"] = name
    return aiohttp_jinja2.render_template("category.html", request, context)


async def tag(request: web.Request) -> web.Response:
    """/tags/<slug>: the listings' hashtags link here, as Mastodon's do; a tag is a
    category's slug."""
    raise web.HTTPFound(f"/categories/{request.match_info['slug']}")


async def _list_context(request: web.Request, result: sorted_search.Explore, path: str) -> dict:
    """What /explore and a category's page share: the cards, the count, the sort, the
    pager links (keyset for newest first, page numbers for the other orders)."""
    found = result.search
    values = found.values  # a category's page has its category in its path
    if path != "/explore":
        values = {name: value for name, value in values.items() if name != "category"}
    older = first = None
    if found.sort == "newest":
        cursor = result.page.next_cursor
        older = _query(values, after=cursor) if cursor else None
        first = _query(values) if found.cursor else None
    else:
        older = _query(values, page=str(result.next_page)) if result.next_page else None
        first = _query(values) if found.page > 1 else None
    return {
        "search": found,
        "values": found.values,
        "errors": found.errors,
        "cards": await remote_cards.dress(request.app[FEDERATION], result.page.cards),
        "category_options": [(row["slug"], row["name"]) for row in result.categories],
        "labels": LABELS,
        "age": _age(request),
        "older_link": f"{path}?{older}" if older is not None else None,
        "first_link": f"{path}?{first}" if first is not None else None,
        "feed_path": _feed_path(found),
        "filtered": any(v for k, v in found.values.items() if k != "sort"),
        "count_text": sorted_search.count_text(result.count, reader_language(request)),
        "sorts": {name: translate(request, label) for name, label in search.SORTS.items()},
        "sort_action": path,
        "keep_values": values,
    }


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
