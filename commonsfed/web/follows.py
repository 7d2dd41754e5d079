"""A resident's page of follows: follow someone, unfollow, approve or decline requests."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import follows
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.web.admin import message_of
from commonsfed.web.flash import shown_on
from commonsfed.web.keys import FEDERATION
from commonsfed.web.views import require_account

CURSORS = ("following_before", "followers_before", "requests_before")


def _cursor(request: web.Request, name: str) -> int | None:
    value = request.query.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


async def _page(request: web.Request, status: int = 200, **context) -> web.Response:
    account = require_account(request)
    cursors = {name: _cursor(request, name) for name in CURSORS}
    view = await follows.follows_view(request.app[FEDERATION], account, **cursors)
    context = {"values": {}, "errors": {}, "notice": None, **context,
               "following": view.following, "followers": view.followers,
               "requests": view.requests}
    return aiohttp_jinja2.render_template("follows.html", request, context, status=status)


async def follows_page(request: web.Request) -> web.Response:
    return await _page(request)


async def follow(request: web.Request) -> web.Response:
    account = require_account(request)
    handle = str((await request.post()).get("handle", "")).strip()
    if not handle:
        return await _page(request, 422, errors={"handle": N_("Enter a handle to follow.")})
    fed = request.app[FEDERATION]
    try:
        remote = await follows.follow(fed, follows.resident_uri(fed, account), handle)
    except ValidationError as exc:
        return await _page(request, 422, values={"handle": handle}, errors=exc.errors)
    notice = Text(N_("Asked to follow %(handle)s."), handle=remote.handle)
    return await shown_on(request, "/follows", notice)


async def _act(request: web.Request, action, notice: str) -> web.Response:
    account = require_account(request)
    uri = str((await request.post()).get("uri", ""))
    fed = request.app[FEDERATION]
    try:
        await action(fed, follows.resident_uri(fed, account), uri)
    except NotAllowed as exc:
        return await _page(request, 400, notice=message_of(exc))
    return await shown_on(request, "/follows", notice)


async def unfollow(request: web.Request) -> web.Response:
    return await _act(request, follows.unfollow, N_("Unfollowed."))


async def approve(request: web.Request) -> web.Response:
    return await _act(request, follows.approve_follower, N_("Approved: they follow you now."))


async def reject(request: web.Request) -> web.Response:
    return await _act(request, follows.reject_follower, N_("Declined."))
