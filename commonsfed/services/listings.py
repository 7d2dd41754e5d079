"""Listings: create, edit, change state, expire; pledges, portions; categories.

Decisions (see also the report on issue 5; reading the form, dates and the kinds' own fields
are in services/listing_forms.py):
- Purpose and kind are fixed once a listing exists: to change them, withdraw it and post anew.
- Life cycle: see TRANSITIONS. Completed and expired are final; a withdrawn listing may be
  reopened by its author (or an admin) while its expiry date has not passed. Only the expiry
  job sets `expired`.
- Group purchases: the target is a minimum (the order goes ahead once it is reached), so
  pledges beyond it are welcome; `available_quantity` is what is still needed to reach it.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import listings as q
from commonsfed.db import mail as mail_q
from commonsfed.db import notifications as notes_q
from commonsfed.db import projects as projects_q
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account, Listing, ListingPhoto
from commonsfed.services import answer_notices, matching, places
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.listing_federation import (
    publish_created,
    publish_deleted,
    publish_updated,
)
from commonsfed.services.listing_forms import (
    Form,
    day_end,
    listing_fields,
    now_utc,
    purpose_and_kind,
)
from commonsfed.services.photos import (
    MAX_PHOTOS,
    PhotoRejected,
    ProcessedPhoto,
    Upload,
    process_upload,
    remove_photos,
    store_photos,
)

EXPIRE_BATCH = 500
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"reserved", "completed", "withdrawn"}),
    "reserved": frozenset({"open", "completed", "withdrawn"}),
    "withdrawn": frozenset({"open"}),
    "completed": frozenset(),
    "expired": frozenset(),
}
# the states that close a listing to its line: everyone still in it is told
CLOSING = frozenset({"completed", "withdrawn"})
SLUG_RE = re.compile(r"^[a-z0-9_]{1,30}$")

# what people are told, in their language where it is shown (marked constants and Texts);
# a state is named in a whole sentence, as French agrees the word with « annonce »
NO_SUCH_LISTING = N_("There is no such listing.")
NOT_THE_AUTHOR = N_("Only the person who posted this listing can edit it.")
NO_LONGER_EDITABLE = {
    "completed": N_("This listing is completed; it can no longer be edited."),
    "withdrawn": N_("This listing is withdrawn; it can no longer be edited."),
    "expired": N_("This listing is expired; it can no longer be edited."),
}
NO_MORE_ANSWERS = {
    "reserved": N_("This listing is reserved; it takes no more answers."),
    "completed": N_("This listing is completed; it takes no more answers."),
    "withdrawn": N_("This listing is withdrawn; it takes no more answers."),
    "expired": N_("This listing is expired; it takes no more answers."),
}
# a state a listing cannot move to from where it is (the buttons offer only the others)
NOT_NOW = {
    "open": N_("This listing cannot be opened again now."),
    "reserved": N_("This listing cannot be marked reserved now."),
    "completed": N_("This listing cannot be marked completed now."),
    "withdrawn": N_("This listing cannot be withdrawn now."),
}
NO_SUCH_STATE = N_("A listing has no such state.")
ONLY_PAY_IT_FORWARD = N_("Only pay-it-forward offers have portions to claim.")


class ListingNotFound(ServiceError):
    """No listing has this id."""


class InvalidTransition(ServiceError):
    """The listing's state does not allow this (a completed listing reserved, ...)."""


def new_uid() -> str:
    return secrets.token_urlsafe(8)  # 11 characters, 64 random bits


async def _check_category(conn: asyncpg.Connection, f: Form, slug: str) -> None:
    if not slug or not await q.category_exists(conn, slug):
        f.fail("category", N_("Choose a category."))


# --- photos in a form ----------------------------------------------------------------------


@dataclass(frozen=True)
class _NewPhoto:
    processed: ProcessedPhoto
    alt: str


