"""Remote actors: fetched signed, checked, cached in PostgreSQL, re-fetched when stale."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import asyncpg

from commonsfed.ap.actors import ActorError, RemoteActor, actor_from_ap
from commonsfed.ap.jsonld import JsonLdError, first_id, normalise
from commonsfed.db import actors as q
from commonsfed.federation.context import Federation
from commonsfed.federation.fetch import FetchedDocument, FetchError, fetch_jrd

AS2_TYPES = ("application/activity+json", "application/ld+json")
# a cached key that fails is fetched again at most this often (a rotated key is rare;
# a forged signature naming someone's key is cheap to send)
REFETCH_AFTER_SECONDS = 60


class ActorUnavailable(FetchError):
    """The actor could not be fetched or is not a usable actor; the message says why."""


async def fetch_actor(fed: Federation, uri: str) -> RemoteActor:
    """Fetch the actor at `uri` (signed as the instance actor), check it and cache it."""
    return await _keep(fed, await fed.fetch(uri))


async def _keep(fed: Federation, fetched: FetchedDocument) -> RemoteActor:
    """Check a fetched actor document and cache it (see `store_actor`)."""
    try:
        actor = actor_from_ap(normalise(fetched.document))
    except (ActorError, JsonLdError) as exc:
        raise ActorUnavailable(f"refused: {exc}") from exc
    await store_actor(fed, actor, fetched.document)
    return actor


async def store_actor(fed: Federation, actor: RemoteActor, document: dict) -> None:
    """Cache `actor`, settling first who owns its key (see `check_key`)."""
    holder = await check_key(fed, actor)
    async with fed.pool.acquire() as conn, conn.transaction():
        await save_actor(conn, actor, document, holder)


@dataclass(frozen=True)
class KeyHolder:
    """Another cached actor holding the key id that an actor names, which the key's origin
    says is not theirs (any more): `refreshed` is their fresh copy, or None to forget them."""

    uri: str
    key_id: str
    refreshed: tuple[RemoteActor, dict] | None


async def check_key(fed: Federation, actor: RemoteActor) -> KeyHolder | None:
    """Reads only. None when no other cached actor holds `actor`'s key id (key ids are
    unique). Else a key moved between two actors of one host, or one of them lies: the key
    is fetched from its origin and its owner gets it, and the other actor is fetched again
    too. ActorUnavailable when the key's owner is not `actor`."""
    async with fed.pool.acquire() as conn:
        holder = await q.key_holder(conn, actor.key_id, actor.uri)
    if holder is None:
        return None
    fetched = await fed.fetch(actor.key_id)
    owner = _key_owner(fetched.document, fetched.url)
    if owner != actor.uri:
        raise ActorUnavailable(
            f"refused: {actor.uri} names the key {actor.key_id}, which belongs to {owner}"
        )
    return KeyHolder(holder, actor.key_id, await _refetch_without_key(fed, holder, actor.key_id))


async def _refetch_without_key(
    fed: Federation, uri: str, key_id: str
) -> tuple[RemoteActor, dict] | None:
    """The actor at `uri` from its origin, when it no longer claims `key_id`; else None."""
    try:
        fetched = await fed.fetch(uri)
        actor = actor_from_ap(normalise(fetched.document))
    except (FetchError, ActorError, JsonLdError):
        return None
    return (actor, fetched.document) if actor.uri == uri and actor.key_id != key_id else None


async def save_actor(
    conn: asyncpg.Connection, actor: RemoteActor, document: dict, holder: KeyHolder | None
) -> None:
    """Write what `check_key` found, then the actor, in the caller's transaction;
    ActorUnavailable when another writer took the key meanwhile (try again)."""
    if holder is not None:
        refreshed = holder.refreshed
        kept = refreshed is not None and await q.upsert_remote_actor(conn, *refreshed) is None
        if not kept:
            await q.forget_key_holder(conn, holder.uri, holder.key_id)
    if await q.upsert_remote_actor(conn, actor, document) is not None:
        raise ActorUnavailable(f"{actor.key_id} is claimed by another actor; try again later")


