"""A resident's profile, edited at /settings/profile (shown at /users/<name>).

The form carries the avatar, so it is read as a stream like the listing form (web/uploads.py:
exempt from the CSRF middleware, its token checked there).
"""

from __future__ import annotations

import re

import aiohttp_jinja2
from aiohttp import web

from commonsfed.db.profiles import ResidentProfile
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import profiles
from commonsfed.services.errors import ValidationError
from commonsfed.services.photos import MAX_UPLOAD_BYTES
from commonsfed.web.flash import shown_on
from commonsfed.web.keys import FEDERATION, POOL, SETTINGS
from commonsfed.web.middlewares import csrf_exempt
from commonsfed.web.uploads import read_form_with_photos
from commonsfed.web.views import require_account

AVATAR_FIELD_RE = re.compile(r"^avatar$")
# an avatar at its cap, the text, and room to drain a larger one so that its sender gets the
# form back with a message next to it
MAX_PROFILE_BODY = 3 * MAX_UPLOAD_BYTES
BODY_TOO_LARGE = Text(N_("This photo is much too large. Choose one of at most %(limit)s MB."),
                      limit=MAX_UPLOAD_BYTES // (1024 * 1024))  # fmt: skip


def form_values(profile: ResidentProfile) -> dict[str, str]:
    values = {"display_name": profile.display_name, "bio": profile.bio, "area": profile.area}
    for number, field in enumerate(profile.fields, start=1):
        values[f"field_label_{number}"] = field.label
        values[f"field_value_{number}"] = field.value
    return values


async def _render(
    request: web.Request,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    account = require_account(request)
    profile = await profiles.get_profile(request.app[POOL], account.id)
    verified = {field.value for field in profile.fields if field.verified_at}
    context = {
        "section": "profile",
        "profile": profile,
        "values": form_values(profile) if values is None else values,
        "errors": errors or {},
        "verified": verified,
        "field_numbers": range(1, profiles.MAX_FIELDS + 1),
        "profile_url": f"{request.app[SETTINGS].base_url}/users/{account.username}",
        "limits": {"bio": profiles.MAX_BIO, "fields": profiles.MAX_FIELDS},
    }
    return aiohttp_jinja2.render_template(
        "settings/profile.html", request, context, status=status
    )


async def profile_page(request: web.Request) -> web.Response:
    require_account(request)
    return await _render(request)


@csrf_exempt  # the CSRF token is checked in read_form_with_photos: see the module's docstring
async def save_profile(request: web.Request) -> web.Response:
    account = require_account(request)
    form = await read_form_with_photos(request, AVATAR_FIELD_RE, MAX_PROFILE_BODY)
    if form.too_large:
        # refused from its Content-Length, nothing was read: the saved values stay in the form
        values = form.fields or None
        return await _render(request, values, {"avatar": BODY_TOO_LARGE}, status=413)
    avatar = form.uploads[0] if form.uploads else None
    try:
        await profiles.update_profile(request.app[FEDERATION], account, form.fields, avatar)
    except ValidationError as exc:
        return await _render(request, form.fields, exc.errors, status=422)
    return await shown_on(request, "/settings/profile", N_("Your profile is saved."))