def _alt(f: Form, name: str) -> str:
    return f.text(
        name, 500, N_("Describe this photo in a few words, for neighbours who cannot see it.")
    )


async def _new_photos(f: Form, uploads: list[Upload], kept: int) -> list[_NewPhoto]:
    """Uploads checked and processed in memory; nothing is written here."""
    uploads = [upload for upload in uploads if upload.data or upload.too_large]
    if kept + len(uploads) > MAX_PHOTOS:
        f.fail(
            "photos",
            Text(
                N_("A listing has at most %(limit)s photos. Remove one before adding another."),
                limit=MAX_PHOTOS,
            ),
        )
        return []
    result = []
    for upload in uploads:
        alt = _alt(f, "alt_" + upload.field.removeprefix("photo_"))
        try:
            result.append(_NewPhoto(await process_upload(upload), alt))
        except PhotoRejected as exc:
            f.fail(upload.field, exc.args[0] if exc.args else str(exc))
    return result


def _kept_photos(
    f: Form, existing: list[ListingPhoto]
) -> tuple[list[tuple[ListingPhoto, str]], list[ListingPhoto]]:
    """(photos kept with their possibly new alt text, photos to remove), from an edit form."""
    kept, removed = [], []
    for photo in existing:
        if f.raw(f"remove_photo_{photo.id}"):
            removed.append(photo)
        else:
            kept.append((photo, _alt(f, f"photo_alt_{photo.id}")))
    return kept, removed


@dataclass(frozen=True)
class StoredPhoto:
    """A photo already through the pipeline and written (an app's upload, services.media):
    a new listing takes its file as it is."""

    filename: str
    alt: str
    width: int
    height: int


# --- create and edit -----------------------------------------------------------------------


async def create_listing(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    form: Mapping[str, Any],
    photos: list[Upload],
    *,
    now: datetime | None = None,
    stored: Sequence[StoredPhoto] = (),
    within: Callable[[asyncpg.Connection, int], Awaitable[None]] | None = None,
) -> Listing:
    """Check everything, then write the photos, then the rows in one transaction.

    `stored`: photos written already, which come first; `within(conn, listing_id)` runs in
    the transaction that writes the listing (the client API attaches the uploads it used)."""
    f = Form(form, now or now_utc(), settings.tz)
    purpose, kind = purpose_and_kind(f)
    await places.apply_choice(pool, f)
    fields = listing_fields(f, kind)
    new_photos = await _new_photos(f, photos, kept=len(stored))
    async with pool.acquire() as conn:
        await _check_category(conn, f, fields["category"])
        if f.errors:
            raise ValidationError(f.errors)
        uid = new_uid()

        async def write(names: list[str]) -> None:
            listing_id = await q.insert_listing(
                conn, uid=uid, author_id=account.id, purpose=purpose, kind=kind, fields=fields,
                language=account.language or settings.language,
            )
            for position, photo in enumerate(stored):
                await q.insert_photo(conn, listing_id, filename=photo.filename, alt=photo.alt,
                                     width=photo.width, height=photo.height,
                                     position=position)  # fmt: skip
            await _insert_photos(conn, listing_id, new_photos, names, start=len(stored))
            if within is not None:
                await within(conn, listing_id)
            await q.insert_event(conn, listing_id, "created", "open", account.id)
            await matching.on_new_listing(conn, settings, listing_id)
            await publish_created(conn, settings, uid)

        await _with_photos(conn, settings, new_photos, write)
        return await q.get_listing(conn, uid)


async def _with_photos(conn, settings: Settings, new_photos: list[_NewPhoto], write) -> None:
    """Write the photo files, then run `write(names)` in a transaction; files go if it fails."""
    names = await store_photos(settings, [photo.processed for photo in new_photos])
    try:
        async with conn.transaction():
            await write(names)
    except BaseException:
        await remove_photos(settings, names)
        raise


