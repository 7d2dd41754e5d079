"""Answer pages: answering a listing, its conversations and their decisions, "my answers",
and notifications (with the unread count every page's navigation shows)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import answers, notifications, thanks, timebank_exchanges
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.listings import ListingNotFound
from commonsfed.web.admin import message_of
from commonsfed.web.flash import flash
from commonsfed.web.keys import ACCOUNT, POOL, SETTINGS
from commonsfed.web.middlewares import render_error
from commonsfed.web.views import require_account, safe_next

STATES = {
    "waiting": N_("Waiting in line"),
    "offered": N_("Offered the listing"),
    "reserved": N_("Reserved"),
    "declined": N_("Declined"),
    "completed": N_("Completed"),
    "withdrawn": N_("Withdrawn"),
    "closed": N_("Closed"),  # still in line when the listing closed (Conversation.left_behind)
}
ACTIONS = {
    "reserve": N_("Reserve for them"),
    "complete": N_("Mark completed"),
    "release": N_("Release"),
    "decline": N_("Decline"),
}
# web.listings has these too; it will import this module (listing_context), so not from there
LISTING_STATES = {
    "open": N_("Open"),
    "reserved": N_("Reserved"),
    "completed": N_("Completed"),
    "withdrawn": N_("Withdrawn"),
    "expired": N_("Expired"),
}
LABELS = {"states": STATES, "actions": ACTIONS, "listing_states": LISTING_STATES}
DECISIONS = {
    "reserve": answers.reserve,
    "decline": answers.decline,
    "complete": answers.complete,
    "withdraw": answers.withdraw,
}
NOT_PAGES = ("/static/", "/media/")  # files a logged-in browser fetches with each page


def _refused(request: web.Request, exc: ServiceError) -> web.Response:
    if isinstance(exc, (ListingNotFound, answers.ConversationNotFound)):
        return render_error(request, 404)
    return render_error(request, 403 if isinstance(exc, NotAllowed) else 409, message_of(exc))


async def _form_text(request: web.Request, name: str) -> str:
    value = (await request.post()).get(name, "")
    return value if isinstance(value, str) else ""


def _conversation_id(request: web.Request) -> int:
    return int(request.match_info["id"])


# --- a listing's answers -------------------------------------------------------------------


async def _render_listing_answers(
    request: web.Request, errors: dict | None = None, message: str = "", status: int = 200
) -> web.Response:
    view = await answers.listing_answers(
        request.app[POOL], request.match_info["uid"], request[ACCOUNT]
    )
    if view is None:
        raise web.HTTPNotFound()
    context = {
        "answers": view,
        "listing": view.listing,
        "answer_labels": LABELS,
        "answer_errors": errors or {},
        "answer_message": message,
    }
    return aiohttp_jinja2.render_template("answers/listing.html", request, context, status=status)


async def listing_context(request: web.Request) -> dict:
    """What templates/answers/_section.html needs on a listing's own page."""
    view = await answers.listing_answers(
        request.app[POOL], request.match_info["uid"], request[ACCOUNT]
    )
    return {"answers": view, "answer_labels": LABELS} if view else {}


async def listing_answers(request: web.Request) -> web.Response:
    """The answers of one listing: its line for the author, the answer form for others."""
    return await _render_listing_answers(request)


async def answer(request: web.Request) -> web.Response:
    account = require_account(request)
    message = await _form_text(request, "message")
    try:
        conv = await answers.answer(
            request.app[POOL], request.app[SETTINGS], account, request.match_info["uid"], message
        )
    except ValidationError as exc:
        return await _render_listing_answers(request, exc.errors, message, status=422)
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, N_("Answer sent. You will be told when they reply."))
    raise web.HTTPSeeOther(f"/conversations/{conv.id}")


# --- one conversation ----------------------------------------------------------------------


async def _render_conversation(
    request: web.Request, errors: dict | None = None, message: str = "", status: int = 200
) -> web.Response:
    return await render_conversation(request, errors, message, status=status)


