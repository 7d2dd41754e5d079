"""Notes from the fediverse that speak to residents: mentions and public replies, read for
the residents' notifications. Pure: no database, no network.

A Note mentions someone with a `Mention` tag whose `href` is their actor (Mastodon, Misskey,
GoToSocial and Pleroma all tag mentions so). Its text is the peer's HTML made plain text
(`html_to_text`); remote HTML is never shown as HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Any

from commonsfed.ap.activities import activity_type, same_host, valid_uri
from commonsfed.ap.jsonld import PUBLIC, as_list, first_id
from commonsfed.ap.remote_listings import content_of, html_to_text

# tags read from one Note: a Note may carry thousands (the inbox caps the document, not its
# lists), and no reader needs more than the first ones
MAX_TAGS_READ = 100
MAX_TEXT = 500  # characters of a Note's text kept in a notification
_PUBLIC = (PUBLIC, "as:Public", "Public")
_ADDRESSING = ("to", "cc", "bto", "bcc", "audience")


@dataclass(frozen=True)
class IncomingNote:
    uri: str
    author: str
    url: str  # where people read it: its `url` on its own host, else its id
    text: str  # plain text, at most MAX_TEXT characters
    in_reply_to: str | None
    public: bool  # Public in `to` or `cc` (Mastodon's public and unlisted)
    addressees: frozenset[str]
    mentioned: tuple[str, ...]  # the Mention hrefs among the first MAX_TAGS_READ tags


def note_from_ap(note: Any) -> IncomingNote | None:
    """Read a normalised Note; None for anything without an id and an author."""
    if not isinstance(note, dict) or activity_type(note) != "Note":
        return None
    uri = valid_uri(note.get("id"))
    author = valid_uri(first_id(note.get("attributedTo")))
    if uri is None or author is None:
        return None
    addressees = frozenset(
        address
        for key in _ADDRESSING
        for item in islice(as_list(note.get(key)), MAX_TAGS_READ)
        if (address := first_id(item))
    )
    return IncomingNote(
        uri=uri,
        author=author,
        url=_reading_url(note.get("url"), uri),
        text=html_to_text(content_of(note), MAX_TEXT),
        in_reply_to=valid_uri(first_id(note.get("inReplyTo"))),
        public=any(address in _PUBLIC for key in ("to", "cc") for address in _ids(note, key)),
        addressees=addressees,
        mentioned=_mentioned(note.get("tag")),
    )


def _ids(note: dict[str, Any], key: str) -> list[str]:
    return [address for item in as_list(note.get(key)) if (address := first_id(item))]


def _mentioned(tags: Any) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for tag in islice(as_list(tags), MAX_TAGS_READ):
        if isinstance(tag, dict) and activity_type(tag) == "Mention":
            href = valid_uri(first_id(tag.get("href")))
            if href:
                found[href] = None
    return tuple(found)


def _reading_url(value: Any, uri: str) -> str:
    """The Note's `url` (a string or a Link's `href`) when it is on the Note's own host, as
    Mastodon's https://host/@user/123 is; else its id, which that host serves too."""
    for item in islice(as_list(value), 10):
        href = item.get("href") if isinstance(item, dict) else item
        url = valid_uri(href)
        if url is not None and same_host(url, uri):
            return url
    return uri


__all__ = ["MAX_TAGS_READ", "MAX_TEXT", "IncomingNote", "note_from_ap"]
