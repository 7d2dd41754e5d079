"""Administration of federation (admins only): domain blocks with their severities, their
import and export as Mastodon's CSV, the allow-list, and the follows of the Group that wait
for an admin."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import SEVERITIES, DomainPolicy
from commonsfed.services import domain_csv, domains, group_follows
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.web.admin import message_of
from commonsfed.web.flash import flash, shown_on
from commonsfed.web.keys import FEDERATION, POOL, SETTINGS
from commonsfed.web.views import require_admin

_CHECKED = ("on", "1", "true", "yes")
_FLAGS = ("reject_media", "reject_reports", "obfuscate")
_TEXTS = ("domain", "severity", "public_comment", "reason")


async def _domains_page(request: web.Request, status: int = 200, **context) -> web.Response:
    app = request.app
    editing = request.query.get("edit", "")
    block = await domains.domain_policy(app[POOL], editing) if editing else None
    values = _values_of(block) if block and block.policy == "block" else {"severity": "suspend"}
    context = {
        "section": "domains", "errors": {}, "notice": None, "import_errors": [],
        "values": values, "allow_values": {}, "allow_errors": {},
        "editing": bool(block), "severities": SEVERITIES,
        "blocks": await domains.domain_policies(app[POOL], "block"),
        "allowed": await domains.domain_policies(app[POOL], "allow"),
        "allowlist": app[SETTINGS].federation == "allowlist",
        "csv_limit_kib": domain_csv.MAX_BYTES // 1024, **context,
    }  # fmt: skip
    return aiohttp_jinja2.render_template("admin/domains.html", request, context, status=status)


def _values_of(block: DomainPolicy) -> dict:
    return {"domain": block.domain, "severity": block.severity, "reason": block.note,
            "public_comment": block.public_comment,
            **{flag: getattr(block, flag) for flag in _FLAGS}}  # fmt: skip


def _form_values(form: Mapping) -> dict:
    values = {name: str(form.get(name, "")) for name in _TEXTS}
    return values | {flag: str(form.get(flag, "")).lower() in _CHECKED for flag in _FLAGS}


async def domains_page(request: web.Request) -> web.Response:
    require_admin(request)
    return await _domains_page(request)


async def save_block(request: web.Request) -> web.Response:
    """Add a block, or change one (the same domain again)."""
    admin = require_admin(request)
    values = _form_values(await request.post())
    block = DomainPolicy(
        values["domain"], "block", values["severity"], values["reject_media"],
        values["reject_reports"], values["public_comment"], values["obfuscate"], values["reason"],
    )  # fmt: skip
    try:
        await domains.block_domain(request.app[POOL], request.app[SETTINGS], admin, block)
    except ValidationError as exc:
        return await _domains_page(request, 422, errors=exc.errors, values=values)
    await flash(request, N_("Block saved."))
    raise web.HTTPSeeOther("/admin/domains")


async def remove_block(request: web.Request) -> web.Response:
    return await _undo(request, domains.unblock_domain, N_("Block lifted."))


async def allow(request: web.Request) -> web.Response:
    admin = require_admin(request)
    form = await request.post()
    values = {name: str(form.get(name, "")) for name in ("domain", "reason")}
    try:
        await domains.allow_domain(request.app[POOL], request.app[SETTINGS], admin,
                                   values["domain"], values["reason"])  # fmt: skip
    except ValidationError as exc:
        return await _domains_page(request, 422, allow_errors=exc.errors, allow_values=values)
    await flash(request, N_("Allowed: this node federates with it."))
    raise web.HTTPSeeOther("/admin/domains")


async def disallow(request: web.Request) -> web.Response:
    return await _undo(request, domains.disallow_domain, N_("No longer allowed."))


async def _undo(request: web.Request, undo, done: str) -> web.Response:
    """Lift a block or an allowance: `undo(pool, settings, admin, domain, reason)`; a
    refusal is told above the lists."""
    admin = require_admin(request)
    form = await request.post()
    try:
        await undo(request.app[POOL], request.app[SETTINGS], admin,
                   str(form.get("domain", "")), str(form.get("reason", "")))  # fmt: skip
    except ValidationError as exc:
        return await _domains_page(request, 422, notice=next(iter(exc.errors.values())))
    await flash(request, done)
    raise web.HTTPSeeOther("/admin/domains")


async def export_blocks(request: web.Request) -> web.Response:
    """The blocks as Mastodon's CSV, as a download named as Mastodon names it."""
    admin = require_admin(request)
    text = await domain_csv.export_blocks(request.app[POOL], admin)
    return web.Response(
        text=text, content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="domain_blocks.csv"',
                 "Cache-Control": "no-store"},
    )  # fmt: skip


async def import_blocks(request: web.Request) -> web.Response:
    admin = require_admin(request)
    upload = (await request.post()).get("file")
    if not isinstance(upload, web.FileField):
        return await _domains_page(request, 422, import_errors=[
            domain_csv.RowError(0, Text(N_("Choose a CSV file to import.")))])
    data = upload.file.read(domain_csv.MAX_BYTES + 1)
    try:
        result = await domain_csv.import_blocks(
            request.app[POOL], request.app[SETTINGS], admin, data, upload.filename or "")
    except domain_csv.ImportRefused as exc:
        return await _domains_page(request, 422, import_errors=exc.errors)
    notice = (Text(N_("Imported %(added)s blocks. %(kept)s were blocked already and are left "
                      "as they were."), added=len(result.added), kept=len(result.kept))
              if result.kept else Text(N_("Imported %(added)s blocks."), added=len(result.added)))  # fmt: skip
    return await shown_on(request, "/admin/domains", notice)


# --- follows of the Group -------------------------------------------------------------------


async def _follows_page(request: web.Request, status: int = 200, notice: str | None = None):
    admin = require_admin(request)
    fed = request.app[FEDERATION]
    context = {"section": "follows", "notice": notice,
               "waiting": await group_follows.pending(fed, admin),
               "manual": fed.settings.group_follows == "manual"}  # fmt: skip
    return aiohttp_jinja2.render_template("admin/follows.html", request, context, status=status)


async def follows_page(request: web.Request) -> web.Response:
    return await _follows_page(request)


async def decide_follow(request: web.Request) -> web.Response:
    admin = require_admin(request)
    form = await request.post()
    decide = group_follows.accept if request.match_info["action"] == "accept" else group_follows.reject
    try:
        await decide(request.app[FEDERATION], admin, str(form.get("uri", "")),
                     str(form.get("reason", "")))
    except NotAllowed as exc:
        return await _follows_page(request, 409, notice=message_of(exc))
    accepted = request.match_info["action"] == "accept"
    await flash(request, N_("Follow accepted.") if accepted else N_("Follow declined."))
    raise web.HTTPSeeOther("/admin/follows")
