"""A resident's home on the web: the welcome page after registering, and the following feed
(services.home). Whom they follow is managed on /follows (web.follows)."""

from __future__ import annotations

import functools

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import home, search
from commonsfed.services.errors import NotAllowed
from commonsfed.web.admin import message_of
from commonsfed.web.flash import flash
from commonsfed.web.keys import ACCOUNT, FEDERATION, SETTINGS
from commonsfed.web.listings import LABELS
from commonsfed.web.middlewares import render_error
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


# --- following a resident here from their profile ---------------------------------------------

PROFILE = "/users/{name}"


async def follow_context(request: web.Request) -> dict:
    """A template context processor: on a resident's profile, whether the logged-in viewer
    follows them (for its Follow button); every other request pays nothing."""
    account = request.get(ACCOUNT)
    resource = request.match_info.route.resource
    if account is None or request.method != "GET" or resource is None:
        return {}
    if resource.canonical != PROFILE:
        return {}
    name = request.match_info["name"]
    return {"follow_state": await home.follow_state(request.app[FEDERATION], account, name)}


async def follow_resident(request: web.Request) -> web.Response:
    return await _follow_action(request, follow=True)


async def unfollow_resident(request: web.Request) -> web.Response:
    return await _follow_action(request, follow=False)


async def _follow_action(request: web.Request, *, follow: bool) -> web.Response:
    account = require_account(request)
    name = request.match_info["name"]
    fed = request.app[FEDERATION]
    try:
        if follow:
            state = await home.follow_resident(fed, account, name)
        else:
            await home.unfollow_resident(fed, account, name)
    except home.NoSuchResident as exc:
        return render_error(request, 404, message_of(exc))
    except NotAllowed as exc:
        return render_error(request, 403, message_of(exc))
    if not follow:
        await flash(request, Text(N_("You no longer follow @%(name)s."), name=name))
    elif state == "pending":
        await flash(
            request, Text(N_("Asked to follow @%(name)s: they approve their followers."), name=name)
        )
    else:
        followed = N_("You follow @%(name)s: their listings show under Following.")
        await flash(request, Text(followed, name=name))
    raise web.HTTPSeeOther(f"/users/{name}")
