"""Listings on the wire: a Listing as a Note carrying FEP-0837 inline, and the activities
about it. Remote listings are read back in commonsfed.ap.remote_listings, and the answers to
a listing (a Mastodon direct reply, an FEP-0837 Offer(Agreement)) are in
commonsfed.ap.agreements.

Pure: no database, no network; every id an activity needs comes in as an argument.

What goes out (ARCHITECTURE.md, "Listings on the wire"):

- a `Note`, so plain Mastodon shows it natively; its `content` is a complete post (label,
  title, description, terms, where, until when, status, how to answer, hashtags) and there
  is never a `summary`, which Mastodon shows as a content warning. `name` carries the title
  as FEP-0837 recommends: Mastodon reads `name` only for Article, Page and poll options;
- `to` Public, `cc` the author's followers only: the neighbourhood Group reaches its own
  followers with an `Announce`, so naming it in `cc` would add nothing but a delivery;
- FEP-0837: `purpose`, `publishes` (an `Intent`, `#primary`), `reciprocal` (`#reciprocal`)
  when something is asked in return, `unitBased`. Quantities follow the FEP's examples: om2
  unit names (`one` for things, seats, places and portions; `hour` for time), values as
  strings. Divisible listings (give, shared shelf, pay-it-forward, group purchase, ride,
  stay) are unit based: the Intent is one unit and `availableQuantity` says how many are
  left, so an Agreement may ask for several.

The listing's state, machine-readable with Valueflows and AS2 terms only (no new context
term, so our documents keep taking `normalise`'s fast path):

- reserved: `availableQuantity` 0 (nothing available now, may come back);
- completed: `vf:finished` true on the Intent, `availableQuantity` 0, `endTime` when it closed;
- expired: `vf:finished` true, `availableQuantity` left as it was, `endTime` past;
- withdrawn: goes out as `Delete` with a `Tombstone` (the service's job); if a withdrawn
  listing is ever rendered it reads back as expired (closed, something was left);
- the exact kind: `vf:resourceClassifiedAs` on the Intent, `KIND_NS` + kind.
`vf:finished` and `vf:resourceClassifiedAs` are Valueflows properties written as compact
IRIs with the `vf` prefix OUR_CONTEXT defines. Readers of other servers' listings fall back
to what any FEP-0837 publisher sends: `endTime` past means expired, `availableQuantity` 0
means reserved, and the kind is guessed from `action` and `reciprocal`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from urllib.parse import quote, urlsplit

from commonsfed.ap import listing_times as times
from commonsfed.ap.activities import embedded
from commonsfed.ap.jsonld import OUR_CONTEXT, PUBLIC, as_list, first_id
from commonsfed.ap.listing_times import CLOSED_STATES
from commonsfed.ap.loan_days import booked_to_ap
from commonsfed.ap.projects import NeedOnWire, needs_lines, needs_to_ap
from commonsfed.ap.quantities import numeral, om2_quantity, read_number
from commonsfed.models import Listing

KIND_NS = "https://commonsfed.org/ns/kind#"
FINISHED = "vf:finished"
CLASSIFIED_AS = "vf:resourceClassifiedAs"
OTHER_KIND = "other"  # a remote listing whose kind we cannot tell

MAX_TITLE = 120
MAX_CONTENT = 100_000  # characters of remote HTML kept (the inbox caps bodies at 1 MiB)
MAX_MESSAGE = 5_000
MAX_TAGS = 10
MAX_PHOTOS = 4
MAX_SHORT_TEXT = 200  # place names, units, media types, alt text is MAX_MESSAGE

_ACTIONS = {
    "give": "transfer",
    "lend": "transferCustody",
    "swap": "transfer",
    "service": "work",
    "ride": "deliverService",
    "stay": "deliverService",
    "group_purchase": "transfer",
    "pay_it_forward": "transfer",
}
_KIND_LABELS = {
    "service": "service or time",
    "group_purchase": "group purchase",
    "pay_it_forward": "pay it forward",
    "project": "neighbourhood project",
}
# What people type as a group purchase's unit, as om2 names it.
_OM2_UNITS = {
    "kg": "kilogram",
    "kilo": "kilogram",
    "kilogram": "kilogram",
    "kilograms": "kilogram",
    "g": "gram",
    "gram": "gram",
    "grams": "gram",
    "l": "litre",
    "litre": "litre",
    "litres": "litre",
    "liter": "litre",
    "liters": "litre",
}
_DIVISIBLE = ("give", "pay_it_forward", "group_purchase", "ride", "stay")


# --- local listings to AS2 ---------------------------------------------------------------


@dataclass(frozen=True)
class ListingContext:
    """What turning a Listing into AS2 needs besides the row."""

    listing_url: str  # https://host/listings/<uid>: the page, and the object's id
    author_uri: str
    author_handle: str  # @alice@host
    followers_uri: str  # the author's followers collection
    group_uri: str  # the neighbourhood Group actor
    category_name: str
    category_tag: str  # the hashtag without '#': "tools"
    photo_urls: list[tuple[str, str, str, int, int]]  # url, media type, alt, width, height
    description_html: str  # rendered and sanitised
    instance_name: str
    pledged: int | None = None  # group purchase: the quantity pledged so far
    needs: list[NeedOnWire] | None = None  # project: its needs, with what is still needed
    booked: list[tuple[date, date]] | None = None  # lend: the days taken from today on
    # the node's time zone: the readable content shows local days and times, and a date
    # alone (a stay's arrival, a pledge deadline) means local midnight
    tz: tzinfo = UTC


def listing_to_ap(listing: Listing, ctx: ListingContext) -> dict[str, Any]:
    """The listing as a Note with FEP-0837 properties inline (see the module docstring)."""
    note: dict[str, Any] = {
        "@context": OUR_CONTEXT,
        "id": ctx.listing_url,
        "type": "Note",
        "url": ctx.listing_url,
        "attributedTo": ctx.author_uri,
        "to": [PUBLIC],
        "cc": [ctx.followers_uri],
        "published": times.iso(listing.created_at),
    }
    if listing.updated_at > listing.created_at:
        # Mastodon shows an edit (text, state, quantity) only when `updated` is set.
        note["updated"] = times.iso(listing.updated_at)
    note |= {
        "name": listing.title,
        "content": _content(listing, ctx),
        "tag": [_hashtag(ctx)],
        "purpose": listing.purpose,
        "unitBased": _unit_based(listing),
        "publishes": _primary_intent(listing, ctx),
    }
    if listing.language:
        # Mastodon files a status under the language of contentMap's key
        note["contentMap"] = {listing.language: note["content"]}
    reciprocal = _reciprocal_intent(listing, ctx)
    if reciprocal:
        note["reciprocal"] = reciprocal
    if ctx.photo_urls:
        note["attachment"] = [_photo(*photo) for photo in ctx.photo_urls[:MAX_PHOTOS]]
    if listing.kind == "project" and ctx.needs is not None:
        finished = listing.state in CLOSED_STATES
        note["needs"] = needs_to_ap(ctx.needs, ctx.listing_url, ctx.author_uri, finished)
    if listing.kind == "lend" and listing.purpose == "offer" and ctx.booked is not None:
        note["booked"] = booked_to_ap(ctx.booked)
    place = _place(listing)
    if place:
        note["location"] = place
    note.update(times.times(listing, ctx.tz))
    return note


def _base(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _tag_href(ctx: ListingContext) -> str:
    return f"{_base(ctx.listing_url)}/tags/{quote(ctx.category_tag, safe='')}"


def _hashtag(ctx: ListingContext) -> dict[str, Any]:
    return {"type": "Hashtag", "name": f"#{ctx.category_tag}", "href": _tag_href(ctx)}


def _photo(url: str, media_type: str, alt: str, width: int, height: int) -> dict[str, Any]:
    return {
        "type": "Image",
        "mediaType": media_type,
        "url": url,
        "name": alt,
        "width": width,
        "height": height,
    }


def _place(listing: Listing) -> dict[str, Any] | None:
    """A `Place`; coordinates rounded to 3 decimals (about 100 m): a neighbourhood, never a
    front door, even if a form let more precision through."""
    if not listing.place and listing.latitude is None:
        return None
    place: dict[str, Any] = {"type": "Place", "name": listing.place}
    if listing.latitude is not None and listing.longitude is not None:
        place["latitude"] = round(listing.latitude, 3)
        place["longitude"] = round(listing.longitude, 3)
    return place


# --- the Intents -------------------------------------------------------------------------


def _is_shelf(listing: Listing) -> bool:
    """A shared listing is a shelf (things to take and keep) when its details say so;
    otherwise it is the use of a shared tool, room or fablab."""
    return bool(listing.details.get("shelf"))


def action_of(listing: Listing) -> str:
    """The Valueflows action for the listing's kind (ARCHITECTURE.md)."""
    if listing.kind == "shared":
        return "transfer" if _is_shelf(listing) else "use"
    return _ACTIONS.get(listing.kind, "transfer")


