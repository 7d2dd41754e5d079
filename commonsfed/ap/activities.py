"""Activities on the wire: builders for what local actors send, readers for what arrives.

Pure: no database, no network. Builders take the ids they need; the new activity's own id
comes from `new_id(settings)`, by default `<base>/activities/<uuid>`, the spelling
`federation.outbox.new_activity_id` uses (ap/ may not import federation/).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from commonsfed.ap.jsonld import OUR_CONTEXT, as_list, first_id
from commonsfed.config import Settings

IdFactory = Callable[[Settings], str]

# Not an AS2 type: what any object carrying FEP-0837's `purpose` and `publishes` counts as,
# whatever its `type` (ARCHITECTURE.md, "Listings on the wire").
LISTING = "Listing"
# Objects kept in remote_objects: what Mastodon shows (Note, Question) or reduces to a link
# (Article, Page, which Lemmy posts are), and listings of any type.
CONTENT_TYPES = ("Note", "Article", "Page", "Question")
MAX_URI_LENGTH = 2048  # longer ids are hostile; PostgreSQL's btree refuses keys past ~2.7 kB


def new_activity_id(settings: Settings) -> str:
    return f"{settings.base_url}/activities/{uuid.uuid4()}"


# --- builders ----------------------------------------------------------------------------


def accept_to_ap(
    actor_uri: str,
    follow: dict[str, Any],
    settings: Settings,
    *,
    new_id: IdFactory = new_activity_id,
) -> dict[str, Any]:
    """`actor_uri` accepts `follow` (the Follow as received), addressed to the follower."""
    return _answer("Accept", actor_uri, follow, settings, new_id)


def reject_to_ap(
    actor_uri: str,
    follow: dict[str, Any],
    settings: Settings,
    *,
    new_id: IdFactory = new_activity_id,
) -> dict[str, Any]:
    """`actor_uri` rejects `follow`, or removes a follower it had accepted."""
    return _answer("Reject", actor_uri, follow, settings, new_id)


def _answer(
    kind: str, actor_uri: str, follow: dict[str, Any], settings: Settings, new_id: IdFactory
) -> dict[str, Any]:
    # Mastodon matches the answer to its Follow by the embedded id, and only then by
    # actor and object, so the Follow goes back whole.
    return {
        "@context": OUR_CONTEXT,
        "id": new_id(settings),
        "type": kind,
        "actor": actor_uri,
        "object": embedded(follow),
        "to": as_list(first_id(follow.get("actor"))),
    }


def follow_to_ap(
    actor_uri: str, object_uri: str, settings: Settings, *, new_id: IdFactory = new_activity_id
) -> dict[str, Any]:
    return {
        "@context": OUR_CONTEXT,
        "id": new_id(settings),
        "type": "Follow",
        "actor": actor_uri,
        "object": object_uri,
        "to": [object_uri],
    }


def block_to_ap(
    actor_uri: str, object_uri: str, settings: Settings, *, new_id: IdFactory = new_activity_id
) -> dict[str, Any]:
    """`actor_uri` blocks `object_uri`, addressed to them: their server ends the follows
    between the two, and Mastodon hides the blocker from them."""
    return {
        "@context": OUR_CONTEXT,
        "id": new_id(settings),
        "type": "Block",
        "actor": actor_uri,
        "object": object_uri,
        "to": [object_uri],
    }


def like_to_ap(
    actor_uri: str,
    object_uri: str,
    author_uri: str,
    settings: Settings,
    *,
    new_id: IdFactory = new_activity_id,
) -> dict[str, Any]:
    """`actor_uri` favourites `object_uri`, addressed to its author only (as Mastodon sends
    a favourite: the author's server counts and notifies it)."""
    return {
        "@context": OUR_CONTEXT,
        "id": new_id(settings),
        "type": "Like",
        "actor": actor_uri,
        "object": object_uri,
        "to": [author_uri],
    }


def undo_to_ap(
    actor_uri: str,
    activity: dict[str, Any],
    settings: Settings,
    *,
    new_id: IdFactory = new_activity_id,
) -> dict[str, Any]:
    """Undo `activity` (a Follow, Like, Announce or Block `actor_uri` sent), to its audience."""
    undo = {
        "@context": OUR_CONTEXT,
        "id": new_id(settings),
        "type": "Undo",
        "actor": actor_uri,
        "object": embedded(activity),
        "to": as_list(activity.get("to")),
    }
    if activity.get("cc"):
        undo["cc"] = as_list(activity["cc"])
    return undo


def embedded(document: dict[str, Any]) -> dict[str, Any]:
    """`document` as an object inside another: no @context, no blind copies."""
    return {key: value for key, value in document.items() if key not in ("@context", "bto", "bcc")}


# --- readers -----------------------------------------------------------------------------


def activity_type(document: dict[str, Any]) -> str | None:
    """The type, or the first of several (a few servers send a list)."""
    for item in as_list(document.get("type")):
        if isinstance(item, str):
            return item
    return None


def is_listing(document: dict[str, Any]) -> bool:
    return bool(document.get("purpose")) and bool(document.get("publishes"))


def object_type(document: dict[str, Any]) -> str | None:
    """The type an embedded object is handled as: LISTING for a listing, else its type."""
    return LISTING if is_listing(document) else activity_type(document)


def host_of(uri: str) -> str:
    try:
        return urlsplit(uri).netloc.lower()
    except ValueError:
        return ""


def same_host(uri: str, other: str) -> bool:
    host = host_of(uri)
    return bool(host) and host == host_of(other)


def valid_uri(value: Any) -> str | None:
    """`value` when it is an http(s) URI of sane length, else None."""
    if not isinstance(value, str) or len(value) > MAX_URI_LENGTH:
        return None
    if not value.startswith(("https://", "http://")) or not host_of(value):
        return None
    return value


# --- remote objects ----------------------------------------------------------------------


class ObjectError(ValueError):
    """An object we cannot keep; the message says what is missing."""


@dataclass(frozen=True)
class RemoteObject:
    """A note or listing from another server, as remote_objects keeps it."""

    uri: str
    type: str
    attributed_to: str
    domain: str
    in_reply_to: str | None
    is_listing: bool
    document: dict[str, Any]
    published_at: datetime | None
    updated_at: datetime | None


def remote_object_from_ap(document: dict[str, Any]) -> RemoteObject:
    """Read a (normalised) object; who may send it is for the caller to judge."""
    uri = valid_uri(document.get("id"))
    kind = activity_type(document)
    author = valid_uri(first_id(document.get("attributedTo")))
    if uri is None or "#" in uri:
        raise ObjectError("the object has no usable id")
    if kind is None or author is None:
        raise ObjectError(f"{uri} has no {'type' if kind is None else 'attributedTo'}")
    return RemoteObject(
        uri=uri,
        type=kind,
        attributed_to=author,
        domain=host_of(uri),
        in_reply_to=valid_uri(first_id(document.get("inReplyTo"))),
        is_listing=is_listing(document),
        document=embedded(document),
        published_at=parse_time(document.get("published")),
        updated_at=parse_time(document.get("updated")),
    )


def parse_time(value: Any) -> datetime | None:
    """An xsd:dateTime as sent ("2024-05-04T08:00:00Z"), in UTC when it has no offset."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