async def _insert_photos(
    conn, listing_id: int, photos: list[_NewPhoto], names: list[str], start: int
) -> None:
    for position, (photo, name) in enumerate(zip(photos, names, strict=True), start=start):
        await q.insert_photo(
            conn,
            listing_id,
            filename=name,
            alt=photo.alt,
            width=photo.processed.width,
            height=photo.processed.height,
            position=position,
        )


async def update_listing(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    uid: str,
    form: Mapping[str, Any],
    photos: list[Upload],
    *,
    now: datetime | None = None,
) -> Listing:
    """Edit the text, dates, details and photos of an open or reserved listing (its author)."""
    f = Form(form, now or now_utc(), settings.tz)
    await places.apply_choice(pool, f)
    async with pool.acquire() as conn:
        listing = _editable(await q.get_listing(conn, uid), account)
        fields = listing_fields(f, listing.kind)
        kept, removed = _kept_photos(f, await q.listing_photos(conn, listing.id))
        new_photos = await _new_photos(f, photos, kept=len(kept))
        await _check_category(conn, f, fields["category"])
        await _check_needs(conn, f, listing, fields["details"])
        if f.errors:
            raise ValidationError(f.errors)

        async def write(names: list[str]) -> None:
            current = _editable(await q.get_listing(conn, uid, for_update=True), account)
            fields["available_quantity"] = await _available(conn, current, fields["quantity"])
            await q.update_listing(conn, current.id, fields)
            await q.delete_photos(conn, [photo.id for photo in removed])
            for position, (photo, alt) in enumerate(kept):
                await q.update_photo(conn, photo.id, alt, position)
            await _insert_photos(conn, current.id, new_photos, names, start=len(kept))
            await q.insert_event(conn, current.id, "edited", current.state, account.id)
            await matching.on_edited_listing(conn, settings, current.id)
            await publish_updated(conn, settings, uid)

        await _with_photos(conn, settings, new_photos, write)
        # the rows are gone for good now, so their files may go too
        await remove_photos(settings, [photo.filename for photo in removed])
        return await q.get_listing(conn, uid)


async def _check_needs(conn, f: Form, listing: Listing, details: dict) -> None:
    """A project's needs are fixed once someone pledged: a need's key is its position."""
    if listing.kind != "project" or details.get("needs") == listing.details.get("needs"):
        return
    if await projects_q.has_pledges(conn, listing.id):
        f.fail("hours_needed", N_("The needs cannot change once neighbours have pledged."))


def _editable(listing: Listing | None, account: Account) -> Listing:
    if listing is None:
        raise ListingNotFound(NO_SUCH_LISTING)
    if listing.author_id != account.id:
        raise NotAllowed(NOT_THE_AUTHOR)
    if not listing.is_open:
        raise InvalidTransition(NO_LONGER_EDITABLE[listing.state])
    return listing


async def _available(conn, listing: Listing, quantity: int | None) -> int | None:
    """What is left of a new quantity once pledges or claims already made are counted."""
    if quantity is None:
        return None
    if listing.kind == "group_purchase":
        total, _ = await q.pledged(conn, listing.id, None)
        return max(quantity - total, 0)
    if listing.kind == "pay_it_forward":
        claimed, _ = await q.claims(conn, listing.id, None)
        if quantity < claimed:
            raise ValidationError(
                {"portions": Text(N_("%(claimed)s portions were claimed already; enter "
                                     "%(claimed)s or more."), claimed=claimed)}
            )
        return quantity - claimed
    return quantity


# --- life cycle ----------------------------------------------------------------------------


def may_manage(listing: Listing, account: Account | None) -> bool:
    return account is not None and (account.id == listing.author_id or account.is_admin)


STATE_ORDER = ("open", "reserved", "completed", "withdrawn")  # the ones a person can choose


def next_states(listing: Listing, now: datetime | None = None) -> list[str]:
    """The states this listing may move to now, for the buttons its author sees."""
    return [state for state in STATE_ORDER if _transition_error(listing, state, now) is None]