def _unit_based(listing: Listing) -> bool:
    return listing.kind in _DIVISIBLE or (listing.kind == "shared" and _is_shelf(listing))


def _unit(listing: Listing) -> str:
    if listing.kind == "service":
        return "hour"
    if listing.kind == "group_purchase":
        typed = str(listing.details.get("unit") or "").strip().lower()
        return _OM2_UNITS.get(typed, "one")
    return "one"


def _amounts(listing: Listing) -> tuple[int | float, int | float | None]:
    """(resourceQuantity, availableQuantity) in the listing's unit."""
    details = listing.details
    if listing.kind == "service":
        return read_number(details.get("hours")) or listing.quantity or 1, None
    total = {
        "pay_it_forward": details.get("portions"),
        "ride": details.get("seats"),
        "stay": details.get("places"),
    }.get(listing.kind, listing.quantity)
    available = listing.available_quantity
    if available is None:
        available = read_number(total)
    if _unit_based(listing):
        return 1, available
    return listing.quantity or 1, available


def _primary_intent(listing: Listing, ctx: ListingContext) -> dict[str, Any]:
    unit = _unit(listing)
    resource, available = _amounts(listing)
    if listing.state == "reserved" or listing.state == "completed":
        available = 0
    intent: dict[str, Any] = {
        "id": ctx.listing_url + "#primary",
        "type": "Intent",
        "action": action_of(listing),
        "resourceConformsTo": f"{_base(ctx.listing_url)}/categories/{quote(ctx.category_tag, safe='')}",
        CLASSIFIED_AS: [KIND_NS + listing.kind],
        "resourceQuantity": om2_quantity(unit, resource),
        _party(listing.purpose, primary=True): ctx.author_uri,
    }
    if available is not None:
        intent["availableQuantity"] = om2_quantity(unit, available)
    target = read_number(listing.details.get("target_quantity"))
    if listing.kind == "group_purchase" and target is not None:
        intent["minimumQuantity"] = om2_quantity(unit, target)
    if listing.state in CLOSED_STATES:
        intent[FINISHED] = True
    return intent


