"""The resident's favourites and bookmarks, newest first, paged by the favourite's (the
bookmark's) own id in the Link header, as Mastodon pages them: not by the statuses' ids,
since one favourited today may be a year old."""

from __future__ import annotations

from aiohttp import web

from commonsfed.api.auth import require_user
from commonsfed.api.paging import PageRequest, in_order, page_request, paged_response
from commonsfed.api.params import read_params
from commonsfed.api.render import statuses_json
from commonsfed.models import Account
from commonsfed.services import favourites, statuses
from commonsfed.web.keys import POOL, SETTINGS


def _page(page: PageRequest) -> tuple[int | None, int | None, int, bool]:
    return page.max_id, page.after, page.limit, page.oldest_first


async def _statuses(
    request: web.Request, account: Account, page: PageRequest, rows: list[tuple[int, int]]
) -> web.Response:
    rows = in_order(page, rows)
    settings = request.app[SETTINGS]
    async with request.app[POOL].acquire() as conn:
        found = await statuses.statuses_by_id(conn, settings, [sid for _, sid in rows], account)
        views = [found[sid] for _, sid in rows if sid in found]
        body = await statuses_json(conn, settings, views, account)
    return paged_response(request, body, rows, key=lambda row: row[0])


async def list_favourites(request: web.Request) -> web.Response:
    account = require_user(request, "read:favourites")
    page = page_request(await read_params(request))
    rows = await favourites.favourites_page(
        request.app[POOL], request.app[SETTINGS], account, _page(page)
    )
    return await _statuses(request, account, page, rows)


async def list_bookmarks(request: web.Request) -> web.Response:
    account = require_user(request, "read:bookmarks")
    page = page_request(await read_params(request))
    rows = await favourites.bookmarks_page(request.app[POOL], account, _page(page))
    return await _statuses(request, account, page, rows)
