"""Mail pages: a resident's choice of notification mail, the one-click unsubscribe link in
those mails, and a dev node's mailbox."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import mail
from commonsfed.services.errors import ValidationError
from commonsfed.services.mail_transport import mailbox_entries, mailbox_entry
from commonsfed.web.flash import shown_on
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.middlewares import csrf_exempt, render_error
from commonsfed.web.views import require_account

# shown with |t, in the reader's language
CHOICE_LABELS = {
    "answer": N_("Someone answers one of my listings"),
    "decision": N_("A listing's author decides about my answer (reserved, declined, done), "
                   "or someone leaves the line of mine"),
    "message": N_("A new message in one of my conversations"),
    "mention": N_("Someone mentions me"),
    "match": N_("A new listing matches one of mine or one of my saved searches"),
}  # fmt: skip
assert set(CHOICE_LABELS) == set(mail.MAIL_CHOICES)


# --- notification choices ---------------------------------------------------------------


async def notifications_page(request: web.Request) -> web.Response:
    account = require_account(request)
    chosen = await mail.notification_choices(request.app[POOL], account)
    return _notifications(request, chosen)


def _notifications(request: web.Request, chosen: list[str], status: int = 200, **context):
    context = {"section": "notifications", "choices": CHOICE_LABELS, "chosen": chosen,
               "notice": None, "errors": {}, **context}  # fmt: skip
    return aiohttp_jinja2.render_template(
        "settings/notifications.html", request, context, status=status
    )


async def save_notifications(request: web.Request) -> web.Response:
    account = require_account(request)
    picked = [str(value) for value in (await request.post()).getall("mail", [])]
    try:
        chosen = await mail.set_notification_choices(request.app[POOL], account, picked)
    except ValidationError as exc:
        current = await mail.notification_choices(request.app[POOL], account)
        return _notifications(request, current, 400, errors=exc.errors)
    notice = (N_("Saved. You get mail about what you ticked.") if chosen else
              N_("Saved. You get no notification mail."))  # fmt: skip
    return await shown_on(request, "/settings/notifications", notice)


# --- unsubscribing -------------------------------------------------------------------------


async def unsubscribe_page(request: web.Request) -> web.Response:
    """The link in a mail's footer: a button, as opening a link must change nothing (mail
    scanners open them all); the POST it makes is the one RFC 8058 clients make."""
    token = request.match_info["token"]
    found = mail.read_unsubscribe_token(await mail.link_key(request.app[POOL]), token)
    if found is None:
        return render_error(
            request,
            404,
            N_("This unsubscribe link is not valid. Copy the "
               "whole link from the mail, or change your choices in your settings."),
        )
    context = {"token": token, "label": CHOICE_LABELS[found.choice], "done": False}
    return aiohttp_jinja2.render_template("email/unsubscribe.html", request, context)


@csrf_exempt  # RFC 8058: the mail client posts List-Unsubscribe=One-Click, with no session
async def unsubscribe(request: web.Request) -> web.Response:
    found = await mail.unsubscribe(request.app[POOL], request.match_info["token"])
    if found is None:
        return render_error(request, 404, N_("This unsubscribe link is not valid."))
    context = {"token": "", "label": CHOICE_LABELS[found.choice], "done": True}
    return aiohttp_jinja2.render_template("email/unsubscribe.html", request, context)


# --- the dev mailbox ------------------------------------------------------------------------


def _dev_only(request: web.Request) -> None:
    settings = request.app[SETTINGS]
    if not settings.dev or settings.mail_transport != "mailbox":
        raise web.HTTPNotFound()


async def mailbox(request: web.Request) -> web.Response:
    """A dev node's mail, newest first (`make run` shows the whole flow: what a resident
    would get by mail is here)."""
    _dev_only(request)
    entries = mailbox_entries(request.app[SETTINGS])
    return aiohttp_jinja2.render_template("email/mailbox.html", request, {"entries": entries})


async def mailbox_message(request: web.Request) -> web.Response:
    _dev_only(request)
    entry = mailbox_entry(request.app[SETTINGS], request.match_info["name"])
    if entry is None:
        raise web.HTTPNotFound()
    return aiohttp_jinja2.render_template("email/mailbox_message.html", request, {"entry": entry})