def _party(purpose: str, *, primary: bool) -> str:
    # An offer's author provides the primary flow and receives the reciprocal; a request's
    # author is on the other side of both.
    return "provider" if (purpose == "offer") == primary else "receiver"


def _reciprocal_intent(listing: Listing, ctx: ListingContext) -> dict[str, Any] | None:
    if listing.kind == "swap":
        action, quantity = "transfer", om2_quantity("one", 1)
    elif listing.kind == "service":
        # A time bank: an hour given is paid back with an hour.
        action, quantity = "work", om2_quantity("hour", _amounts(listing)[0])
    else:
        return None
    intent = {
        "id": ctx.listing_url + "#reciprocal",
        "type": "Intent",
        "action": action,
        "resourceQuantity": quantity,
        _party(listing.purpose, primary=False): ctx.author_uri,
    }
    in_return = listing.details.get("in_return")
    if listing.kind == "swap" and isinstance(in_return, str) and in_return.strip():
        intent["name"] = in_return.strip()
    return intent


# --- the readable post -------------------------------------------------------------------


def _content(listing: Listing, ctx: ListingContext) -> str:
    lines = [
        *_terms(listing, ctx),
        *_where_and_when(listing, ctx.tz),
        f"Category: {ctx.category_name}",
    ]
    paragraphs = [
        f"<p>{escape_html(_label(listing))}<br><strong>{escape_html(listing.title)}</strong></p>",
        _description(ctx.description_html),
        "<p>" + "<br>".join(escape_html(line) for line in lines) + "</p>",
        _status(listing),
        _reply_line(listing, ctx),
        f'<p><a href="{escape_html(_tag_href(ctx))}" class="mention hashtag" rel="tag">'
        f"#<span>{escape_html(ctx.category_tag)}</span></a></p>",
    ]
    return "".join(paragraph for paragraph in paragraphs if paragraph)


