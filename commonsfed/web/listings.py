"""Listing pages: new, show, edit, state changes, pledges, portions, my listings, photos, and
the admins' categories page.

Uploads: the two forms that carry photos are exempt from the CSRF middleware and read their
multipart body as a stream, with caps; web/uploads.py reads it and checks their CSRF token.
"""

from __future__ import annotations

import functools
import re

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import KINDS, PURPOSES
from commonsfed.services import (
    account_actions,
    listing_federation,
    listing_forms,
    listings,
    matching,
    moderation,
    places,
    search,
    sorted_search,
)
from commonsfed.services.answer_notices import STILL_IN_LINE
from commonsfed.services.answers import ListingAnswers
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.markdown import render_markdown
from commonsfed.services.photos import (
    CONTENT_TYPES,
    MAX_PHOTOS,
    MAX_UPLOAD_BYTES,
    media_path,
    photo_file,
)
from commonsfed.web import answers as answers_web
from commonsfed.web import loans as loans_web
from commonsfed.web import projects as projects_web
from commonsfed.web.activitypub import as2_response, require_signature, wants_as2
from commonsfed.web.admin import message_of
from commonsfed.web.flash import flash
from commonsfed.web.keys import ACCOUNT, POOL, SETTINGS
from commonsfed.web.language import translate
from commonsfed.web.middlewares import csrf_exempt, render_error
from commonsfed.web.uploads import SubmittedForm, read_form_with_photos
from commonsfed.web.views import require_account, require_admin

# the whole body of a form with photos: four photos at their cap, the text, and room to
# drain an oversized photo or two so its sender still gets the form back with a message
MAX_FORM_BODY = 128 * 1024 * 1024
PHOTO_FIELD_RE = re.compile(r"^photo_[1-9]$")
BODY_TOO_LARGE = Text(
    N_(
        "The photos were too large together. Send at most %(photos)s photos of %(megabytes)s MB "
        "each, and choose them again."
    ),
    photos=MAX_PHOTOS,
    megabytes=MAX_UPLOAD_BYTES // (1024 * 1024),
)
CACHE_FOREVER = "public, max-age=31536000, immutable"  # a photo's name changes with its bytes

PURPOSE_LABELS = {"offer": N_("Offer"), "request": N_("Request")}
KIND_LABELS = {
    "give": N_("Give away"),
    "lend": N_("Lend"),
    "swap": N_("Swap"),
    "service": N_("Service or time"),
    "ride": N_("Ride"),
    "stay": N_("Stay"),
    "group_purchase": N_("Group purchase"),
    "pay_it_forward": N_("Pay it forward"),
    "shared": N_("Shared place or tool"),
    "project": N_("Neighbourhood project"),
}
KIND_HINTS = {
    "give": N_("Something to keep, for free."),
    "lend": N_("Something to borrow and bring back."),
    "swap": N_("Something in exchange for something else."),
    "service": N_("An hour of help or a skill; time for time."),
    "ride": N_("A seat in a car, a van or on a cargo bike."),
    "stay": N_("A room or a sofa for a few nights."),
    "group_purchase": N_("Buy together to order in bulk; neighbours pledge quantities."),
    "pay_it_forward": N_("Portions paid in advance for whoever needs them."),
    "shared": N_("A shelf, a tool library, a room or a workshop many can use."),
    "project": N_(
        "Something neighbours make happen together: hours, materials and money "
        "pledged by a deadline."
    ),
}
STATE_LABELS = {
    "open": N_("Open"),
    "reserved": N_("Reserved"),
    "completed": N_("Completed"),
    "withdrawn": N_("Withdrawn"),
    "expired": N_("Expired"),
}
STATE_ACTIONS = {
    "open": N_("Open it again"),
    "reserved": N_("Mark reserved"),
    "completed": N_("Mark completed"),
    "withdrawn": N_("Withdraw"),
}
# a listing's history: what happened to it (a lower-case word, as in "reserved by @alice")
EVENT_WORDS = {
    "created": N_("posted"),
    "edited": N_("edited"),
    "open": N_("open"),
    "reserved": N_("reserved"),
    "completed": N_("completed"),
    "withdrawn": N_("withdrawn"),
    "expired": N_("expired"),
}
LABELS = {
    "events": EVENT_WORDS,
    "purposes": PURPOSE_LABELS,
    "kinds": KIND_LABELS,
    "kind_hints": KIND_HINTS,
    "states": STATE_LABELS,
    "actions": STATE_ACTIONS,
}


# --- reading a form with photos (web/uploads.py) ------------------------------------------


