"""Listings on the wire: a Listing as a Note carrying FEP-0837 inline, remote listings read
back, and the answers to a listing (a Mastodon direct reply, an FEP-0837 Offer(Agreement)).

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
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

from commonsfed.ap.activities import activity_type, embedded, is_listing, parse_time, valid_uri
from commonsfed.ap.jsonld import OUR_CONTEXT, PUBLIC, VALUEFLOWS_NS, as_list, first_id
from commonsfed.models import KINDS, PURPOSES, Listing

KIND_NS = "https://commonsfed.org/ns/kind#"
FINISHED = "vf:finished"
CLASSIFIED_AS = "vf:resourceClassifiedAs"
CLOSED_STATES = ("completed", "withdrawn", "expired")
OTHER_KIND = "other"  # a remote listing whose kind we cannot tell

MAX_TITLE = 120
MAX_CONTENT = 100_000  # characters of remote HTML kept (the inbox caps bodies at 1 MiB)
MAX_MESSAGE = 5_000
MAX_TAGS = 10
MAX_PHOTOS = 4
MAX_SHORT_TEXT = 200  # place names, units, media types, alt text is MAX_MESSAGE
MAX_QUANTITY = Decimal(1_000_000_000)

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
        "published": _iso(listing.created_at),
    }
    if listing.updated_at > listing.created_at:
        # Mastodon shows an edit (text, state, quantity) only when `updated` is set.
        note["updated"] = _iso(listing.updated_at)
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
    place = _place(listing)
    if place:
        note["location"] = place
    note.update(_times(listing, ctx.tz))
    return note


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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
        return _number(details.get("hours")) or listing.quantity or 1, None
    total = {
        "pay_it_forward": details.get("portions"),
        "ride": details.get("seats"),
        "stay": details.get("places"),
    }.get(listing.kind, listing.quantity)
    available = listing.available_quantity
    if available is None:
        available = _number(total)
    if _unit_based(listing):
        return 1, available
    return listing.quantity or 1, available


def _quantity(unit: str, value: int | float) -> dict[str, str]:
    return {"hasUnit": unit, "hasNumericalValue": _numeral(value)}


def _numeral(value: int | float | Decimal) -> str:
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


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
        "resourceQuantity": _quantity(unit, resource),
        _party(listing.purpose, primary=True): ctx.author_uri,
    }
    if available is not None:
        intent["availableQuantity"] = _quantity(unit, available)
    target = _number(listing.details.get("target_quantity"))
    if listing.kind == "group_purchase" and target is not None:
        intent["minimumQuantity"] = _quantity(unit, target)
    if listing.state in CLOSED_STATES:
        intent[FINISHED] = True
    return intent


def _party(purpose: str, *, primary: bool) -> str:
    # An offer's author provides the primary flow and receives the reciprocal; a request's
    # author is on the other side of both.
    return "provider" if (purpose == "offer") == primary else "receiver"


def _reciprocal_intent(listing: Listing, ctx: ListingContext) -> dict[str, Any] | None:
    if listing.kind == "swap":
        action, quantity = "transfer", _quantity("one", 1)
    elif listing.kind == "service":
        # A time bank: an hour given is paid back with an hour.
        action, quantity = "work", _quantity("hour", _amounts(listing)[0])
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


# --- times -------------------------------------------------------------------------------


def _moment(value: Any) -> datetime | date | None:
    """A date or time from the row or its details: a datetime, a date, or an ISO string."""
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else parse_time(value)
    except ValueError:
        return None


def _as_datetime(value: datetime | date | None, tz: tzinfo) -> datetime | None:
    """An aware moment: a date alone is local midnight (in `tz`); a time without a zone is
    UTC, as `parse_time` reads one."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=tz)