def escape_html(text: str) -> str:
    return html.escape(text, quote=True)


def _label(listing: Listing) -> str:
    kind = _KIND_LABELS.get(listing.kind, listing.kind)
    if listing.kind == "shared":
        kind = "shared shelf" if _is_shelf(listing) else "shared use"
    return f"{listing.purpose.capitalize()} · {kind}:"


def _description(description_html: str) -> str:
    text = description_html.strip()
    if not text:
        return ""
    return text if text.startswith("<") else f"<p>{text}</p>"


def _status(listing: Listing) -> str:
    if listing.state == "open":
        return ""
    label = listing.state.capitalize()
    if listing.state == "reserved":
        return f"<p>Status: {label}. You can still answer and wait in line.</p>"
    return f"<p>Status: {label}. Closed to new answers.</p>"


def _reply_line(listing: Listing, ctx: ListingContext) -> str:
    link = f'<a href="{escape_html(ctx.listing_url)}">{escape_html(ctx.listing_url)}</a>'
    if listing.state in CLOSED_STATES:
        return f"<p>The listing on {escape_html(ctx.instance_name)}: {link}</p>"
    return (
        f"<p>Reply privately to answer — or open the listing on {escape_html(ctx.instance_name)}: "
        f"{link}</p>"
    )


def _where_and_when(listing: Listing, tz: tzinfo) -> list[str]:
    lines = [f"Where: {listing.place}"] if listing.place else []
    if listing.available_from and listing.kind not in ("ride", "stay"):
        lines.append(f"From: {times.day(listing.available_from, tz)}")
    until = [
        times.as_datetime(moment, tz) for moment in (listing.available_until, listing.expires_at)
    ]
    if any(until):
        lines.append(f"Until: {times.last_day(min(m for m in until if m), tz)}")
    elif listing.purpose == "offer":
        lines.append("Until: no end date (a standing offer)")
    return lines


def _terms(listing: Listing, ctx: ListingContext) -> list[str]:
    """The lines only this kind has (models.Listing's docstring lists its details)."""
    terms = _TERMS.get(listing.kind)
    return terms(listing, ctx) if terms else _quantity_terms(listing, ctx)


def _quantity_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    if listing.quantity and listing.quantity > 1:
        available = listing.available_quantity
        left = f" ({available} left)" if available is not None else ""
        return [f"Quantity: {listing.quantity}{left}"]
    return []


def _lend_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    details, parts = listing.details, []
    if details.get("loan_days"):
        parts.append(f"up to {details['loan_days']} days")
    if details.get("return_by"):
        parts.append(f"back by {times.day(details['return_by'], ctx.tz)}")
    return [f"Loan: {', '.join(parts)}"] if parts else []


def _ride_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    details, lines = listing.details, []
    if details.get("origin") or details.get("destination"):
        origin, destination = details.get("origin") or "?", details.get("destination") or "?"
        lines.append(f"Ride: from {origin} to {destination}")
    if details.get("departure"):
        lines.append(f"Leaving: {times.when(details['departure'], ctx.tz)}")
    seats, left = details.get("seats"), listing.available_quantity
    if seats:
        still = f" ({left} left)" if left is not None and left != read_number(seats) else ""
        lines.append(f"Seats: {seats}{still}")
    return lines


def _stay_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    details, lines = listing.details, []
    if details.get("arrival") or details.get("departure"):
        arrival = times.day(details["arrival"], ctx.tz) if details.get("arrival") else "?"
        departure = times.day(details["departure"], ctx.tz) if details.get("departure") else "?"
        lines.append(f"Stay: {arrival} to {departure}")
    if details.get("places"):
        lines.append(f"Places: {details['places']}")
    return lines


