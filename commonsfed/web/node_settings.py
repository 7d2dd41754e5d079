"""The node's settings page (/admin/settings, admins only): name, description, rules,
contact address, registration, federation and the Group's follow policy, changed while the
node runs (see services.node_settings)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.config import FEDERATION_MODES, GROUP_FOLLOW_MODES, REGISTRATION_MODES
from commonsfed.services import node_settings
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.views import require_admin

CHOICES = {
    "registration": {
        "open": "Open: anyone may join",
        "approval": "Approval: a moderator approves each new account",
        "closed": "Closed: nobody may join",
    },
    "federation": {
        "open": "Open: every server but the blocked ones",
        "allowlist": "Allow-list: only the servers an admin allowed",
    },
    "group_follows": {
        "auto": "Accepted at once",
        "manual": "Kept for an admin to accept or reject",
    },
    "oauth_password_grant": {
        "false": "No: apps log in through the authorize page",
        "true": "Yes: apps may send a resident's name and password (OAuth's password grant)",
    },
}
assert [tuple(CHOICES[n]) for n in CHOICES] == [REGISTRATION_MODES, FEDERATION_MODES,
                                                GROUP_FOLLOW_MODES, ("false", "true")]  # fmt: skip


def _render(
    request: web.Request,
    form: node_settings.SettingsForm,
    errors: dict[str, str],
    *,
    saved: list[str] | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        "values": form.values,
        "errors": errors,
        "choices": CHOICES,
        "saved": saved,
        "initial": request.app[SETTINGS].initial,
        "section": "settings",
    }
    return aiohttp_jinja2.render_template("admin/settings.html", request, context, status=status)


async def settings_page(request: web.Request) -> web.Response:
    require_admin(request)
    return _render(request, node_settings.SettingsForm.of(request.app[SETTINGS].now), {})


async def save_settings(request: web.Request) -> web.Response:
    admin = require_admin(request)
    form = node_settings.SettingsForm.posted(await request.post())
    try:
        saved = await node_settings.save(request.app[POOL], request.app[SETTINGS], admin, form)
    except ValidationError as exc:
        return _render(request, form, exc.errors, status=422)
    except NotAllowed as exc:
        raise web.HTTPForbidden(text=str(exc)) from None
    return _render(
        request, node_settings.SettingsForm.of(request.app[SETTINGS].now), {}, saved=saved
    )
