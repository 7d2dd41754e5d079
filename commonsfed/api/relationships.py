"""Relationships: follows (of residents, people elsewhere and neighbourhoods), follow
requests, followers and following lists, blocks, mutes and hidden domains."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from aiohttp import web

from commonsfed.api import entities
from commonsfed.api.auth import require_user
from commonsfed.api.errors import ApiError, not_found
from commonsfed.api.paging import page_request, paged_response
from commonsfed.api.params import path_id, read_params
from commonsfed.services import api_relationships as relations
from commonsfed.services.api_relationships import AccountPage, RelationshipView, UnknownAccount
from commonsfed.web.keys import FEDERATION, SETTINGS

T = TypeVar("T")


async def _known(call: Awaitable[T]) -> T:
    """`call`'s result; an id that names no account is a 404."""
    try:
        return await call
    except UnknownAccount:
        raise not_found() from None


def _relationship(view: RelationshipView) -> web.Response:
    return web.json_response(entities.relationship(view))


async def relationships(request: web.Request) -> web.Response:
    account = require_user(request, "read:follows")
    ids = []
    for value in (await read_params(request)).list("id")[: relations.MAX_RELATIONSHIPS]:
        if value.isdigit() and int(value) < 2**63:
            ids.append(int(value))
    views = await relations.relationships(request.app[FEDERATION], account, ids)
    return web.json_response([entities.relationship(view) for view in views])


# --- following -------------------------------------------------------------------------------


async def follow(request: web.Request) -> web.Response:
    account = require_user(request, "write:follows")
    call = relations.follow(request.app[FEDERATION], account, path_id(request))
    return _relationship(await _known(call))


async def unfollow(request: web.Request) -> web.Response:
    account = require_user(request, "write:follows")
    call = relations.unfollow(request.app[FEDERATION], account, path_id(request))
    return _relationship(await _known(call))


async def _account_page(request: web.Request, page_of) -> web.Response:
    """A page of accounts with the Link header (paged by the list's own row ids, as
    Mastodon pages followers and blocks)."""
    page = page_request(await read_params(request), default=40, most=80)
    found: AccountPage = await _known(page_of(page))
    settings = request.app[SETTINGS]
    body = [entities.account(view, settings) for view in found.accounts]
    return paged_response(request, body, found.cursors, lambda cursor: cursor)


async def followers(request: web.Request) -> web.Response:
    fed, api_id = request.app[FEDERATION], path_id(request)
    return await _account_page(
        request, lambda page: relations.follow_list(fed, api_id, "followers", page)
    )


async def following(request: web.Request) -> web.Response:
    fed, api_id = request.app[FEDERATION], path_id(request)
    return await _account_page(
        request, lambda page: relations.follow_list(fed, api_id, "following", page)
    )


async def follow_requests(request: web.Request) -> web.Response:
    account, fed = require_user(request, "read:follows"), request.app[FEDERATION]
    return await _account_page(request, lambda page: relations.follow_requests(fed, account, page))


async def authorize(request: web.Request) -> web.Response:
    return await _answer_request(request, accept=True)


async def reject(request: web.Request) -> web.Response:
    return await _answer_request(request, accept=False)


async def _answer_request(request: web.Request, accept: bool) -> web.Response:
    account = require_user(request, "write:follows")
    call = relations.answer_request(request.app[FEDERATION], account, path_id(request), accept)
    return _relationship(await _known(call))


# --- blocks and mutes ------------------------------------------------------------------------


async def blocks(request: web.Request) -> web.Response:
    account, fed = require_user(request, "read:blocks"), request.app[FEDERATION]
    return await _account_page(
        request, lambda page: relations.blocked_list(fed, account, "block", page)
    )


async def mutes(request: web.Request) -> web.Response:
    account, fed = require_user(request, "read:mutes"), request.app[FEDERATION]
    return await _account_page(
        request, lambda page: relations.blocked_list(fed, account, "mute", page)
    )


async def block(request: web.Request) -> web.Response:
    return await _block(request, "write:blocks", relations.block, "block")


async def unblock(request: web.Request) -> web.Response:
    return await _block(request, "write:blocks", relations.unblock, "block")


async def mute(request: web.Request) -> web.Response:
    return await _block(request, "write:mutes", relations.block, "mute")


async def unmute(request: web.Request) -> web.Response:
    return await _block(request, "write:mutes", relations.unblock, "mute")


async def _block(request: web.Request, scope: str, action, kind: str) -> web.Response:
    account = require_user(request, scope)
    call = action(request.app[FEDERATION], account, path_id(request), kind)
    return _relationship(await _known(call))


# --- hidden domains --------------------------------------------------------------------------


async def domain_blocks(request: web.Request) -> web.Response:
    account = require_user(request, "read:blocks")
    return web.json_response(await relations.hidden_domains(request.app[FEDERATION].pool, account))


async def block_domain(request: web.Request) -> web.Response:
    account = require_user(request, "write:blocks")
    await relations.hide_domain(request.app[FEDERATION], account, await _domain(request))
    return web.json_response({})


async def unblock_domain(request: web.Request) -> web.Response:
    account = require_user(request, "write:blocks")
    await relations.show_domain(request.app[FEDERATION], account, await _domain(request))
    return web.json_response({})


async def _domain(request: web.Request) -> str:
    domain = (await read_params(request)).get("domain") or ""
    if not domain.strip():
        raise ApiError(400, "domain is missing")
    return domain