async def render_conversation(
    request: web.Request,
    errors: dict | None = None,
    message: str = "",
    *,
    thanks_errors: dict | None = None,
    thanks_text: str = "",
    hours_errors: dict | None = None,
    hours_form: dict | None = None,
    status: int = 200,
) -> web.Response:
    """The conversation page; with the thanks form's errors and text when web.thanks
    refused what was typed there (and the hours forms' when web.hours did)."""
    account = require_account(request)
    try:
        view = await answers.conversation(request.app[POOL], account, _conversation_id(request))
    except ServiceError as exc:
        return _refused(request, exc)
    context = {
        "view": view,
        "conv": view.conversation,
        "answer_labels": LABELS,
        "answer_errors": errors or {},
        "answer_message": message,
        "thanks": await thanks.for_conversation(request.app[POOL], account, view.conversation),
        "thanks_errors": thanks_errors or {},
        "thanks_text": thanks_text,
        # the time bank's part (web.hours): the hours of a completed service
        "hours": await timebank_exchanges.for_conversation(
            request.app[POOL], account, view.conversation
        ),
        "hours_errors": hours_errors or {},
        "hours_form": hours_form or {},
    }
    return aiohttp_jinja2.render_template(
        "answers/conversation.html", request, context, status=status
    )


async def conversation(request: web.Request) -> web.Response:
    return await _render_conversation(request)


async def reply(request: web.Request) -> web.Response:
    account = require_account(request)
    message = await _form_text(request, "message")
    try:
        await answers.reply(
            request.app[POOL], request.app[SETTINGS], account, _conversation_id(request), message
        )
    except ValidationError as exc:
        return await _render_conversation(request, exc.errors, message, status=422)
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, N_("Message sent."))
    raise web.HTTPSeeOther(f"/conversations/{_conversation_id(request)}#latest")


# what each decision tells the one who took it
_DECIDED = {
    "reserve": N_("Reserved for them; they are told."),
    "release": N_("Reservation released."),
    "decline": N_("Answer declined; they are told."),
    "complete": N_("Marked done. You can leave them a thanks below."),
    "withdraw": N_("Your answer is withdrawn."),
}


async def decide(request: web.Request) -> web.Response:
    """reserve, release, decline, complete (the author) and withdraw (the respondent)."""
    account = require_account(request)
    form = await request.post()
    action, conversation_id = request.match_info["action"], _conversation_id(request)
    try:
        if action == "release":
            await answers.release(
                request.app[POOL], request.app[SETTINGS], account, conversation_id,
                str(form.get("then", "waiting")),
            )
        else:
            await DECISIONS[action](
                request.app[POOL], request.app[SETTINGS], account, conversation_id)
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, _DECIDED[action])
    raise web.HTTPSeeOther(
        safe_next(str(form.get("next", "")) or f"/conversations/{conversation_id}")
    )


# --- my answers and notifications ----------------------------------------------------------


async def my_answers(request: web.Request) -> web.Response:
    account = require_account(request)
    context = {
        "conversations": await answers.my_answers(request.app[POOL], account),
        "answer_labels": LABELS,
    }
    return aiohttp_jinja2.render_template("answers/mine.html", request, context)


async def notifications_page(request: web.Request) -> web.Response:
    """The latest notifications; seeing them marks them read."""
    account = require_account(request)
    shown = await notifications.read_and_mark(request.app[POOL], account)
    context = {"notifications": shown, "unread_notifications": 0}
    return aiohttp_jinja2.render_template("answers/notifications.html", request, context)


async def unread_context(request: web.Request) -> dict:
    """A template context processor: the unread count for the navigation. Processors run for
    every request, so the count is read only for pages a browser GETs: form posts redirect
    (or show their errors without the count), files and feeds need none."""
    account = request.get(ACCOUNT)
    if account is None or request.method != "GET" or request.path.startswith(NOT_PAGES):
        return {"unread_notifications": 0}
    return {"unread_notifications": await notifications.count_unread(request.app[POOL], account)}
