"""Actors on the wire: local actors to AS2, remote actor documents from AS2."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from commonsfed.ap.jsonld import OUR_CONTEXT, first_id
from commonsfed.ap.uris import LocalUris

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
    return document


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

    @property
    def handle(self) -> str:
        return f"@{self.preferred_username}@{self.domain}"


class ActorError(ValueError):
    """A document that is not a usable actor; the message says what is missing."""


def actor_from_ap(document: dict[str, Any]) -> RemoteActor:
    uri = _required_str(document, "id")
    if document.get("type") not in ACTOR_TYPES:
        raise ActorError(f"{uri} is a {document.get('type')!r}, not an actor")
    key = _public_key(document, uri)
    endpoints = document.get("endpoints") if isinstance(document.get("endpoints"), dict) else {}
    return RemoteActor(
        uri=uri,
        domain=urlsplit(uri).netloc.lower(),
        type=document["type"],
        preferred_username=_optional_str(document, "preferredUsername"),
        name=_optional_str(document, "name"),
        inbox=_same_host(_required_str(document, "inbox"), uri),
        shared_inbox=first_id(endpoints.get("sharedInbox")),
        followers=first_id(document.get("followers")),
        key_id=key["id"],
        public_key_pem=key["publicKeyPem"],
    )


def _public_key(document: dict[str, Any], uri: str) -> dict[str, str]:
    """The actor's key; its owner must be the actor itself (INTEROP: the actor lists its key)."""
    keys = document.get("publicKey")
    for key in keys if isinstance(keys, list) else [keys]:
        if (isinstance(key, dict) and isinstance(key.get("id"), str)
                and isinstance(key.get("publicKeyPem"), str) and key.get("owner", uri) == uri):
            return key
    raise ActorError(f"{uri} has no public key that it owns")


def _same_host(url: str, uri: str) -> str:
    if urlsplit(url).netloc.lower() != urlsplit(uri).netloc.lower():
        raise ActorError(f"{uri} names an inbox on another host")
    return url


def _required_str(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise ActorError(f"the actor has no {key}")
    return value


def _optional_str(document: dict[str, Any], key: str) -> str | None:
    value = document.get(key)
    return value if isinstance(value, str) else None
