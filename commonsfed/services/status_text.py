"""A status written in an app, read as a listing, and a listing written back as such a status.

Apps have one text box, so the listing form is written as text:

    #offer #lend #tools Cordless drill
    With two batteries and a set of bits.
    Where: Elm Street 4

- It starts with `#offer` or `#request`, names a kind (#give #lend #swap #help #ride #stay
  #groupbuy #payitforward #shared) and a category of the node (#tools ...).
- The first line, hashtags taken out, is the title (or, when it holds only hashtags, the next
  line); the rest is the description.
- A line `Label: value` in the rest sets what the form would ask for (Where, Days, Hours,
  From, To, Leaves, Seats ...): see FIELD_LABELS. Kinds that need more than a title (a ride's
  start, a stay's days) are refused with the lines to add (services.status_posting).
- Defaults for what an app cannot ask: where is "in <the neighbourhood>", a loan is for
  DEFAULT_LOAN_DAYS. Everything else the form requires must be written.

Pure: no I/O. The category slugs the node has are passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from commonsfed.models import Listing

PURPOSE_TAGS = ("offer", "request")
KIND_TAGS = {
    "give": "give", "lend": "lend", "swap": "swap", "help": "service", "ride": "ride",
    "stay": "stay", "groupbuy": "group_purchase", "payitforward": "pay_it_forward",
    "shared": "shared",
}  # fmt: skip
TAG_OF_KIND = {kind: tag for tag, kind in KIND_TAGS.items()}
DEFAULT_LOAN_DAYS = "14"

# "Label:" at the start of a line -> the listing form's field
FIELD_LABELS = {
    "where": "place", "quantity": "quantity", "until": "available_until",
    "expires": "expires_on", "days": "loan_days", "return by": "return_by", "hours": "hours",
    "from": "origin", "to": "destination", "leaves": "departure", "seats": "seats",
    "arrives": "arrival", "departs": "departure", "places": "places",
    "target": "target_quantity", "unit": "unit", "deadline": "deadline",
    "portions": "portions",
}  # fmt: skip
# what to write for a field the form asks for (kind-specific ones first)
_EXAMPLES = {
    ("ride", "departure"): "Leaves: 2030-06-30 08:15",
    ("stay", "departure"): "Departs: 2030-07-02",
    "place": "Where: Elm Street 4", "quantity": "Quantity: 2",
    "available_until": "Until: 2030-06-30", "expires_on": "Expires: 2030-06-30",
    "loan_days": "Days: 7", "return_by": "Return by: 2030-06-30", "hours": "Hours: 1.5",
    "origin": "From: Station Square", "destination": "To: Market Hall",
    "seats": "Seats: 3", "arrival": "Arrives: 2030-06-30", "places": "Places: 2",
    "target_quantity": "Target: 20", "unit": "Unit: kg", "deadline": "Deadline: 2030-06-30",
    "portions": "Portions: 5",
}  # fmt: skip
HOW_TO = (
    "A status becomes a listing: start with #offer or #request, a kind "
    "(#give #lend #swap #help #ride #stay #groupbuy #payitforward #shared) and a category "
    "({categories}); the first line is the title, the rest the description, "
    "e.g. “#offer #lend #tools Cordless drill”."
)
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_LABEL_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,14}?)\s*:\s*(.+?)\s*$")


class NotAListing(Exception):
    """The text cannot be read as a listing; str(error) says how to write one."""


@dataclass(frozen=True)
class ListingText:
    purpose: str
    kind: str
    form: dict[str, str]  # the listing form's fields, as services.listings reads them


def hashtags(text: str) -> list[str]:
    return [name.lower() for name in _HASHTAG.findall(text)]


def how_to(categories: list[str]) -> str:
    shown = " ".join(f"#{slug}" for slug in categories[:8])
    return HOW_TO.format(categories=shown + (" ..." if len(categories) > 8 else ""))


def read_listing(text: str, categories: list[str], place: str) -> ListingText:
    """The listing a status describes; NotAListing with what to change otherwise."""
    lines = text.replace("\r\n", "\n").strip().split("\n")
    tags = hashtags(text)
    purpose = tags[0] if tags and text.lstrip().startswith("#") else None
    if purpose not in PURPOSE_TAGS:
        raise NotAListing(how_to(categories))
    kind = next((KIND_TAGS[tag] for tag in tags if tag in KIND_TAGS), None)
    if kind is None:
        raise NotAListing(
            "Name the kind of listing with one of #give #lend #swap #help #ride #stay "
            "#groupbuy #payitforward #shared. " + how_to(categories)
        )
    category = next((tag for tag in tags if tag in categories), None)
    if category is None:
        raise NotAListing(
            f"Name a category of this neighbourhood: {' '.join('#' + c for c in categories)}. "
            + how_to(categories)
        )
    title, rest = _title(lines)
    form = {"purpose": purpose, "kind": kind, "category": category, "title": title}
    form |= _fields(rest)
    form["description"] = "\n".join(_plain(rest)).strip()
    form.setdefault("place", place)
    if kind == "lend":
        form.setdefault("loan_days", DEFAULT_LOAN_DAYS)
    return ListingText(purpose, kind, form)


def _without_tags(line: str) -> str:
    return " ".join(_HASHTAG.sub(" ", line).split())


def _title(lines: list[str]) -> tuple[str, list[str]]:
    """(the title, the lines after it): the first line's words, else the next line's."""
    first = _without_tags(lines[0])
    if first or len(lines) == 1:
        return first, lines[1:]
    rest = lines[1:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    return (rest[0].strip(), rest[1:]) if rest else ("", [])


def _label(line: str) -> tuple[str, str] | None:
    match = _LABEL_LINE.match(line)
    if match is None:
        return None
    field = FIELD_LABELS.get(" ".join(match[1].lower().split()))
    return (field, match[2]) if field else None


def _fields(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        labelled = _label(line)
        if labelled:
            found.setdefault(*labelled)
    return found


def _plain(lines: list[str]) -> list[str]:
    return [line.rstrip() for line in lines if _label(line) is None]


def example(kind: str, field: str) -> str | None:
    """The line that sets `field` of a listing of `kind`, as an example."""
    return _EXAMPLES.get((kind, field)) or _EXAMPLES.get(field)


def refusal(kind: str, errors: dict[str, str]) -> str:
    """What the listing service refused, said as the lines to add or change."""
    parts = []
    for field, message in errors.items():
        line = example(kind, field)
        if field == "title":
            message = "Write a title on the first line, after the hashtags."
        parts.append(f"{message} Add a line “{line}”." if line else message)
    return " ".join(parts)


def listing_text(listing: Listing) -> str:
    """A listing as the status that would post it again (Mastodon's delete-and-redraft):
    hashtags and title, the description, and the lines for what the form held."""
    head = f"#{listing.purpose} #{TAG_OF_KIND[listing.kind]} #{listing.category} {listing.title}"
    lines = [head]
    if listing.description:
        lines.append(listing.description)
    labels = {field: label for label, field in FIELD_LABELS.items()}
    if listing.place:
        lines.append(f"Where: {listing.place}")
    for field, value in listing.details.items():
        label = example(listing.kind, field)
        if value not in (None, "") and label and field in labels:
            lines.append(f"{label.split(':', 1)[0]}: {value}")
    return "\n".join(lines)
