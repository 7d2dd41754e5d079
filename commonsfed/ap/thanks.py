"""A thanks after a completed exchange, as it travels between nodes.

No FEP defines a thanks (FEP-0837, the federated marketplace, ends at the Agreement; none of
the published FEPs names gratitude, reviews or references), so a thanks is an ordinary public
`Note` that any server shows as a post, plus one term of our own that makes it recognisable:

    {"id": "https://south.test/thanks/8f0c…", "type": "Note",
     "attributedTo": "https://south.test/users/bob",
     "to": ["https://north.test/users/alice", "https://www.w3.org/ns/activitystreams#Public"],
     "cc": [],
     "inReplyTo": "https://north.test/listings/aB3",
     "thanksFor": "https://north.test/listings/aB3",
     "content": "<p><span class=\\"h-card\\"><a href=… class=\\"u-url mention\\">@<span>alice"
                "</span></a></span> Thank you for the drill!</p>",
     "tag": [{"type": "Mention", "href": "https://north.test/users/alice",
              "name": "@alice@north.test"}],
     "published": "…", "updated": "…" (after an edit)}

`thanksFor` is `https://commonsfed.org/ns#thanksFor` (an `@id`: the listing, FEP-0837's
Proposal, the exchange was about). The thanked person is the one Mention, also in `to`.
It goes in a `Create`; an edit in an `Update` of the whole Note; removal in a `Delete`
of a `Tombstone`. A Note without `thanksFor` (a Mastodon reply mentioning a resident) is
never a thanks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from commonsfed.ap.activities import activity_type, valid_uri
from commonsfed.ap.agreements import message_html
from commonsfed.ap.jsonld import OUR_CONTEXT, PUBLIC, as_list, first_id
from commonsfed.ap.remote_listings import content_of, html_to_text

MAX_THANKS = 500


@dataclass(frozen=True)
class ThanksNote:
    note_id: str
    writer_uri: str
    subject_uri: str
    subject_handle: str  # user@host, for the mention
    listing_uri: str
    body: str
    published: datetime
    updated: datetime | None = None


def _time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def thanks_note_to_ap(thanks: ThanksNote) -> dict[str, Any]:
    user = thanks.subject_handle.partition("@")[0]
    mention = (
        f'<span class="h-card" translate="no"><a href="{escape(thanks.subject_uri)}" '
        f'class="u-url mention">@<span>{escape(user)}</span></a></span> '
    )
    note: dict[str, Any] = {
        "id": thanks.note_id,
        "type": "Note",
        "attributedTo": thanks.writer_uri,
        "to": [thanks.subject_uri, PUBLIC],
        "cc": [],
        "inReplyTo": thanks.listing_uri,
        "thanksFor": thanks.listing_uri,
        "published": _time(thanks.published),
        "content": "<p>" + mention + (message_html(thanks.body) or "<p></p>").removeprefix("<p>"),
        "tag": [
            {"type": "Mention", "href": thanks.subject_uri, "name": "@" + thanks.subject_handle}
        ],
    }
    if thanks.updated is not None:
        note["updated"] = _time(thanks.updated)
    return note


def thanks_activity(kind: str, thanks: ThanksNote, activity_id: str) -> dict[str, Any]:
    """The Create, Update or Delete that carries a thanks to the thanked person's node."""
    if kind == "Delete":
        target: dict[str, Any] = {"id": thanks.note_id, "type": "Tombstone", "formerType": "Note"}
    else:
        target = thanks_note_to_ap(thanks)
    return {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": thanks.writer_uri,
        "to": [thanks.subject_uri, PUBLIC],
        "cc": [],
        "object": target,
    }


@dataclass(frozen=True)
class ReceivedThanks:
    """A thanks Note as received: who wrote it, to whom, for which listing, what it says."""

    note_id: str
    writer_uri: str
    subject_uris: tuple[str, ...]  # the mentioned actors that are also addressed
    listing_uri: str
    text: str  # plain text, leading mentions removed, at most MAX_THANKS characters


def is_thanks(note: Any) -> bool:
    return isinstance(note, dict) and activity_type(note) == "Note" and "thanksFor" in note


def thanks_from_ap(note: dict[str, Any]) -> ReceivedThanks | None:
    """Read a normalised Note; None unless it is a thanks with what a thanks needs."""
    if not is_thanks(note):
        return None
    note_id = valid_uri(note.get("id"))
    writer = valid_uri(first_id(note.get("attributedTo")))
    listing = valid_uri(first_id(note.get("thanksFor")))
    if note_id is None or writer is None or listing is None:
        return None
    addressed = {first_id(item) for key in ("to", "cc") for item in as_list(note.get(key))}
    mentioned = tuple(
        href
        for tag in as_list(note.get("tag"))
        if isinstance(tag, dict) and activity_type(tag) == "Mention"
        if (href := valid_uri(first_id(tag.get("href")))) and href in addressed
    )
    text = _without_mentions(html_to_text(content_of(note), limit=MAX_THANKS * 4), note)
    return ReceivedThanks(note_id, writer, mentioned, listing, _cut(text))


def _without_mentions(text: str, note: dict[str, Any]) -> str:
    """ "@alice Thank you!" reads "Thank you!" on Alice's profile, under the writer's name."""
    names = set()
    for tag in as_list(note.get("tag")):
        if isinstance(tag, dict) and activity_type(tag) == "Mention":
            name = tag.get("name")
            if isinstance(name, str) and name.startswith("@"):
                names |= {name.lower(), "@" + name[1:].partition("@")[0].lower()}
    words = text.split(" ")
    while words and words[0].lower() in names:
        words.pop(0)
    return " ".join(words).strip()


def _cut(text: str) -> str:
    return text if len(text) <= MAX_THANKS else text[: MAX_THANKS - 1].rstrip() + "…"
