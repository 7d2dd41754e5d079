"""Private messages between a listing's author and a respondent on another server.

A message travels as Mastodon's direct message does: a `Create` of a `Note` addressed to
the other person only, who is also mentioned (without the Mention, Mastodon shows it as a
"limited" post rather than a direct one). `inReplyTo` names the message it answers, or the
listing for the first one, so the receiving side threads it into the right conversation and
Mastodon shows one thread. `context` names the listing for servers that group by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from commonsfed.ap.activities import activity_type, valid_uri
from commonsfed.ap.agreements import is_direct, message_html
from commonsfed.ap.jsonld import OUR_CONTEXT, as_list, first_id
from commonsfed.ap.listings import MAX_MESSAGE
from commonsfed.ap.remote_listings import content_of, html_to_text


@dataclass(frozen=True)
class Recipient:
    uri: str
    handle: str  # user@host
    url: str  # their profile page, for the mention's link


def direct_message_to_ap(
    *,
    note_id: str,
    activity_id: str,
    sender_uri: str,
    recipient: Recipient,
    body: str,
    in_reply_to: str,
    listing_uri: str,
    published: datetime,
) -> dict[str, Any]:
    """`sender_uri` writes `body` (plain text) to `recipient` alone."""
    user = recipient.handle.partition("@")[0]
    mention = (
        f'<span class="h-card" translate="no"><a href="{escape(recipient.url)}" '
        f'class="u-url mention">@<span>{escape(user)}</span></a></span> '
    )
    html = message_html(body) or "<p></p>"
    note = {
        "id": note_id,
        "type": "Note",
        "attributedTo": sender_uri,
        "to": [recipient.uri],
        "cc": [],
        "inReplyTo": in_reply_to,
        "context": listing_uri,
        "published": published.isoformat().replace("+00:00", "Z"),
        "content": "<p>" + mention + html.removeprefix("<p>"),
        "tag": [{"type": "Mention", "href": recipient.uri, "name": "@" + recipient.handle}],
    }
    return {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": "Create",
        "actor": sender_uri,
        "to": [recipient.uri],
        "cc": [],
        "published": note["published"],
        "object": note,
    }


@dataclass(frozen=True)
class DirectMessage:
    """A direct Note as received: whom it replies to and what it says, as plain text."""

    note_id: str
    sender_uri: str
    in_reply_to: str | None
    addressees: tuple[str, ...]
    text: str  # at most MAX_MESSAGE characters, leading mentions removed


def direct_message_from_ap(note: dict[str, Any]) -> DirectMessage | None:
    """Read a normalised Note; None unless it is direct (addressed to actors only)."""
    if not is_direct(note):
        return None
    note_id = valid_uri(note.get("id"))
    sender = valid_uri(first_id(note.get("attributedTo")))
    if note_id is None or sender is None:
        return None
    addressees = tuple(
        uri
        for key in ("to", "cc", "bto", "bcc", "audience")
        for item in as_list(note.get(key))
        if (uri := first_id(item))
    )
    return DirectMessage(
        note_id=note_id,
        sender_uri=sender,
        in_reply_to=valid_uri(first_id(note.get("inReplyTo"))),
        addressees=addressees,
        text=_without_leading_mentions(html_to_text(content_of(note)), note),
    )


def _without_leading_mentions(text: str, note: dict[str, Any]) -> str:
    """ "@bob Is it still free?" reads "Is it still free?" in the conversation: Mastodon puts
    the addressee's mention first, and the conversation shows who wrote to whom already."""
    names = set()
    for tag in as_list(note.get("tag")):
        if isinstance(tag, dict) and activity_type(tag) == "Mention":
            name = tag.get("name")
            if isinstance(name, str) and name.startswith("@"):
                names |= {name.lower(), "@" + name[1:].partition("@")[0].lower()}
    words = text.split(" ")
    while words and words[0].lower() in names:
        words.pop(0)
    return " ".join(words).strip()[:MAX_MESSAGE]


__all__ = [
    "DirectMessage",
    "Recipient",
    "direct_message_from_ap",
    "direct_message_to_ap",
]
