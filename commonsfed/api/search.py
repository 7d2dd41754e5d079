"""Search v2: accounts, statuses (listings by full text) and hashtags (the node's
categories); `resolve=true` fetches a handle or URL of another server."""

from __future__ import annotations

from aiohttp import web

from commonsfed.api import entities
from commonsfed.api.auth import client, require_user, viewer
from commonsfed.api.errors import ApiError
from commonsfed.api.params import read_params
from commonsfed.api.render import statuses_json
from commonsfed.services import api_search
from commonsfed.services.api_accounts import AccountView
from commonsfed.services.statuses import StatusView
from commonsfed.web.keys import FEDERATION, POOL, SETTINGS

TYPES = ("accounts", "statuses", "hashtags")
# Mastodon's words, which apps show as they are
RESOLVE_NEEDS_LOGIN = (
    "Search queries that resolve remote resources are not supported without authentication"
)


def _resolving(request: web.Request, resolve: bool, offset: int) -> bool:
    """Resolving (and paging) a search costs the node fetches: a resident's token only."""
    if resolve or offset:
        if client(request) is None:
            raise ApiError(401, RESOLVE_NEEDS_LOGIN)
        require_user(request, "read:search")
    return resolve


async def find_accounts(
    request: web.Request, text: str, resolve: bool, limit: int, offset: int
) -> list[AccountView]:
    resolve = _resolving(request, resolve, offset)
    return await api_search.find_accounts(
        request.app[FEDERATION], text, resolve=resolve, limit=limit, offset=offset
    )


async def search_v2(request: web.Request) -> web.Response:
    params = await read_params(request)
    text = (params.get("q") or "").strip()[: api_search.MAX_QUERY]
    kind = params.get("type") or None
    if kind is not None and kind not in TYPES:
        raise ApiError(400, f"type must be one of {', '.join(TYPES)}")
    limit = params.int("limit", 20, low=1, high=40)
    offset = params.int("offset", 0, low=0, high=10_000)
    resolve = _resolving(request, params.bool("resolve"), offset)
    accounts, statuses, hashtags = await _search(request, text, kind, resolve, limit, offset)
    settings, reader = request.app[SETTINGS], viewer(request, "read:search")
    async with request.app[POOL].acquire() as conn:
        rendered = await statuses_json(conn, settings, statuses, reader)
    return web.json_response({
        "accounts": [entities.account(view, settings) for view in accounts],
        "statuses": rendered,
        "hashtags": [entities.tag(name, settings) for name in hashtags],
    })  # fmt: skip


async def _search(
    request: web.Request, text: str, kind: str | None, resolve: bool, limit: int, offset: int
) -> tuple[list[AccountView], list[StatusView], list[str]]:
    fed, reader = request.app[FEDERATION], viewer(request, "read:search")
    accounts: list[AccountView] = []
    statuses: list[StatusView] = []
    hashtags: list[str] = []
    if not text:
        return accounts, statuses, hashtags
    if resolve and api_search.is_url(text) and offset == 0:
        try:
            found = await api_search.resolve_url(fed, text, reader)
        except api_search.CannotResolve:
            return accounts, statuses, hashtags
        if isinstance(found, StatusView) and kind in (None, "statuses"):
            statuses.append(found)
        elif isinstance(found, AccountView) and kind in (None, "accounts"):
            accounts.append(found)
        return accounts, statuses, hashtags
    if kind in (None, "accounts"):
        accounts = await api_search.find_accounts(
            fed, text, resolve=resolve, limit=limit, offset=offset
        )
    if kind in (None, "statuses"):
        statuses = await api_search.find_statuses(fed, text, reader, limit, offset)
    if kind in (None, "hashtags"):
        hashtags = await api_search.find_hashtags(request.app[POOL], text, limit, offset)
    return accounts, statuses, hashtags


async def search_v1(request: web.Request) -> web.Response:
    """Mastodon 3.0 removed v1 search; apps that still ask are told to use v2."""
    raise ApiError(410, "This API was removed; use /api/v2/search")