def _group_purchase_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    details, lines = listing.details, []
    unit = f" {details['unit']}" if details.get("unit") else ""
    target = details.get("target_quantity")
    deadline = f" by {times.day(details['deadline'], ctx.tz)}" if details.get("deadline") else ""
    if target is not None:
        lines.append(f"Target: {target}{unit}{deadline}")
    elif deadline:
        lines.append(f"Deadline:{deadline[3:]}")
    if ctx.pledged is not None:
        lines.append(f"Pledged so far: {ctx.pledged}{unit}")
    return lines


def _pay_it_forward_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    portions = listing.details.get("portions")
    left = listing.available_quantity if listing.available_quantity is not None else portions
    if left is None:
        return []
    return [f"Portions left: {left}" + (f" of {portions}" if portions is not None else "")]


def _service_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    hours = read_number(listing.details.get("hours"))
    if hours is None:
        return ["Time bank: paid back in hours"]
    unit = "hour" if hours == 1 else "hours"
    return [f"Time: {numeral(hours)} {unit} (time bank: paid back in hours)"]


def _swap_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    in_return = listing.details.get("in_return")
    wanted = in_return.strip() if isinstance(in_return, str) and in_return.strip() else None
    lines = _quantity_terms(listing, ctx)
    return [*lines, f"In return: {wanted or 'something of yours: say what when you answer'}"]


def _project_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    details = listing.details
    deadline = times.day(details["deadline"], ctx.tz) if details.get("deadline") else ""
    return needs_lines(ctx.needs or [], str(details.get("goal") or ""), deadline)


_TERMS = {
    "lend": _lend_terms,
    "ride": _ride_terms,
    "stay": _stay_terms,
    "group_purchase": _group_purchase_terms,
    "pay_it_forward": _pay_it_forward_terms,
    "service": _service_terms,
    "swap": _swap_terms,
    "project": _project_terms,
}


# --- activities about listings -----------------------------------------------------------


def create_to_ap(note: dict[str, Any], activity_id: str) -> dict[str, Any]:
    """The author creates the listing, addressed as the Note is."""
    create = _wrap("Create", note["attributedTo"], note, activity_id)
    if note.get("published"):
        create["published"] = note["published"]
    return create


def update_to_ap(
    note: dict[str, Any], activity_id: str, *, updated: datetime | None = None
) -> dict[str, Any]:
    """The author updates the listing. Mastodon shows an edit only when the object has
    `updated`, so the Note must carry it (or `updated` gives it); ValueError otherwise."""
    if updated is not None:
        note = {**note, "updated": times.iso(updated)}
    if not note.get("updated"):
        raise ValueError("an Update needs the Note's `updated` time, else Mastodon ignores it")
    return _wrap("Update", note["attributedTo"], note, activity_id)


def _wrap(kind: str, actor: str, note: dict[str, Any], activity_id: str) -> dict[str, Any]:
    return {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": actor,
        "to": as_list(note.get("to")),
        "cc": as_list(note.get("cc")),
        "object": embedded(note),
    }


def delete_to_ap(
    object_uri: str,
    actor_uri: str,
    followers_uri: str,
    activity_id: str,
    *,
    deleted: datetime | None = None,
) -> dict[str, Any]:
    """The author removes the listing: a Tombstone in place of the Note."""
    tombstone: dict[str, Any] = {"id": object_uri, "type": "Tombstone", "formerType": "Note"}
    if deleted is not None:
        tombstone["deleted"] = times.iso(deleted)
    return {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": "Delete",
        "actor": actor_uri,
        "to": [PUBLIC],
        "cc": [followers_uri],
        "object": tombstone,
    }


def announce_to_ap(
    group_uri: str,
    note: dict[str, Any],
    activity_id: str,
    followers_uri: str,
    *,
    published: datetime | None = None,
) -> dict[str, Any]:
    """The neighbourhood Group shares the listing with its followers. The Note is embedded
    (it lives on the Group's host, so peers may trust it as is); Mastodon fetches it anyway.
    The author is in `cc`, as in a Mastodon boost, so their server learns of it."""
    cc = [followers_uri]
    author = first_id(note.get("attributedTo"))
    if author and author not in cc:
        cc.append(author)
    announce = {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": "Announce",
        "actor": group_uri,
        "to": [PUBLIC],
        "cc": cc,
        "object": embedded(note),
    }
    if published is not None:
        announce["published"] = times.iso(published)
    return announce
