"""Administration pages: the moderation log (the accounts are web/accounts_admin.py).

The log stores its actions, targets and details by their code names (set_role, remote_actor,
severity); the names below are what a reader sees, in their language (`|t` in the pages)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import moderation_log
from commonsfed.web.keys import POOL
from commonsfed.web.views import require_moderator

ACTION_NAMES = {
    "warn": N_("warn"),
    "limit": N_("limit"),
    "unlimit": N_("unlimit"),
    "suspend": N_("suspend"),
    "unsuspend": N_("unsuspend"),
    "approve": N_("approve"),
    "reject": N_("reject"),
    "set_role": N_("set role"),
    "delete_account": N_("delete account"),
    "remove_listing": N_("remove listing"),
    "add_note": N_("add note"),
    "resolve": N_("resolve"),
    "reopen": N_("reopen"),
    "forward": N_("forward"),
    "block_domain": N_("block domain"),
    "change_domain_block": N_("change domain block"),
    "unblock_domain": N_("unblock domain"),
    "allow_domain": N_("allow domain"),
    "disallow_domain": N_("disallow domain"),
    "accept_group_follow": N_("accept group follow"),
    "reject_group_follow": N_("reject group follow"),
    "retry_host": N_("retry host"),
    "change_setting": N_("change setting"),
    "add_place": N_("add place"),
    "change_place": N_("change place"),
    "remove_place": N_("remove place"),
    "settle_hours": N_("settle disputed hours"),  # services.timebank_exchanges
}
TARGET_KINDS = {
    "account": N_("account"),
    "remote_actor": N_("remote actor"),
    "listing": N_("listing"),
    "message": N_("message"),
    "report": N_("report"),
    "domain": N_("domain"),
    "setting": N_("setting"),
    "place": N_("place"),
}
DETAIL_NAMES = {
    "to": N_("to"),
    "from": N_("from"),
    "title": N_("title"),
    "author": N_("author"),
    "report": N_("report"),
    "listing": N_("listing"),
    "resolved": N_("resolved"),
    "removed": N_("removed"),
    "severity": N_("severity"),
    "reject_media": N_("reject media"),
    "reject_reports": N_("reject reports"),
    "obfuscate": N_("obfuscate"),
    "public_comment": N_("public comment"),
    "follows_ended": N_("follows ended"),
    "deliveries_dropped": N_("deliveries dropped"),
    "objects_dropped": N_("objects dropped"),
    "deliveries": N_("deliveries"),
    "actor": N_("actor"),
    "activity": N_("activity"),
    "conversation": N_("conversation"),
}
# what every page that shows lines of the log needs in its context
LOG_NAMES = {"action_names": ACTION_NAMES, "target_kinds": TARGET_KINDS,
             "detail_names": DETAIL_NAMES}  # fmt: skip


async def log_page(request: web.Request) -> web.Response:
    """The moderation log, newest first, a page at a time (?before=<id> for the next)."""
    require_moderator(request)
    before = request.query.get("before", "")
    if before and not (before.isdigit() and len(before) <= 18):
        raise web.HTTPBadRequest(text="?before= is the number of a line of the log.")
    entries = await moderation_log.recent(request.app[POOL], int(before) if before else None)
    return aiohttp_jinja2.render_template(
        "admin/log.html", request, {"entries": entries, "section": "log", **LOG_NAMES,
                                    "more": len(entries) == moderation_log.PAGE},  # fmt: skip
    )


def message_of(error: Exception) -> str:
    """What a service's error says, as it was made: a Text stays a Text, so that the page
    shows it in the reader's language (`str(error)` would give its English)."""
    said = error.args[0] if error.args else ""
    return said if isinstance(said, str) and said else str(error)
