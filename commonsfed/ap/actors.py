"""Actors on the wire: local actors to AS2, remote actor documents from AS2."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from commonsfed.ap.jsonld import OUR_CONTEXT, first_id
from commonsfed.ap.profiles import (
    NO_PROFILE,
    Profile,
    profile_from_ap,
    profile_to_ap,
    summary_from_ap,
)
from commonsfed.ap.uris import AS_PUBLIC, LocalUris

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})


@dataclass(frozen=True)
class LocalActor:
    """What any local actor needs to be served: a resident, the instance, the neighbourhood."""

    uri: str
    type: str
    username: str
    name: str
    summary: str
    public_key_pem: str
    url: str
    published: datetime | None
    manually_approves_followers: bool = False
    discoverable: bool = True
    profile: Profile = NO_PROFILE  # a resident's avatar, area and fields (ap/profiles.py)


def actor_to_ap(actor: LocalActor, uris: LocalUris) -> dict[str, Any]:
    document = {
        "@context": OUR_CONTEXT,
        "id": actor.uri,
        "type": actor.type,
        "preferredUsername": actor.username,
        "name": actor.name,
        "summary": actor.summary,
        "url": actor.url,
        "inbox": uris.inbox(actor.uri),
        "outbox": uris.outbox(actor.uri),
        "followers": uris.followers(actor.uri),
        "following": uris.following(actor.uri),
        "featured": uris.featured(actor.uri),
        "endpoints": {"sharedInbox": uris.shared_inbox},
        "publicKey": {
            "id": uris.key_id(actor.uri),
            "owner": actor.uri,
            "publicKeyPem": actor.public_key_pem,
        },
        "manuallyApprovesFollowers": actor.manually_approves_followers,
        "discoverable": actor.discoverable,
        "indexable": actor.discoverable,
    }
    if actor.published:
        document["published"] = _iso(actor.published)
    document.update(profile_to_ap(actor.profile))
    return document


def actor_tombstone_to_ap(actor_uri: str, deleted: datetime | None) -> dict[str, Any]:
    """What a departed resident's id answers (with 410 Gone), as a removed listing's does."""
    tombstone = {"@context": OUR_CONTEXT, "id": actor_uri, "type": "Tombstone",
                 "formerType": "Person"}  # fmt: skip
    if deleted is not None:
        tombstone["deleted"] = _iso(deleted)
    return tombstone


def delete_actor_to_ap(
    actor_uri: str, activity_id: str, *, cc: list[str], bcc: list[str]
) -> dict[str, Any]:
    """A local actor deletes itself: the object is its own id, as Mastodon sends it (a peer
    that knows the actor forgets it, its posts and its messages). Public, so peers that
    check addressing take it; `cc` and `bcc` choose who is sent it."""
    delete: dict[str, Any] = {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": "Delete",
        "actor": actor_uri,
        "to": [AS_PUBLIC],
        "cc": cc,
        "object": actor_uri,
    }
    if bcc:
        delete["bcc"] = bcc
    return delete


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RemoteActor:
    """The parts of a remote actor document the node uses."""

    uri: str
    domain: str
    type: str
    preferred_username: str | None
    name: str | None
    inbox: str
    shared_inbox: str | None
    followers: str | None
    key_id: str
    public_key_pem: str
    # what the actor shows of itself, cached for pages; never read back from the cache with
    # the rest (db.actors.get_remote_profile reads it), so left out of comparisons
    summary: str | None = field(default=None, compare=False, repr=False)
    profile: Profile = field(default=NO_PROFILE, compare=False, repr=False)

    @property
    def handle(self) -> str:
        return f"@{self.preferred_username}@{self.domain}"


class ActorError(ValueError):
    """A document that is not a usable actor; the message says what is missing."""


def actor_from_ap(document: dict[str, Any]) -> RemoteActor:
    """The usable parts of a remote actor document; ActorError when it is not usable.

    Every address an actor gives must be on its own host (INTEROP): an inbox or a key
    elsewhere makes the actor unusable, a shared inbox or followers collection elsewhere is
    ignored. Else an actor could make us sign and send to any site it names (its Accept
    and every later fan-out go to its shared inbox), or claim a key that is another's.
    """
    uri = _required_str(document, "id")
    if document.get("type") not in ACTOR_TYPES:
        raise ActorError(f"{uri} is a {document.get('type')!r}, not an actor")
    host = _host(uri)
    if not host:
        raise ActorError(f"{uri} is not an http(s) URL")
    key = _public_key(document, uri, host)
    endpoints = document.get("endpoints") if isinstance(document.get("endpoints"), dict) else {}
    inbox = _required_str(document, "inbox")
    if _host(inbox) != host:
        raise ActorError(f"{uri} names an inbox on another host")
    return RemoteActor(
        uri=uri,
        domain=host,
        type=document["type"],
        preferred_username=_optional_str(document, "preferredUsername"),
        name=_optional_str(document, "name"),
        inbox=inbox,
        shared_inbox=_on_host(first_id(endpoints.get("sharedInbox")), host),
        followers=_on_host(first_id(document.get("followers")), host),
        key_id=key["id"],
        public_key_pem=key["publicKeyPem"],
        summary=summary_from_ap(document),
        profile=profile_from_ap(document),
    )


def _public_key(document: dict[str, Any], uri: str, host: str) -> dict[str, str]:
    """The actor's key: its owner is the actor itself and its id is on the actor's host
    (INTEROP), so no actor can name a key that belongs to someone elsewhere."""
    keys = document.get("publicKey")
    for key in keys if isinstance(keys, list) else [keys]:
        if (isinstance(key, dict) and isinstance(key.get("id"), str)
                and isinstance(key.get("publicKeyPem"), str) and key.get("owner", uri) == uri
                and _host(key["id"]) == host):
            return key
    raise ActorError(f"{uri} has no public key on its own host that it owns")


def _host(url: str | None) -> str | None:
    """The lower-cased host[:port] of an http(s) URL, else None."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # urlsplit refuses "http://[x"
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts.netloc.lower()


def _on_host(url: str | None, host: str) -> str | None:
    """`url` when it is on `host`; an address elsewhere is ignored, as if not given."""
    return url if url is not None and _host(url) == host else None


def _required_str(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise ActorError(f"the actor has no {key}")
    return value


def _optional_str(document: dict[str, Any], key: str) -> str | None:
    value = document.get(key)
    return value if isinstance(value, str) else None
