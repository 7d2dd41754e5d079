"""A resident's page of follows: follow someone, unfollow, approve or decline requests."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web

from commonsfed.db import actors as actors_q
from commonsfed.services import follows
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.web.keys import FEDERATION
from commonsfed.web.views import require_account


@dataclass(frozen=True)
class Person:
    uri: str
    label: str
    state: str


def _person(row) -> Person:
    label = (f"@{row['preferred_username']}@{row['domain']}" if row["preferred_username"]
             else row["uri"])
    return Person(row["uri"], label, row["state"])


async def _page(request: web.Request, status: int = 200, **context) -> web.Response:
    account = require_account(request)
    fed = request.app[FEDERATION]
    me = follows.resident_uri(fed, account)
    async with fed.pool.acquire() as conn:
        following = [_person(r) for r in await actors_q.follow_list(conn, me, "following")]
        followers = [_person(r) for r in await actors_q.follow_list(conn, me, "followers")]
    context = {"values": {}, "errors": {}, "notice": None, **context,
               "following": following,
               "followers": [p for p in followers if p.state == "accepted"],
               "requests": [p for p in followers if p.state == "pending"]}
    return aiohttp_jinja2.render_template("follows.html", request, context, status=status)


async def follows_page(request: web.Request) -> web.Response:
    return await _page(request)


async def follow(request: web.Request) -> web.Response:
    account = require_account(request)
    handle = str((await request.post()).get("handle", "")).strip()
    if not handle:
        return await _page(request, 422, errors={"handle": "Enter a handle to follow."})
    fed = request.app[FEDERATION]
    try:
        remote = await follows.follow(fed, follows.resident_uri(fed, account), handle)
    except ValidationError as exc:
        return await _page(request, 422, values={"handle": handle}, errors=exc.errors)
    return await _page(request, notice=f"Asked to follow {remote.handle}.")


async def _act(request: web.Request, action, notice: str) -> web.Response:
    account = require_account(request)
    uri = str((await request.post()).get("uri", ""))
    fed = request.app[FEDERATION]
    try:
        await action(fed, follows.resident_uri(fed, account), uri)
    except NotAllowed as exc:
        return await _page(request, 400, notice=str(exc))
    return await _page(request, notice=notice)


async def unfollow(request: web.Request) -> web.Response:
    return await _act(request, follows.unfollow, "Unfollowed.")


async def approve(request: web.Request) -> web.Response:
    return await _act(request, follows.approve_follower, "Approved: they follow you now.")


async def reject(request: web.Request) -> web.Response:
    return await _act(request, follows.reject_follower, "Declined.")