async def read_listing_form(request: web.Request) -> SubmittedForm:
    """The listing form, multipart or not, after checking its CSRF token (403 if wrong)."""
    return await read_form_with_photos(request, PHOTO_FIELD_RE, MAX_FORM_BODY)


# --- new and edit --------------------------------------------------------------------------


def _kind_and_purpose(values: dict[str, str]) -> tuple[str, str] | None:
    purpose, kind = values.get("purpose", ""), values.get("kind", "")
    if kind == "project":
        purpose = "request"  # a project asks neighbours for what it needs
    return (purpose, kind) if purpose in PURPOSES and kind in KINDS else None


async def _render_form(
    request: web.Request, values: dict, errors: dict, *, listing=None, status: int = 200
) -> web.Response:
    pool = request.app[POOL]
    photos = await listings.listing_photos(pool, listing.id) if listing else []
    named = await places.all_places(pool)
    if listing is not None and "place_id" not in values:  # editing: the place chosen before
        chosen = places.chosen_place(named, listing.place, listing.latitude, listing.longitude)
        values = {**values, "place_id": str(chosen.id) if chosen else ""}
    context = {
        "places": named,
        "values": values,
        "errors": errors,
        "listing": listing,
        "photos": photos,
        "free_slots": range(1, MAX_PHOTOS - len(photos) + 1),
        "categories": await listings.categories(pool),
        "labels": LABELS,
        "purpose": values["purpose"],
        "kind": values["kind"],
        "action": f"/listings/{listing.uid}/edit" if listing else "/listings/new",
    }
    return aiohttp_jinja2.render_template("listings/form.html", request, context, status=status)


async def new_form(request: web.Request) -> web.Response:
    require_account(request)
    chosen = _kind_and_purpose(dict(request.query))
    if chosen is None or "change" in request.query:  # "change": back to step one, preselected
        context = {"labels": LABELS, "values": dict(request.query), "error": None}
        return aiohttp_jinja2.render_template("listings/choose.html", request, context)
    purpose, kind = chosen
    today = listing_forms.now_utc().astimezone(request.app[SETTINGS].tz).date()
    default_expiry = today + listing_forms.DEFAULT_EXPIRY
    values = {"purpose": purpose, "kind": kind, "expires_on": default_expiry.isoformat()}
    return await _render_form(request, values, {})


def _form_refusal(form: SubmittedForm) -> dict[str, str] | None:
    return {"photos": BODY_TOO_LARGE} if form.too_large else None


@csrf_exempt  # the CSRF token is checked in read_listing_form: see the module's docstring
async def new_submit(request: web.Request) -> web.Response:
    account = require_account(request)
    form = await read_listing_form(request)
    if _kind_and_purpose(form.fields) is None:
        if form.too_large:  # refused from its Content-Length: nothing of the form was read
            context = {"labels": LABELS, "values": {}, "error": BODY_TOO_LARGE}
            return aiohttp_jinja2.render_template(
                "listings/choose.html", request, context, status=413
            )
        raise web.HTTPSeeOther("/listings/new")
    if errors := _form_refusal(form):
        return await _render_form(request, form.fields, errors, status=413)
    try:
        listing = await listings.create_listing(
            request.app[POOL], request.app[SETTINGS], account, form.fields, form.uploads
        )
    except ValidationError as exc:
        return await _render_form(request, form.fields, exc.errors, status=422)
    await flash(request, _PUBLISHED[listing.purpose])
    raise web.HTTPSeeOther(f"/listings/{listing.uid}")


async def _own_listing(request: web.Request):
    account = require_account(request)
    listing = await listings.get_listing(request.app[POOL], request.match_info["uid"])
    if listing is None:
        raise web.HTTPNotFound()
    if listing.author_id != account.id:
        raise web.HTTPForbidden(text=listings.NOT_THE_AUTHOR)
    if not listing.is_open:
        raise web.HTTPConflict(text=translate(request, listings.NO_LONGER_EDITABLE[listing.state]))
    return account, listing


async def edit_form(request: web.Request) -> web.Response:
    _, listing = await _own_listing(request)
    values = listing_forms.form_values(listing, request.app[SETTINGS].tz)
    return await _render_form(request, values, {}, listing=listing)


@csrf_exempt  # the CSRF token is checked in read_listing_form: see the module's docstring
async def edit_submit(request: web.Request) -> web.Response:
    account, listing = await _own_listing(request)
    form = await read_listing_form(request)
    values = {**form.fields, "purpose": listing.purpose, "kind": listing.kind}
    if errors := _form_refusal(form):
        return await _render_form(request, values, errors, listing=listing, status=413)
    try:
        await listings.update_listing(
            request.app[POOL], request.app[SETTINGS], account, listing.uid, values, form.uploads
        )
    except ValidationError as exc:
        return await _render_form(request, values, exc.errors, listing=listing, status=422)
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, N_("Your changes are saved."))
    raise web.HTTPSeeOther(f"/listings/{listing.uid}")


