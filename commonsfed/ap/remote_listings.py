"""Listings of other servers read back (FEP-0837 and a kind's details, or a plain Note),
and the reading of remote values they share with the answers: numbers, measures, text out
of HTML. Pure: no database, no network. What our own listings look like on the wire is in
commonsfed.ap.listings."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from commonsfed.ap.activities import activity_type, is_listing, parse_time, valid_uri
from commonsfed.ap.jsonld import VALUEFLOWS_NS, as_list, first_id
from commonsfed.ap.listings import (  # fmt: skip
    CLASSIFIED_AS,
    FINISHED,
    KIND_NS,
    MAX_CONTENT,
    MAX_MESSAGE,
    MAX_PHOTOS,
    MAX_SHORT_TEXT,
    MAX_TAGS,
    MAX_TITLE,
    OTHER_KIND,
    read_number,
)
from commonsfed.ap.projects import (
    MAX_NAME,
    MAX_NEEDS,
    NEED_KINDS,
    NEED_NS,
    NeedOnWire,
    need_index,
)
from commonsfed.models import KINDS, PURPOSES

# --- reading remote values ---------------------------------------------------------------


def _text(value: Any, limit: int) -> str | None:
    """A string (or the first string of a list), stripped and cut to `limit` characters."""
    for item in as_list(value):
        if isinstance(item, str) and item.strip():
            return _cut(item.strip(), limit)
    return None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def first_dict(value: Any) -> dict[str, Any] | None:
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


def read_measure(value: Any) -> tuple[str | None, int | float | None]:
    """(unit, number) of a `resourceQuantity`-shaped value."""
    measure = first_dict(value)
    if measure is None:
        return None, None
    unit = _short_name(measure.get("hasUnit"))
    if unit and unit.startswith("om2:"):
        unit = unit[4:]
    return unit, read_number(_scalar(measure.get("hasNumericalValue")))


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
    intent = first_dict(document.get("publishes")) or {}
    reciprocal = first_dict(document.get("reciprocal"))
    unit, quantity = read_measure(intent.get("resourceQuantity"))
    available = read_measure(intent.get("availableQuantity"))[1]
    content = content_of(document)
    place = first_dict(document.get("location")) or {}
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
        minimum_quantity=read_measure(intent.get("minimumQuantity"))[1],
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
        if read_measure(intent.get("minimumQuantity"))[1] is not None:
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


# --- a project's needs -----------------------------------------------------------------------

_UNIT = re.compile(r"[A-Za-z]{1,16}")  # om2's names and ISO 4217 codes; nothing else is shown


def needs_from_ap(document: Mapping[str, Any], listing_uri: str) -> list[NeedOnWire]:
    """The needs a project of another node names (its `needs`, see ap.projects), each with
    an Intent id under the listing's own; what cannot be read is left out."""
    needs = []
    for item in as_list(document.get("needs"))[:MAX_NEEDS]:
        need = _need_from_ap(item, listing_uri) if isinstance(item, dict) else None
        if need is not None:
            needs.append(need)
    return needs


def _need_from_ap(item: dict[str, Any], listing_uri: str) -> NeedOnWire | None:
    uri = valid_uri(item.get("id")) or ""
    index = need_index(uri)
    if uri.partition("#")[0] != listing_uri or index is None:
        return None
    kind = _need_kind(item)
    unit, quantity = read_measure(item.get("resourceQuantity"))
    if kind is None or unit is None or not _UNIT.fullmatch(unit) or not quantity:
        return None
    name = _text(item.get("name"), MAX_NAME * 4) or ""
    left = read_measure(item.get("availableQuantity"))[1]
    return NeedOnWire(index, kind, _cut(" ".join(name.split()), MAX_NAME), unit, quantity, left)


def _need_kind(item: Mapping[str, Any]) -> str | None:
    for value in as_list(item.get(CLASSIFIED_AS) or item.get("resourceClassifiedAs"))[:8]:
        if isinstance(value, str) and value.startswith(NEED_NS):
            kind = value[len(NEED_NS) :]
            if kind in NEED_KINDS:
                return kind
    return None