def _span(listing: Listing, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    """(start, end) of availability: the kind's own dates where it has them."""
    details = listing.details
    until = [_as_datetime(moment, tz) for moment in (listing.available_until, listing.expires_at)]
    start, end = listing.available_from, min((m for m in until if m), default=None)
    if listing.kind == "ride":
        start = _as_datetime(_moment(details.get("departure")), tz) or start
    elif listing.kind == "stay":
        start = _as_datetime(_moment(details.get("arrival")), tz) or start
        end = _as_datetime(_moment(details.get("departure")), tz) or end
    elif listing.kind == "group_purchase":
        end = _day_end(_moment(details.get("deadline")), tz) or end
    return _as_datetime(start, tz), _as_datetime(end, tz)


def _day_end(value: datetime | date | None, tz: tzinfo) -> datetime | None:
    """A day given as a date lasts until the (local) midnight after it (a deadline's last day)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return _as_datetime(value + timedelta(days=1), tz)
    return _as_datetime(value, tz)


def _last_day(moment: datetime, tz: tzinfo) -> str:
    """The day an end moment stands for: the services store "until 31 May" as the local
    midnight after it, and any end at midnight leaves the day before as the last whole day."""
    return _day(moment - timedelta(microseconds=1), tz)


def _times(listing: Listing, tz: tzinfo) -> dict[str, str]:
    start, end = _span(listing, tz)
    if listing.state in CLOSED_STATES:
        closed = _as_datetime(listing.updated_at, tz)
        end = closed if end is None or (closed and closed < end) else end
    times = {}
    if start:
        times["startTime"] = _iso(start)
    if end:
        times["endTime"] = _iso(end)
    return times


def _day(value: Any, tz: tzinfo) -> str:
    moment = _moment(value)
    if moment is None:
        return str(value)
    if isinstance(moment, datetime):
        moment = moment.astimezone(tz).date()
    return f"{moment.day} {moment:%B %Y}"


def _when(value: Any, tz: tzinfo) -> str:
    """"30 June 2030, 08:15 CEST": local time, and which zone, for readers elsewhere."""
    moment = _moment(value)
    if not isinstance(moment, datetime):
        return _day(value, tz)
    moment = moment.astimezone(tz)
    return f"{moment.day} {moment:%B %Y}, {moment:%H:%M} {_zone_name(moment, tz)}"


def _zone_name(moment: datetime, tz: tzinfo) -> str:
    """The zone's abbreviation ("CEST"), or its name where it has none: the tz database
    gives some zones only an offset such as "-03" (America/Sao_Paulo)."""
    abbreviation = moment.tzname() or ""
    if abbreviation and abbreviation[0] not in "+-":
        return abbreviation
    return str(getattr(tz, "key", None) or abbreviation or "UTC")


# --- the readable post -------------------------------------------------------------------


def _content(listing: Listing, ctx: ListingContext) -> str:
    lines = [
        *_terms(listing, ctx), *_where_and_when(listing, ctx.tz), f"Category: {ctx.category_name}"
    ]
    paragraphs = [
        f"<p>{_esc(_label(listing))}<br><strong>{_esc(listing.title)}</strong></p>",
        _description(ctx.description_html),
        "<p>" + "<br>".join(_esc(line) for line in lines) + "</p>",
        _status(listing),
        _reply_line(listing, ctx),
        f'<p><a href="{_esc(_tag_href(ctx))}" class="mention hashtag" rel="tag">'
        f"#<span>{_esc(ctx.category_tag)}</span></a></p>",
    ]
    return "".join(paragraph for paragraph in paragraphs if paragraph)


def _esc(text: str) -> str:
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
    link = f'<a href="{_esc(ctx.listing_url)}">{_esc(ctx.listing_url)}</a>'
    if listing.state in CLOSED_STATES:
        return f"<p>The listing on {_esc(ctx.instance_name)}: {link}</p>"
    return (
        f"<p>Reply privately to answer — or open the listing on {_esc(ctx.instance_name)}: "
        f"{link}</p>"
    )


def _where_and_when(listing: Listing, tz: tzinfo) -> list[str]:
    lines = [f"Where: {listing.place}"] if listing.place else []
    if listing.available_from and listing.kind not in ("ride", "stay"):
        lines.append(f"From: {_day(listing.available_from, tz)}")
    until = [_as_datetime(moment, tz) for moment in (listing.available_until, listing.expires_at)]
    if any(until):
        lines.append(f"Until: {_last_day(min(m for m in until if m), tz)}")
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
        parts.append(f"back by {_day(details['return_by'], ctx.tz)}")
    return [f"Loan: {', '.join(parts)}"] if parts else []


def _ride_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    details, lines = listing.details, []
    if details.get("origin") or details.get("destination"):
        origin, destination = details.get("origin") or "?", details.get("destination") or "?"
        lines.append(f"Ride: from {origin} to {destination}")
    if details.get("departure"):
        lines.append(f"Leaving: {_when(details['departure'], ctx.tz)}")
    seats, left = details.get("seats"), listing.available_quantity
    if seats:
        still = f" ({left} left)" if left is not None and left != _number(seats) else ""
        lines.append(f"Seats: {seats}{still}")
    return lines


def _stay_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    details, lines = listing.details, []
    if details.get("arrival") or details.get("departure"):
        arrival = _day(details["arrival"], ctx.tz) if details.get("arrival") else "?"
        departure = _day(details["departure"], ctx.tz) if details.get("departure") else "?"
        lines.append(f"Stay: {arrival} to {departure}")
    if details.get("places"):
        lines.append(f"Places: {details['places']}")
    return lines


def _group_purchase_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    details, lines = listing.details, []
    unit = f" {details['unit']}" if details.get("unit") else ""
    target = details.get("target_quantity")
    deadline = f" by {_day(details['deadline'], ctx.tz)}" if details.get("deadline") else ""
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
    hours = _number(listing.details.get("hours"))
    if hours is None:
        return ["Time bank: paid back in hours"]
    unit = "hour" if hours == 1 else "hours"
    return [f"Time: {_numeral(hours)} {unit} (time bank: paid back in hours)"]


def _swap_terms(listing: Listing, ctx: ListingContext) -> list[str]:
    in_return = listing.details.get("in_return")
    wanted = in_return.strip() if isinstance(in_return, str) and in_return.strip() else None
    lines = _quantity_terms(listing, ctx)
    return [*lines, f"In return: {wanted or 'something of yours: say what when you answer'}"]


_TERMS = {
    "lend": _lend_terms,
    "ride": _ride_terms,
    "stay": _stay_terms,
    "group_purchase": _group_purchase_terms,
    "pay_it_forward": _pay_it_forward_terms,
    "service": _service_terms,
    "swap": _swap_terms,
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
        note = {**note, "updated": _iso(updated)}
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
        tombstone["deleted"] = _iso(deleted)
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
        announce["published"] = _iso(published)
    return announce


# --- reading remote values ---------------------------------------------------------------


def _number(value: Any) -> int | float | None:
    """A quantity as peers send it (FEP-0837 writes "6"): finite, 0 to a billion, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    if isinstance(value, str) and len(value) > 32:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or not 0 <= number <= MAX_QUANTITY:
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _text(value: Any, limit: int) -> str | None:
    """A string (or the first string of a list), stripped and cut to `limit` characters."""
    for item in as_list(value):
        if isinstance(item, str) and item.strip():
            return _cut(item.strip(), limit)
    return None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _first_dict(value: Any) -> dict[str, Any] | None:
    for item in as_list(value):
        if isinstance(item, dict):
            return item
    return None


def _short_name(value: Any) -> str | None:
    """A Valueflows name as sent plainly ("transfer"), prefixed ("vf:transfer") or in full."""
    name = _text(value, MAX_SHORT_TEXT)
    for prefix in (VALUEFLOWS_NS, "vf:"):
        if name and name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _measure(value: Any) -> tuple[str | None, int | float | None]:
    """(unit, number) of a `resourceQuantity`-shaped value."""
    measure = _first_dict(value)
    if measure is None:
        return None, None
    unit = _short_name(measure.get("hasUnit"))
    if unit and unit.startswith("om2:"):
        unit = unit[4:]
    return unit, _number(_scalar(measure.get("hasNumericalValue")))


def _scalar(value: Any) -> Any:
    # A list: its first item; a value object ({"@value": "6"}): its value.
    items = as_list(value)
    item = items[0] if items else None
    return item.get("@value") if isinstance(item, dict) else item


class _TextReader(HTMLParser):
    """Plain text of peer HTML, and the text of its first <strong>. Never used to sanitise:
    the caller does that with nh3; this only reads words out."""

    _BLOCKS = frozenset({"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})
    _SKIPPED = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.strong: list[str] | None = None
        self.strong_done = False
        self._strong_depth = 0
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self._SKIPPED:
            self._skip_depth += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("strong", "b") and not self.strong_done:
            self._strong_depth += 1
            self.strong = self.strong if self.strong is not None else []

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        elif tag in ("strong", "b") and self._strong_depth:
            self._strong_depth -= 1
            self.strong_done = self._strong_depth == 0

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        self.parts.append(data)
        if self._strong_depth and self.strong is not None:
            self.strong.append(data)


def _read_html(content: str) -> _TextReader:
    reader = _TextReader()
    reader.feed(content[:MAX_CONTENT])
    reader.close()
    return reader


def html_to_text(content: str, limit: int = MAX_MESSAGE) -> str:
    """Peer HTML as plain text: lines kept, spaces collapsed, cut to `limit` characters."""
    text = "".join(_read_html(content).parts)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return _cut("\n".join(line for line in lines if line), limit)


def content_of(document: dict[str, Any]) -> str:
    """`content`, else the first language of `contentMap`, cut to MAX_CONTENT."""
    content = document.get("content")
    if isinstance(content, str):
        return content[:MAX_CONTENT]
    language_map = document.get("contentMap")
    if isinstance(language_map, dict):
        for value in language_map.values():
            if isinstance(value, str):
                return value[:MAX_CONTENT]
    return ""


# --- remote listings ---------------------------------------------------------------------


@dataclass(frozen=True)
class RemotePhoto:
    url: str
    media_type: str
    alt: str
    width: int | None
    height: int | None


@dataclass(frozen=True)
class RemoteListing:
    """A listing from another server, read from its normalised AS2 object."""

    uri: str
    url: str  # the page to link to; the uri when the object names none
    author_uri: str
    purpose: str  # "offer" | "request"
    kind: str  # one of models.KINDS, or "other"
    action: str | None  # the primary Intent's Valueflows action
    title: str  # at most MAX_TITLE characters
    content_html: str  # as sent: the caller sanitises it
    categories: tuple[str, ...]  # hashtag names, lower case, without '#'
    place: str | None
    latitude: float | None
    longitude: float | None
    unit: str | None  # om2 unit of the primary Intent: "one", "hour", "kilogram" ...
    quantity: int | float | None
    available_quantity: int | float | None
    minimum_quantity: int | float | None
    unit_based: bool
    has_reciprocal: bool
    state: str  # one of models.STATES, as far as the object tells (see the module docstring)
    photos: tuple[RemotePhoto, ...]
    starts_at: datetime | None
    ends_at: datetime | None
    published: datetime | None
    updated: datetime | None


def listing_from_ap(
    document: dict[str, Any], *, now: datetime | None = None
) -> RemoteListing | None:
    """The listing in a normalised object, or None when it is not one we can use: no
    `purpose` and `publishes` (whatever the `type`), an unknown purpose, no usable id or
    author. `now` judges whether `endTime` has passed (default: the current time)."""
    if not isinstance(document, dict) or not is_listing(document):
        return None
    purpose = _text(document.get("purpose"), 16)
    uri = valid_uri(document.get("id"))
    author = valid_uri(first_id(document.get("attributedTo")))
    if purpose not in PURPOSES or uri is None or "#" in uri or author is None:
        return None
    intent = _first_dict(document.get("publishes")) or {}
    reciprocal = _first_dict(document.get("reciprocal"))
    unit, quantity = _measure(intent.get("resourceQuantity"))
    available = _measure(intent.get("availableQuantity"))[1]
    content = content_of(document)
    place = _first_dict(document.get("location")) or {}
    starts_at, ends_at = parse_time(document.get("startTime")), parse_time(document.get("endTime"))
    return RemoteListing(
        uri=uri,
        url=_page_url(document.get("url")) or uri,
        author_uri=author,
        purpose=purpose,
        kind=_kind_of(intent, reciprocal),
        action=_short_name(intent.get("action")),
        title=_title(document, content),
        content_html=content,
        categories=_categories(document.get("tag")),
        place=_text(place.get("name"), MAX_SHORT_TEXT),
        latitude=_coordinate(place.get("latitude"), 90),
        longitude=_coordinate(place.get("longitude"), 180),
        unit=unit,
        quantity=quantity,
        available_quantity=available,
        minimum_quantity=_measure(intent.get("minimumQuantity"))[1],
        unit_based=document.get("unitBased") is True,
        has_reciprocal=reciprocal is not None or isinstance(document.get("reciprocal"), str),
        state=_state_of(intent, available, ends_at, now or datetime.now(UTC)),
        photos=_photos(document.get("attachment")),
        starts_at=starts_at,
        ends_at=ends_at,
        published=parse_time(document.get("published")),
        updated=parse_time(document.get("updated")),
    )


def _page_url(value: Any) -> str | None:
    """`url` as a string, a Link, or a list of them; an HTML link preferred."""
    candidates = []
    for item in as_list(value)[:MAX_TAGS]:
        if isinstance(item, str):
            candidates.append((0, item))
        elif isinstance(item, dict) and isinstance(item.get("href"), str):
            html_link = item.get("mediaType") in (None, "text/html")
            candidates.append((0 if html_link else 1, item["href"]))
    for _, url in sorted(candidates, key=lambda candidate: candidate[0]):
        if valid_uri(url):
            return url
    return None


def _kind_of(intent: dict[str, Any], reciprocal: dict[str, Any] | None) -> str:
    """Our kind when a commonsfed node says it; else a guess from the action."""
    for item in as_list(intent.get(CLASSIFIED_AS) or intent.get("resourceClassifiedAs"))[:8]:
        name = item[len(KIND_NS) :] if isinstance(item, str) and item.startswith(KIND_NS) else ""
        if name in KINDS:
            return name
    action = _short_name(intent.get("action"))
    if action == "transfer":
        if _measure(intent.get("minimumQuantity"))[1] is not None:
            return "group_purchase"
        return "swap" if reciprocal is not None else "give"
    guesses = {"transferCustody": "lend", "use": "shared", "work": "service"}
    return guesses.get(action or "", "service" if action == "deliverService" else OTHER_KIND)


def _title(document: dict[str, Any], content: str) -> str:
    name = _text(document.get("name"), MAX_TITLE * 4)
    if name:
        return _cut(" ".join(name.split()), MAX_TITLE)
    reader = _read_html(content)
    strong = " ".join("".join(reader.strong or []).split())
    if strong:
        return _cut(strong, MAX_TITLE)
    first_line = next((line for line in "".join(reader.parts).splitlines() if line.strip()), "")
    return _cut(" ".join(first_line.split()), MAX_TITLE)


def _categories(tags: Any) -> tuple[str, ...]:
    names: list[str] = []
    for tag in as_list(tags)[: MAX_TAGS * 10]:
        if not isinstance(tag, dict) or activity_type(tag) != "Hashtag":
            continue
        name = _text(tag.get("name"), 65)
        name = name.lstrip("#").lower() if name else ""
        if name and len(name) <= 64 and name not in names:
            names.append(name)
    return tuple(names[:MAX_TAGS])


def _coordinate(value: Any, bound: int) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and -bound <= number <= bound else None


def _state_of(
    intent: dict[str, Any], available: int | float | None, ends_at: datetime | None, now: datetime
) -> str:
    finished = intent.get(FINISHED, intent.get("finished")) is True
    if finished:
        return "completed" if available == 0 else "expired"
    if ends_at is not None and ends_at <= now:
        return "expired"
    return "reserved" if available == 0 else "open"


def _photos(attachments: Any) -> tuple[RemotePhoto, ...]:
    photos: list[RemotePhoto] = []
    for item in as_list(attachments)[: MAX_TAGS * 10]:
        photo = _photo_of(item)
        if photo is not None:
            photos.append(photo)
        if len(photos) == MAX_PHOTOS:
            break
    return tuple(photos)


def _photo_of(item: Any) -> RemotePhoto | None:
    if not isinstance(item, dict) or activity_type(item) not in ("Image", "Document"):
        return None
    media_type = _text(item.get("mediaType"), MAX_SHORT_TEXT) or ""
    url = valid_uri(item.get("url")) or _page_url(item.get("url"))
    if url is None or not media_type.startswith("image/"):
        return None
    return RemotePhoto(
        url=url,
        media_type=media_type,
        alt=_text(item.get("name"), MAX_MESSAGE) or "",
        width=_pixels(item.get("width")),
        height=_pixels(item.get("height")),
    )


def _pixels(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 100_000
    return value if ok else None


# --- answers: a direct reply ---------------------------------------------------------------


def is_direct_reply_to(document: dict[str, Any], listing_uri: str) -> bool:
    """A direct Note replying to the listing: what a Mastodon user's answer looks like."""
    return is_direct(document) and first_id(document.get("inReplyTo")) == listing_uri


def is_direct(document: dict[str, Any]) -> bool:
    """A Note addressed only to actors: no Public, no followers collection. That is what a
    Mastodon user's direct-visibility post looks like (Mastodon also mentions every
    addressee; an addressee it mentions counts as an actor)."""
    if not isinstance(document, dict) or activity_type(document) != "Note":
        return False
    addressees = [
        item
        for key in ("to", "cc", "bto", "bcc", "audience")
        for item in as_list(document.get(key))
    ]
    if not addressees:
        return False
    mentioned = mentioned_actors(document.get("tag"))
    return all(_is_actor_address(first_id(item), mentioned) for item in addressees)


def mentioned_actors(tags: Any) -> set[str]:
    """The hrefs of a document's Mention tags."""
    found = set()
    for tag in as_list(tags):
        if isinstance(tag, dict) and activity_type(tag) == "Mention":
            href = first_id(tag.get("href"))
            if href:
                found.add(href)
    return found


def _is_actor_address(uri: str | None, mentioned: set[str]) -> bool:
    if uri is None or uri in (PUBLIC, "as:Public", "Public"):
        return False
    if uri in mentioned:
        return True
    if valid_uri(uri) is None:
        return False
    # Mastodon, GoToSocial, Misskey, Pleroma name followers collections .../followers;
    # Friendica /followers/<name>.
    return "followers" not in urlsplit(uri).path.split("/")


# --- answers: FEP-0837 Offer(Agreement), Accept, Reject -------------------------------------


@dataclass(frozen=True)
class AgreementOffer:
    """An FEP-0837 `Offer` of an `Agreement` answering a listing."""

    offer_id: str  # the Offer's id: what Accept and Reject name as their object
    actor_uri: str
    listing_uri: str
    intent_uri: str  # the primary Intent the commitment satisfies (listing + "#primary")
    quantity: int | float | None  # asked for, in `unit`; None when the Offer does not say
    unit: str | None
    reciprocal_intent_uri: str | None
    reciprocal_quantity: int | float | None
    reciprocal_unit: str | None
    message: str  # plain text, at most MAX_MESSAGE characters


def offer_agreement_from_ap(activity: dict[str, Any]) -> AgreementOffer | None:
    """Read a normalised `Offer` whose object is an `Agreement`. FEP-0837 points the
    Agreement's `stipulates` Commitment at the proposal's primary Intent with `satisfies`;
    the listing is that Intent's id without its `#primary` fragment. None for anything else."""
    if not isinstance(activity, dict) or activity_type(activity) != "Offer":
        return None
    agreement = _first_dict(activity.get("object"))
    offer_id = valid_uri(activity.get("id"))
    actor = valid_uri(first_id(activity.get("actor")))
    if agreement is None or activity_type(agreement) != "Agreement" or not (offer_id and actor):
        return None
    primary = _first_dict(agreement.get("stipulates")) or {}
    intent = valid_uri(first_id(primary.get("satisfies")))
    listing, _, fragment = (intent or "").partition("#")
    if intent is None or fragment not in ("", "primary"):
        return None
    unit, quantity = _measure(primary.get("resourceQuantity"))
    reciprocal = _first_dict(agreement.get("stipulatesReciprocal")) or {}
    reciprocal_unit, reciprocal_quantity = _measure(reciprocal.get("resourceQuantity"))
    message = content_of(activity) or content_of(agreement)
    return AgreementOffer(
        offer_id=offer_id,
        actor_uri=actor,
        listing_uri=listing,
        intent_uri=intent,
        quantity=quantity,
        unit=unit,
        reciprocal_intent_uri=valid_uri(first_id(reciprocal.get("satisfies"))),
        reciprocal_quantity=reciprocal_quantity,
        reciprocal_unit=reciprocal_unit,
        message=html_to_text(message) if message else "",
    )


def offer_agreement_to_ap(
    *,
    activity_id: str,
    actor_uri: str,
    author_uri: str,
    listing_uri: str,
    quantity: int | float = 1,
    unit: str = "one",
    message: str = "",
    reciprocal_quantity: int | float | None = None,
    reciprocal_unit: str = "one",
) -> dict[str, Any]:
    """`actor_uri` answers the listing `listing_uri` (by `author_uri`) with an FEP-0837
    Offer(Agreement); the message travels as the Offer's `content`."""
    agreement: dict[str, Any] = {
        "type": "Agreement",
        "stipulates": _commitment(None, listing_uri + "#primary", quantity, unit),
    }
    if reciprocal_quantity is not None:
        agreement["stipulatesReciprocal"] = _commitment(
            None, listing_uri + "#reciprocal", reciprocal_quantity, reciprocal_unit
        )
    offer = {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": "Offer",
        "actor": actor_uri,
        "to": [author_uri],
        "object": agreement,
    }
    if message.strip():
        offer["content"] = message_html(message)
    return offer


def _commitment(
    commitment_id: str | None, satisfies: str, quantity: int | float | None, unit: str | None
) -> dict[str, Any]:
    commitment: dict[str, Any] = {"type": "Commitment", "satisfies": satisfies}
    if commitment_id:
        commitment = {"id": commitment_id, **commitment}
    if quantity is not None:
        commitment["resourceQuantity"] = _quantity(unit or "one", quantity)
    return commitment


def message_html(message: str) -> str:
    """Plain text as HTML: paragraphs on blank lines, line breaks kept, all escaped."""
    paragraphs = [part.strip() for part in message.strip().split("\n\n") if part.strip()]
    return "".join(
        "<p>" + "<br>".join(_esc(line) for line in part.splitlines()) + "</p>"
        for part in paragraphs
    )


def agreement_accept_to_ap(
    *, activity_id: str, actor_uri: str, offer: AgreementOffer, agreement_id: str
) -> dict[str, Any]:
    """The listing's author accepts `offer`: FEP-0837 wants the Offer's id as `object` and
    the finalised Agreement, with ids and the quantities offered, as `result`."""
    agreement: dict[str, Any] = {
        "id": agreement_id,
        "type": "Agreement",
        "stipulates": _commitment(
            agreement_id + "#primary", offer.intent_uri, offer.quantity, offer.unit
        ),
    }
    if offer.reciprocal_intent_uri:
        agreement["stipulatesReciprocal"] = _commitment(
            agreement_id + "#reciprocal",
            offer.reciprocal_intent_uri,
            offer.reciprocal_quantity,
            offer.reciprocal_unit,
        )
    return {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": "Accept",
        "actor": actor_uri,
        "to": [offer.actor_uri],
        "object": offer.offer_id,
        "result": agreement,
    }


def agreement_reject_to_ap(
    *, activity_id: str, actor_uri: str, offer: AgreementOffer, reason: str = ""
) -> dict[str, Any]:
    """The listing's author declines `offer`; FEP-0837 lets `content` say why."""
    reject = {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": "Reject",
        "actor": actor_uri,
        "to": [offer.actor_uri],
        "object": offer.offer_id,
    }
    if reason.strip():
        reject["content"] = message_html(reason)
    return reject


@dataclass(frozen=True)
class AgreementAnswer:
    """A listing author's decision on an Offer(Agreement) we sent."""

    offer_id: str
    actor_uri: str
    accepted: bool
    agreement_id: str | None  # the finalised Agreement's id, on Accept
    reason: str  # plain text, on Reject; may be empty


def agreement_answer_from_ap(activity: dict[str, Any]) -> AgreementAnswer | None:
    """Read a normalised Accept or Reject of an Offer. An Accept must carry the Agreement as
    `result`; an Accept or Reject of anything else (a Follow) is None. Whether `offer_id`
    is an Offer we sent is for the caller to look up."""
    kind = activity_type(activity) if isinstance(activity, dict) else None
    if kind not in ("Accept", "Reject"):
        return None
    target = activity.get("object")
    embedded_offer = isinstance(target, dict)
    offer_id = valid_uri(first_id(target))
    actor = valid_uri(first_id(activity.get("actor")))
    if embedded_offer and activity_type(target) != "Offer" or not (offer_id and actor):
        return None
    result = _first_dict(activity.get("result"))
    agreement_id = valid_uri(result.get("id")) if result else None
    if kind == "Accept" and (result is None or activity_type(result) != "Agreement"):
        return None
    content = content_of(activity)
    return AgreementAnswer(
        offer_id=offer_id,
        actor_uri=actor,
        accepted=kind == "Accept",
        agreement_id=agreement_id,
        reason=html_to_text(content) if content else "",
    )


__all__ = [
    "AgreementAnswer",
    "AgreementOffer",
    "CLOSED_STATES",
    "KIND_NS",
    "ListingContext",
    "OTHER_KIND",
    "RemoteListing",
    "RemotePhoto",
    "action_of",
    "agreement_accept_to_ap",
    "agreement_answer_from_ap",
    "agreement_reject_to_ap",
    "announce_to_ap",
    "create_to_ap",
    "delete_to_ap",
    "html_to_text",
    "content_of",
    "is_direct",
    "is_direct_reply_to",
    "mentioned_actors",
    "message_html",
    "listing_from_ap",
    "listing_to_ap",
    "offer_agreement_from_ap",
    "offer_agreement_to_ap",
    "update_to_ap",
]