def _transition_error(listing: Listing, new_state: str, now: datetime | None) -> str | None:
    if new_state not in TRANSITIONS[listing.state]:
        return NOT_NOW.get(new_state, NO_SUCH_STATE)
    expired = listing.expires_at is not None and listing.expires_at <= (now or now_utc())
    if listing.state == "withdrawn" and expired:
        return N_("This listing has passed its expiry date. Post it again instead.")
    return None


async def _managed(conn, uid: str, account: Account, refusal: str) -> Listing:
    """The listing, locked, if `account` may manage it; else ListingNotFound or NotAllowed."""
    listing = await q.get_listing(conn, uid, for_update=True)
    if listing is None:
        raise ListingNotFound(NO_SUCH_LISTING)
    if not may_manage(listing, account):
        raise NotAllowed(refusal)
    return listing


async def change_state(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    uid: str,
    new_state: str,
    *,
    now: datetime | None = None,
) -> Listing:
    """Move a listing to `new_state`: its author or an admin, along TRANSITIONS only."""
    async with pool.acquire() as conn, conn.transaction():
        listing = await _managed(
            conn, uid, account, N_("Only the person who posted this listing can change it.")
        )
        if new_state not in TRANSITIONS:
            raise InvalidTransition(
                Text(N_("%(state)s is not a state a listing can have."), state=repr(new_state))
            )
        problem = _transition_error(listing, new_state, now)
        if problem:
            raise InvalidTransition(problem)
        await q.set_state(conn, listing.id, new_state)
        await q.insert_event(conn, listing.id, "state", new_state, account.id)
        await publish_updated(conn, settings, uid)
        if new_state in CLOSING:
            await answer_notices.tell_line_closed(conn, settings, listing.id)
        return await q.get_listing(conn, uid)


async def remove_listing(
    pool: asyncpg.Pool, settings: Settings, account: Account, uid: str
) -> None:
    """Remove a listing for good (its author; a moderator removes one with a reason, through
    services.moderation): a Delete with a Tombstone goes to everyone who had it, the row and
    all that hangs off it go, its photos' files after."""
    refusal = N_("Only the person who posted this listing or a moderator can remove it.")
    async with pool.acquire() as conn, conn.transaction():
        listing = await _managed(conn, uid, account, refusal)
        if listing.author_id != account.id:
            raise NotAllowed(
                N_(
                    "Only the person who posted this listing or a moderator can "
                    "remove it. A moderator gives a reason, which its author is told."
                )
            )
        photos = await remove_in(conn, settings, listing)
    await remove_photos(settings, photos)


async def remove_in(conn: asyncpg.Connection, settings: Settings, listing: Listing) -> list[str]:
    """Remove `listing` in the caller's transaction (its Delete goes out with it); returns
    its photos' file names, for the caller to remove once the transaction committed."""
    photos = [photo.filename for photo in await q.listing_photos(conn, listing.id)]
    await publish_deleted(conn, settings, listing)
    await q.remove_listing(conn, listing)
    return photos


async def removed_listing(pool: asyncpg.Pool, uid: str) -> asyncpg.Record | None:
    async with pool.acquire() as conn:
        return await q.removed_listing(conn, uid)


async def expire_due(pool: asyncpg.Pool, settings: Settings, now: datetime | None = None) -> int:
    """The scheduled job: open or reserved listings past `expires_at` become expired, and
    each expiry goes out as an Update, as any change of state does; who was still in line
    is told, as when a listing is completed or withdrawn.

    Returns how many expired. Runs in batches, each its own transaction, so a backlog never
    holds a long lock; safe to run from several workers at once.
    """
    now, total = now or now_utc(), 0
    async with pool.acquire() as conn:
        while True:
            async with conn.transaction():
                uids = await q.expire_due(conn, now, EXPIRE_BATCH)
                for uid in uids:
                    await publish_updated(conn, settings, uid)
                    await _tell_line(conn, settings, uid)
            total += len(uids)
            if len(uids) < EXPIRE_BATCH:
                return total