async def get_actor(fed: Federation, uri: str, *, refresh: bool = False) -> RemoteActor:
    """The cached actor, or a fresh fetch when asked for or not cached."""
    if not refresh:
        async with fed.pool.acquire() as conn:
            cached = await q.get_remote_actor(conn, uri)
        if cached is not None:
            return cached
    return await fetch_actor(fed, uri)


async def actor_for_key(fed: Federation, key_id: str, *, refresh: bool = False) -> RemoteActor:
    """The actor owning `key_id`, from the cache unless `refresh`.

    Mastodon's key ids are the actor URL with #main-key: the key's document is the actor's,
    so it is read once, not fetched again. GoToSocial's are a separate path
    (/users/x/main-key) that serves a key document naming its owner, which we then fetch.
    """
    async with fed.pool.acquire() as conn:
        cached = await q.get_remote_actor_by_key(conn, key_id)
        # a bad signature must not make us fetch a victim's actor again and again
        if cached is not None and refresh:
            refresh = not await q.key_fetched_within(conn, key_id, REFETCH_AFTER_SECONDS)
    if cached is not None and not refresh:
        return cached
    fetched = await fed.fetch(key_id)
    owner = _key_owner(fetched.document, fetched.url)
    actor = await (_keep(fed, fetched) if owner == fetched.url else fetch_actor(fed, owner))
    if actor.key_id != key_id:
        raise ActorUnavailable(f"refused: {owner} does not list the key {key_id}")
    return actor


def _key_owner(document: dict, url: str) -> str:
    """Who the document at a key id says owns the key: a key document's owner on its own
    host, or the actor itself when the key id points into an actor document."""
    if document.get("type") == "Key" or "owner" in document and "inbox" not in document:
        owner = first_id(document.get("owner"))
        if not owner or urlsplit(owner).netloc != urlsplit(url).netloc:
            raise ActorUnavailable(f"refused: the key at {url} has no owner on its host")
        return owner
    return url


async def webfinger(fed: Federation, handle: str) -> str:
    """The actor URI for @user@host, by WebFinger."""
    user, host = _split_handle(handle)
    url = f"{fed.settings.scheme}://{host}/.well-known/webfinger?resource=" + quote(
        f"acct:{user}@{host}", safe=":@"
    )
    jrd = await fetch_jrd(fed.session, fed.policy, url, dev=fed.settings.dev)
    for link in jrd.get("links") or []:
        if (
            isinstance(link, dict)
            and link.get("rel") == "self"
            and str(link.get("type", "")).partition(";")[0].strip() in AS2_TYPES
            and isinstance(link.get("href"), str)
        ):
            return link["href"]
    raise ActorUnavailable(f"{handle} has no ActivityPub actor")


def _split_handle(handle: str) -> tuple[str, str]:
    user, _, host = handle.strip().lstrip("@").partition("@")
    if not user or not host or "/" in host or "@" in host:
        raise ActorUnavailable(f"{handle!r} is not a handle like @name@example.org")
    return user, host.lower()


async def lookup(fed: Federation, handle_or_url: str) -> RemoteActor:
    """Resolve a handle or actor URL to a fresh, verified, cached actor."""
    if handle_or_url.startswith(("https://", "http://")):
        return await fetch_actor(fed, handle_or_url)
    user, host = _split_handle(handle_or_url)
    actor = await fetch_actor(fed, await webfinger(fed, handle_or_url))
    # INTEROP: preferredUsername and host must lead back to the same actor
    if (actor.preferred_username or "").lower() != user.lower():
        raise ActorUnavailable(f"{handle_or_url} points to {actor.uri}, which is someone else")
    if actor.domain != host and await _own_webfinger(fed, actor) != actor.uri:
        # a host may hand its handles to another (Mastodon's WEB_DOMAIN), but then the
        # actor's own host must say the same, or any host could name anyone as its user
        raise ActorUnavailable(f"{handle_or_url} points to {actor.uri}, which {actor.domain} denies")
    return actor


async def _own_webfinger(fed: Federation, actor: RemoteActor) -> str | None:
    try:
        return await webfinger(fed, f"{actor.preferred_username}@{actor.domain}")
    except FetchError:
        return None