# --- a listing's page and what people do on it ---------------------------------------------


def _refused(request: web.Request, exc: ServiceError) -> web.Response:
    if isinstance(exc, listings.ListingNotFound):
        return render_error(request, 404)
    status = 403 if isinstance(exc, NotAllowed) else 409
    return render_error(request, status, message_of(exc))


def photo_index(request: web.Request, photos: int) -> int:
    """The photo the gallery shows large: ?photo=N (from 1), the first one otherwise."""
    try:
        chosen = int(request.query.get("photo", "1"))
    except ValueError:
        return 0
    return chosen - 1 if 1 <= chosen <= photos else 0


# the listing's own buttons that an answer's row offers too, with the person it is for
BY_ANSWER = frozenset({"reserved", "completed"})


def manage_states(view: listings.ListingView, answers: ListingAnswers | None) -> list[str]:
    """The state buttons of the manage section: one clear set. While someone is in line,
    reserving and completing are done on their answer (which tells them), so the listing's
    own buttons for these go; while an answer holds the reservation, so does "open it
    again" (releasing the answer opens it)."""
    conversations = answers.conversations if answers else []
    in_line = any(conv.state in STILL_IN_LINE for conv in conversations)
    holding = any(conv.state == "reserved" for conv in conversations)
    return [
        state
        for state in view.next_states
        if not (in_line and state in BY_ANSWER) and not (holding and state == "open")
    ]


async def render_listing(
    request: web.Request, errors: dict | None = None, status: int = 200, values: dict | None = None
) -> web.Response:
    view = await listings.listing_view(
        request.app[POOL], request.match_info["uid"], request[ACCOUNT]
    )
    if view is None:
        raise web.HTTPNotFound()
    answers_context = await answers_web.listing_context(request)
    author = request[ACCOUNT] is not None and request[ACCOUNT].id == view.listing.author_id
    context = {
        "matches": await matching.matches_for(request.app[POOL], view.listing.id) if author else [],
        "view": view,
        "listing": view.listing,
        "labels": LABELS,
        "errors": errors or {},
        "description_html": Markup(render_markdown(view.listing.description)),
        "until_day": listing_forms.last_day(view.listing.available_until, request.app[SETTINGS].tz),
        "expires_day": listing_forms.last_day(view.listing.expires_at, request.app[SETTINGS].tz),
        "photo_index": photo_index(request, len(view.photos)),
        "manage_states": manage_states(view, answers_context.get("answers")),
        **answers_context,
        **await loans_web.listing_context(request, view.listing),
        **await projects_web.listing_context(request, view.listing),
        "values": values or {},
    }
    return aiohttp_jinja2.render_template("listings/show.html", request, context, status=status)


async def show(request: web.Request) -> web.Response:
    """The listing's page; its AS2 Note for peers that ask for activity+json (Mastodon
    fetches the object of the Group's Announce from its id)."""
    pool, settings, uid = request.app[POOL], request.app[SETTINGS], request.match_info["uid"]
    if await account_actions.author_suspended(pool, uid):
        # hidden while the author is suspended, and back if the suspension is lifted: 404,
        # not the 410 of a listing that is gone for good
        raise web.HTTPNotFound(text=listings.NO_SUCH_LISTING)
    if wants_as2(request):
        await require_signature(request)
        document = await listing_federation.listing_document(pool, settings, uid)
        if document is None:
            removed = await listings.removed_listing(pool, uid)
            if removed is None:
                raise web.HTTPNotFound(text=listings.NO_SUCH_LISTING)
            return as2_response(listing_federation.tombstone(settings, removed), status=410)
        return as2_response(document)
    if await listings.get_listing(pool, uid) is None and await listings.removed_listing(pool, uid):
        return render_error(
            request, 410, N_("This listing was removed by the person who posted it.")
        )
    response = await render_listing(request)
    response.headers["Vary"] = "Accept"
    return response