async def _tell_line(conn, settings: Settings, uid: str) -> None:
    listing = await q.get_listing(conn, uid)
    await answer_notices.tell_line_closed(conn, settings, listing.id)


# --- group purchases and pay-it-forward ----------------------------------------------------


@dataclass(frozen=True)
class PledgeSummary:
    total: int
    target: int
    mine: int

    @property
    def reached(self) -> bool:
        return self.total >= self.target


async def _lock_open(conn, uid: str, kind: str, wrong_kind: str) -> Listing:
    listing = await q.get_listing(conn, uid, for_update=True)
    if listing is None:
        raise ListingNotFound(NO_SUCH_LISTING)
    if listing.kind != kind:
        raise NotAllowed(wrong_kind)
    if listing.state != "open":
        raise InvalidTransition(NO_MORE_ANSWERS[listing.state])
    return listing


async def pledge(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    uid: str,
    quantity: str,
    *,
    now: datetime | None = None,
) -> PledgeSummary:
    """Set this account's pledge towards a group purchase; 0 takes it back."""
    f = Form({"quantity": quantity}, now or now_utc(), settings.tz)
    amount = f.whole("quantity", 100_000, N_("Say how many you want."), low=0)
    if f.errors:
        raise ValidationError(f.errors)
    async with pool.acquire() as conn, conn.transaction():
        listing = await _lock_open(
            conn, uid, "group_purchase", N_("Only group purchases take pledges.")
        )
        if day_end(date.fromisoformat(listing.details["deadline"]), f.tz) <= f.now:
            raise InvalidTransition(N_("The deadline for pledges has passed."))
        if amount:
            await q.set_pledge(conn, listing.id, account.id, amount)
            await _tell_organiser(conn, settings, listing, account)
        else:
            await q.delete_pledge(conn, listing.id, account.id)
        total, mine = await q.pledged(conn, listing.id, account.id)
        await q.set_available_quantity(conn, listing.id, max(listing.quantity - total, 0))
        await publish_updated(conn, settings, uid)
    return PledgeSummary(total=total, target=listing.quantity, mine=mine)


async def _tell_organiser(conn, settings: Settings, listing: Listing, pledger: Account) -> None:
    """A notification (and its mail, if they chose mail for answers) for the organiser."""
    if pledger.id == listing.author_id:
        return
    actor_uri = LocalUris(settings.base_url).user(pledger.username)
    await notes_q.insert_pledge_notice(conn, listing.author_id, listing.id, actor_uri)
    about = {
        "listing_title": listing.title,
        "other_side": f"@{pledger.username}",
        "path": f"/listings/{listing.uid}",
    }
    await mail_q.queue_notification_mail(conn, listing.author_id, "new_pledge", about)


async def claim_portion(
    pool: asyncpg.Pool, settings: Settings, account: Account, uid: str
) -> Listing:
    """Take one portion of a pay-it-forward offer; the last one completes it."""
    async with pool.acquire() as conn, conn.transaction():
        listing = await _lock_open(conn, uid, "pay_it_forward", ONLY_PAY_IT_FORWARD)
        if listing.purpose != "offer":
            raise NotAllowed(ONLY_PAY_IT_FORWARD)
        if listing.author_id == account.id:
            raise NotAllowed(N_("You cannot claim a portion of your own offer."))
        if not listing.available_quantity:
            raise InvalidTransition(N_("All portions have been claimed."))
        if not await q.insert_claim(conn, listing.id, account.id):
            raise NotAllowed(N_("You have claimed a portion of this offer already."))
        left = listing.available_quantity - 1
        await q.set_available_quantity(conn, listing.id, left)
        if left == 0:
            await q.set_state(conn, listing.id, "completed")
            await q.insert_event(conn, listing.id, "state", "completed", account.id)
            await answer_notices.tell_line_closed(conn, settings, listing.id)
        await publish_updated(conn, settings, uid)
        return await q.get_listing(conn, uid)


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingView:
    """Everything a listing's page shows, for one viewer."""

    listing: Listing
    photos: list[ListingPhoto]
    events: list[asyncpg.Record]
    category_name: str
    may_manage: bool
    next_states: list[str]
    pledged: int = 0
    my_pledge: int = 0
    claimed: int = 0
    my_claim: bool = False
    # a group purchase's pledges (username, quantity), for its organiser only
    pledgers: list[asyncpg.Record] = field(default_factory=list)
    is_organiser: bool = False  # the author of a group purchase


