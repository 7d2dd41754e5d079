"""A resident's settings: the hub at /settings, the password, and where they are logged in.

Each section is a page of its own under /settings/, listed in templates/settings/_nav.html.
"""

from __future__ import annotations

import functools

import aiohttp_jinja2
from aiohttp import web

from commonsfed import i18n
from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import accounts, sessions
from commonsfed.services.errors import NotAllowed, RateLimited, ValidationError
from commonsfed.web.flash import shown_on
from commonsfed.web.keys import POOL, SESSION_ID
from commonsfed.web.language import reader_language, translate
from commonsfed.web.views import client_address, require_account, shown


async def index(request: web.Request) -> web.Response:
    require_account(request)
    return aiohttp_jinja2.render_template("settings/index.html", request, {})


# --- password ------------------------------------------------------------------------------


async def account_page(request: web.Request) -> web.Response:
    require_account(request)
    return _account(request)


def _account(request: web.Request, status: int = 200, **context) -> web.Response:
    context = {"section": "account", "errors": {}, "notice": None, **context}
    return aiohttp_jinja2.render_template("settings/account.html", request, context, status=status)


async def change_password(request: web.Request) -> web.Response:
    account = require_account(request)
    form = await request.post()
    try:
        ended = await accounts.change_password(
            request.app[POOL], account,
            current=str(form.get("current_password", "")),
            new=str(form.get("new_password", "")),
            repeated=str(form.get("repeated_password", "")),
            address=client_address(request),
            keep_session_id=request[SESSION_ID],
        )  # fmt: skip
    except ValidationError as exc:
        return _account(request, 422, errors=exc.errors)
    except RateLimited as exc:
        return _account(request, 429, errors={"current_password": shown(exc)})
    notice = translate(request, N_("Your password is changed."))
    if ended:
        notice += " " + _logged_out_on(request, ended)
    return await shown_on(request, "/settings/account", notice)


def _logged_out_on(request: web.Request, count: int) -> str:
    ngettext = functools.partial(i18n.ngettext, reader_language(request))
    return ngettext("You were logged out on %(num)s other device.",
                    "You were logged out on %(num)s other devices.", count) % {"num": count}  # fmt: skip


# --- sessions ------------------------------------------------------------------------------


async def sessions_page(request: web.Request) -> web.Response:
    require_account(request)
    return await _sessions_page(request)


async def _sessions_page(request: web.Request, status: int = 200, notice: str | None = None):
    account = require_account(request)
    rows = [
        {"session": session, "device": sessions.describe_device(session.user_agent),
         "current": session.id == request[SESSION_ID]}
        for session in await sessions.list_for(request.app[POOL], account)
    ]  # fmt: skip
    context = {"section": "sessions", "rows": rows, "notice": notice}
    return aiohttp_jinja2.render_template(
        "settings/sessions.html", request, context, status=status
    )


async def end_session(request: web.Request) -> web.Response:
    account = require_account(request)
    value = str((await request.post()).get("session", ""))
    if not value.isdigit() or len(value) > 18 or int(value) == request[SESSION_ID]:
        return await _sessions_page(request, 400, N_("Choose one of your other sessions to end."))
    try:
        await sessions.end_one(request.app[POOL], account, int(value))
    except NotAllowed as exc:
        return await _sessions_page(request, 400, shown(exc))
    return await shown_on(request, "/settings/sessions", N_("That session has ended."))


async def end_other_sessions(request: web.Request) -> web.Response:
    account = require_account(request)
    ended = await sessions.end_others(request.app[POOL], account, request[SESSION_ID])
    notice = _logged_out_on(request, ended) if ended else N_("There were no others.")
    return await shown_on(request, "/settings/sessions", notice)