async def remove(request: web.Request) -> web.Response:
    """Remove a listing for good: its author (listings.remove_listing), or a moderator with a
    reason (moderation.remove_listing), which its author is told."""
    account = require_account(request)
    pool, settings, uid = request.app[POOL], request.app[SETTINGS], request.match_info["uid"]
    listing = await listings.get_listing(pool, uid)
    by_moderator = listing is not None and listing.author_id != account.id and account.is_moderator
    try:
        if by_moderator:
            reason = (await request.post()).get("reason", "")
            await moderation.remove_listing(pool, settings, account, uid, str(reason))
        else:
            await listings.remove_listing(pool, settings, account, uid)
    except ValidationError as exc:
        return render_error(request, 422, exc.errors.get("reason") or message_of(exc))
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(
        request,
        N_("Listing removed; its author is told.") if by_moderator else N_("Listing removed."),
    )
    raise web.HTTPSeeOther("/admin/log" if by_moderator else "/my/listings")


# what a resident is told after moving their listing to a state
_STATE_CHANGED = {
    "open": N_("Your listing is open again."),
    "reserved": N_("Your listing is marked reserved."),
    "completed": N_("Your listing is marked done. Thank you for sharing!"),
    "withdrawn": N_("Listing withdrawn."),
}
# what a resident is told once their new listing is out
_PUBLISHED = {"offer": N_("Your offer is published."), "request": N_("Your request is published.")}


async def change_state(request: web.Request) -> web.Response:
    account = require_account(request)
    form = await request.post()
    uid = request.match_info["uid"]
    try:
        changed = await listings.change_state(
            request.app[POOL], request.app[SETTINGS], account, uid, str(form.get("state", "")))
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, _STATE_CHANGED.get(changed.state, N_("The listing's state is changed.")))
    raise web.HTTPSeeOther(f"/listings/{uid}")


async def pledge(request: web.Request) -> web.Response:
    account = require_account(request)
    form = await request.post()
    uid = request.match_info["uid"]
    try:
        await listings.pledge(
            request.app[POOL], request.app[SETTINGS], account, uid, str(form.get("quantity", "")))
    except ValidationError as exc:
        return await render_listing(request, exc.errors, status=422)
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, N_("Your pledge is counted; the organiser is told."))
    raise web.HTTPSeeOther(f"/listings/{uid}")


async def claim(request: web.Request) -> web.Response:
    account = require_account(request)
    uid = request.match_info["uid"]
    try:
        await listings.claim_portion(request.app[POOL], request.app[SETTINGS], account, uid)
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, N_("A portion is yours; the author is told."))
    raise web.HTTPSeeOther(f"/listings/{uid}")


async def my_listings(request: web.Request) -> web.Response:
    account = require_account(request)
    cards = await sorted_search.my_cards(request.app[POOL], account)
    context = {"cards": cards, "labels": LABELS, "age": search_age(request)}
    return aiohttp_jinja2.render_template("listings/mine.html", request, context)


def search_age(request: web.Request):
    """services.search.age in the node's time zone, for the cards' templates."""
    return functools.partial(search.age, tz=request.app[SETTINGS].tz)


# --- photos --------------------------------------------------------------------------------


async def media(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = await photo_file(media_path, request.app[SETTINGS], name)
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(
        path,
        headers={
            "Content-Type": CONTENT_TYPES[name.rsplit(".", 1)[1]],
            "Cache-Control": CACHE_FOREVER,
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- admins: categories --------------------------------------------------------------------


async def _render_categories(request: web.Request, status: int = 200, **forms) -> web.Response:
    """forms: errors/values of the add form, rename_errors (by slug)/rename_values."""
    context = {
        "categories": await listings.categories(request.app[POOL]),
        "errors": {},
        "values": {},
        "rename_errors": {},
        "rename_values": {},
        **forms,
    }
    return aiohttp_jinja2.render_template(
        "listings/admin_categories.html", request, context, status=status
    )


async def categories_page(request: web.Request) -> web.Response:
    require_admin(request)
    return await _render_categories(request)


async def add_category(request: web.Request) -> web.Response:
    account = require_admin(request)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    try:
        await listings.add_category(request.app[POOL], account, form)
    except ValidationError as exc:
        return await _render_categories(request, 422, errors=exc.errors, values=form)
    await flash(request, N_("Category added."))
    raise web.HTTPSeeOther("/admin/categories")


async def rename_category(request: web.Request) -> web.Response:
    account = require_admin(request)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    try:
        await listings.rename_category(request.app[POOL], account, form)
    except ValidationError as exc:
        # one message, shown next to the row of the category being renamed
        errors = {
            form.get("slug", ""): " ".join(translate(request, e) for e in exc.errors.values())
        }
        return await _render_categories(request, 422, rename_errors=errors, rename_values=form)
    await flash(request, N_("Category renamed."))
    raise web.HTTPSeeOther("/admin/categories")