async def get_listing(pool: asyncpg.Pool, uid: str) -> Listing | None:
    async with pool.acquire() as conn:
        return await q.get_listing(conn, uid)


async def listing_view(pool: asyncpg.Pool, uid: str, viewer: Account | None) -> ListingView | None:
    async with pool.acquire() as conn:
        listing = await q.get_listing(conn, uid)
        if listing is None:
            return None
        viewer_id = viewer.id if viewer else None
        pledged, my_pledge = await q.pledged(conn, listing.id, viewer_id)
        claimed, my_claim = await q.claims(conn, listing.id, viewer_id)
        names = {row["slug"]: row["name"] for row in await q.categories(conn)}
        return ListingView(
            listing=listing,
            photos=await q.listing_photos(conn, listing.id),
            events=await q.listing_events(conn, listing.id),
            category_name=names.get(listing.category, listing.category),
            may_manage=may_manage(listing, viewer),
            next_states=next_states(listing) if may_manage(listing, viewer) else [],
            pledged=pledged,
            my_pledge=my_pledge,
            claimed=claimed,
            my_claim=my_claim,
            pledgers=await q.pledgers(conn, listing.id) if _organiser(listing, viewer) else [],
            is_organiser=_organiser(listing, viewer),
        )


def _organiser(listing: Listing, viewer: Account | None) -> bool:
    """Who pledged how much is the organiser's to see: they place the order."""
    return (
        listing.kind == "group_purchase" and viewer is not None and viewer.id == listing.author_id
    )


async def listing_photos(pool: asyncpg.Pool, listing_id: int) -> list[ListingPhoto]:
    async with pool.acquire() as conn:
        return await q.listing_photos(conn, listing_id)


# --- categories ----------------------------------------------------------------------------


async def categories(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await q.categories(conn)


def slug_from(name: str) -> str:
    """ "Books and media" -> "books_and_media": hashtag-safe, because categories go out as tags."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:30].strip("_")


def _require_admin(account: Account) -> None:
    if not account.is_admin:
        raise NotAllowed(N_("Only the node's admins can change categories."))


def _category_name(f: Form) -> str:
    return f.text("name", 60, N_("Give the category a name."))


async def add_category(pool: asyncpg.Pool, account: Account, form: Mapping[str, Any]) -> str:
    _require_admin(account)
    f = Form(form, now_utc())
    name = _category_name(f)
    slug = f.raw("slug").lower() or slug_from(name)
    if name and not SLUG_RE.fullmatch(slug):
        f.fail("slug", N_("Use 1 to 30 lower-case letters, digits or _."))
    if f.errors:
        raise ValidationError(f.errors)
    async with pool.acquire() as conn:
        if not await q.insert_category(conn, slug, name):
            raise ValidationError(
                {"slug": Text(N_("The category %(slug)s exists already."), slug=repr(slug))}
            )
    return slug


async def rename_category(pool: asyncpg.Pool, account: Account, form: Mapping[str, Any]) -> None:
    _require_admin(account)
    f = Form(form, now_utc())
    name = _category_name(f)
    if f.errors:
        raise ValidationError(f.errors)
    async with pool.acquire() as conn:
        if not await q.rename_category(conn, f.raw("slug"), name):
            raise ValidationError({"slug": N_("There is no such category.")})
