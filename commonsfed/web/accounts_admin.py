"""Administration, "Accounts": the accounts list (search, filters, the approval queue), one
resident's page with the moderators' actions and its history, and a remote person's page.

Every action is a form with a reason; a refusal or a bad form answers the page again with
what was wrong (403 for an action outside the moderator's role, 404 for no such account,
422 for a bad form) and changes nothing. The rules themselves live in the services
(services.account_actions, services.remote_moderation), so they hold for any client.
"""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from commonsfed.db.moderation import STATUS_FILTERS
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import account_actions, accounts, moderation_log, remote_moderation
from commonsfed.services.account_actions import AccountNotFound
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.web.admin import LOG_NAMES, message_of
from commonsfed.web.flash import shown_on
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.middlewares import render_error
from commonsfed.web.views import require_moderator

MAX_PAGE = 1000
DONE = {
    "warn": N_("@%(name)s was warned."),
    "limit": N_("@%(name)s is limited: their listings left the public pages."),
    "unlimit": N_("@%(name)s is no longer limited."),
    "suspend": N_("@%(name)s is suspended: they cannot log in and their listings are hidden."),
    "unsuspend": N_("@%(name)s is no longer suspended."),
}
ROLE_NAMES = {"admin": N_("admin"), "moderator": N_("moderator"), "none": N_("resident")}
NOW_A = {
    "admin": N_("@%(name)s is now an admin."),
    "moderator": N_("@%(name)s is now a moderator."),
    "none": N_("@%(name)s is now a resident."),
}
STATUS_NAMES = {"pending": N_("pending"), "active": N_("active"), "limited": N_("limited"),
                "suspended": N_("suspended"), "deleted": N_("deleted")}  # fmt: skip
NAMES = {"role_names": ROLE_NAMES, "status_names": STATUS_NAMES}


async def _form(request: web.Request) -> dict[str, str]:
    form = await request.post()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise web.HTTPBadRequest(text=f"?page= is a number from 1 to {MAX_PAGE}.")
    return int(raw)


# --- the list ----------------------------------------------------------------------------------


async def accounts_page(request: web.Request, status: int = 200, **context) -> web.Response:
    """The accounts in one state (the approval queue first: ?status=pending by default),
    searched by name or address with ?q=."""
    require_moderator(request)
    shown = request.query.get("status", "pending")
    if shown not in STATUS_FILTERS:
        raise web.HTTPBadRequest(text=f"?status= is one of {', '.join(STATUS_FILTERS)}.")
    words, page = request.query.get("q", ""), _page_number(request)
    found = await account_actions.account_list(
        request.app[POOL], request.app[SETTINGS], shown, words, page
    )
    context = {
        "section": "accounts", "shown": shown, "filters": list(STATUS_FILTERS), "words": words,
        "accounts": found[: account_actions.PAGE], "page": page,
        "more": len(found) > account_actions.PAGE, "errors": {}, "notice": None, **NAMES,
        **context,
    }  # fmt: skip
    return aiohttp_jinja2.render_template("admin/accounts.html", request, context, status=status)


async def approve_account(request: web.Request) -> web.Response:
    moderator = require_moderator(request)
    name = (await _form(request)).get("username", "")
    try:
        account = await account_actions.approve(request.app[POOL], moderator, name)
    except AccountNotFound as exc:
        return render_error(request, 404, message_of(exc))
    except NotAllowed as exc:
        return render_error(request, 400, message_of(exc))
    return await shown_on(
        request, "/admin/accounts", Text(N_("@%(name)s may log in now."), name=account.username)
    )


async def reject_account(request: web.Request) -> web.Response:
    moderator = require_moderator(request)
    form = await _form(request)
    name = form.get("username", "")
    try:
        await account_actions.reject(request.app[POOL], moderator, name, form.get("reason", ""))
    except AccountNotFound as exc:
        return render_error(request, 404, message_of(exc))
    except NotAllowed as exc:
        return render_error(request, 400, message_of(exc))
    except ValidationError as exc:
        return await accounts_page(request, 422, errors={name: exc.errors["reason"]})
    return await shown_on(
        request, "/admin/accounts", Text(N_("The application of @%(name)s was rejected."), name=name)
    )


# --- one resident ------------------------------------------------------------------------------


