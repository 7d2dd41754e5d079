"""Settings, Authorised apps: the apps a resident let use their account (through the
authorize page), what each may do, and a button that takes it back."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import oauth
from commonsfed.web.flash import shown_on
from commonsfed.web.keys import POOL
from commonsfed.web.views import require_account


async def apps_page(request: web.Request) -> web.Response:
    return await _apps_page(request)


async def _apps_page(request: web.Request, status: int = 200, notice: str | None = None):
    account = require_account(request)
    apps = await oauth.authorised_apps(request.app[POOL], account)
    rows = [{"app": app, "scopes": [(scope, oauth.scope_words(scope)) for scope in app.scopes]}
            for app in apps]  # fmt: skip
    context = {"section": "apps", "rows": rows, "notice": notice}
    return aiohttp_jinja2.render_template("settings/apps.html", request, context, status=status)


async def revoke_app(request: web.Request) -> web.Response:
    """End every token the resident gave the app: it must be authorised anew."""
    account = require_account(request)
    value = str((await request.post()).get("app", ""))
    if not value.isdigit() or len(value) > 18:
        return await _apps_page(request, 400, N_("Choose one of your authorised apps."))
    ended = await oauth.revoke_app(request.app[POOL], account, int(value))
    if not ended:
        return await _apps_page(request, 400, N_("That app was not authorised (any more)."))
    return await shown_on(request, "/settings/apps", N_("The app can no longer use your account."))
