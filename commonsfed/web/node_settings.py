"""The node's settings page (/admin/settings, admins only): name, description, rules,
contact address, registration, federation and the Group's follow policy, changed while the
node runs (see services.node_settings)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.config import FEDERATION_MODES, GROUP_FOLLOW_MODES, REGISTRATION_MODES
from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import node_settings
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.language import translate
from commonsfed.web.views import require_admin

CHOICES = {
    "registration": {
        "open": N_("Open: anyone may join"),
        "approval": N_("Approval: a moderator approves each new account"),
        "closed": N_("Closed: nobody may join"),
    },
    "federation": {
        "open": N_("Open: every server but the blocked ones"),
        "allowlist": N_("Allow-list: only the servers an admin allowed"),
    },
    "group_follows": {
        "auto": N_("Accepted at once"),
        "manual": N_("Kept for an admin to accept or reject"),
    },
    "oauth_password_grant": {
        "false": N_("No: apps log in through the authorize page"),
        "true": N_("Yes: apps may send a resident's name and password (OAuth's password grant)"),
    },
}
# the settings' names, as "Saved: ..." lists them
SETTING_NAMES = {
    "instance_name": N_("instance name"),
    "instance_description": N_("instance description"),
    "rules": N_("rules"),
    "contact_email": N_("contact email"),
    "registration": N_("registration"),
    "federation": N_("federation"),
    "group_follows": N_("group follows"),
    "oauth_password_grant": N_("oauth password grant"),
    "map_tiles": N_("map tiles"),
    "map_attribution": N_("map attribution"),
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
        "saved_names": [
            translate(request, SETTING_NAMES.get(name, name.replace("_", " ")))
            for name in saved or ()
        ],
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