async def account_page(request: web.Request, status: int = 200, **context) -> web.Response:
    require_moderator(request)
    pool = request.app[POOL]
    try:
        facts = await account_actions.account_facts(
            pool, request.app[SETTINGS], request.match_info["username"]
        )
    except AccountNotFound as exc:
        return render_error(request, 404, message_of(exc))
    context = {
        "section": "accounts", "facts": facts, "errors": {}, "values": {}, "notice": None,
        "history": await moderation_log.history(pool, "account", facts.username),
        "roles": accounts.ROLES, **NAMES, **LOG_NAMES, **context,
    }  # fmt: skip
    return aiohttp_jinja2.render_template("admin/account.html", request, context, status=status)


async def act_on_account(request: web.Request) -> web.Response:
    """One of account_actions.ACTIONS, with its reason."""
    moderator = require_moderator(request)
    form = await _form(request)
    action, reason = form.get("action", ""), form.get("reason", "")
    try:
        facts = await account_actions.act(request.app[POOL], request.app[SETTINGS], moderator,
                                          request.match_info["username"], action, reason)  # fmt: skip
    except AccountNotFound as exc:
        return render_error(request, 404, message_of(exc))
    except NotAllowed as exc:
        return await account_page(request, 403, notice=message_of(exc))
    except ValidationError as exc:
        if "action" in exc.errors:  # not one of the forms: said above them all
            return await account_page(request, 422, notice=exc.errors["action"])
        return await account_page(
            request, 422, errors={action: exc.errors["reason"]}, values={action: reason}
        )
    return await shown_on(
        request, f"/admin/accounts/{facts.username}", Text(DONE[action], name=facts.username)
    )


async def change_role(request: web.Request) -> web.Response:
    """Admins only (services.accounts.set_role refuses anyone else)."""
    moderator = require_moderator(request)
    role = (await _form(request)).get("role", "")
    name = request.match_info["username"]
    if await accounts.get_by_username(request.app[POOL], name) is None:
        return render_error(
            request, 404, Text(N_("There is no account named %(name)s."), name=repr(name))
        )
    try:
        account = await accounts.set_role(request.app[POOL], name, role, by=moderator)
    except NotAllowed as exc:
        return await account_page(request, 403, notice=message_of(exc))
    return await shown_on(request, f"/admin/accounts/{account.username}",
                          Text(NOW_A[account.role], name=account.username))  # fmt: skip


# --- a remote person ---------------------------------------------------------------------------


async def remote_actor_page(request: web.Request, status: int = 200, **context) -> web.Response:
    require_moderator(request)
    uri = context.pop("uri", None) or request.query.get("uri", "")
    try:
        person = await remote_moderation.person(request.app[POOL], request.app[SETTINGS], uri)
    except ValidationError as exc:
        return render_error(request, 400, next(iter(exc.errors.values())))
    context = {
        "section": "accounts", "person": person, "errors": {}, "notice": None,
        "history": await moderation_log.history(request.app[POOL], "remote_actor", person.uri),
        **LOG_NAMES, **context,
    }  # fmt: skip
    return aiohttp_jinja2.render_template(
        "admin/remote_actor.html", request, context, status=status
    )


async def act_on_remote_actor(request: web.Request) -> web.Response:
    """Suspend a remote person, or lift it (`action`), with a reason."""
    moderator = require_moderator(request)
    form = await _form(request)
    uri, action, reason = form.get("uri", ""), form.get("action", ""), form.get("reason", "")
    do = {"suspend": remote_moderation.suspend, "unsuspend": remote_moderation.unsuspend}
    if action not in do:
        return await remote_actor_page(request, 400, uri=uri,
                                       notice=N_("Choose whether to suspend or to lift it."))  # fmt: skip
    try:
        await do[action](request.app[POOL], request.app[SETTINGS], moderator, uri, reason)
    except NotAllowed as exc:
        return await remote_actor_page(request, 403, uri=uri, notice=message_of(exc))
    except ValidationError as exc:
        if "uri" in exc.errors:
            return render_error(request, 400, exc.errors["uri"])
        return await remote_actor_page(request, 422, uri=uri, errors=exc.errors)
    done = (N_("%(uri)s is suspended: what they had here is gone.") if action == "suspend"
            else N_("%(uri)s may write again."))  # fmt: skip
    page = "/admin/remote-actors?" + urlencode({"uri": uri})
    return await shown_on(request, page, Text(done, uri=uri))
