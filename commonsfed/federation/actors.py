"""Remote actors: fetched signed, checked, cached in PostgreSQL, re-fetched when stale."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from commonsfed.ap.actors import ActorError, RemoteActor, actor_from_ap
from commonsfed.ap.jsonld import JsonLdError, first_id, normalise
from commonsfed.db import actors as q
from commonsfed.federation.context import Federation
from commonsfed.federation.fetch import FetchError, fetch_jrd

AS2_TYPES = ("application/activity+json", "application/ld+json")
# a cached key that fails is fetched again at most this often (a rotated key is rare;
# a forged signature naming someone's key is cheap to send)
REFETCH_AFTER_SECONDS = 60


class ActorUnavailable(FetchError):
    """The actor could not be fetched or is not a usable actor; the message says why."""


async def fetch_actor(fed: Federation, uri: str) -> RemoteActor:
    """Fetch the actor at `uri` (signed as the instance actor), check it and cache it."""
    fetched = await fed.fetch(uri)
    try:
        document = normalise(fetched.document)
        actor = actor_from_ap(document)
    except (ActorError, JsonLdError) as exc:
        raise ActorUnavailable(f"refused: {exc}") from exc
    async with fed.pool.acquire() as conn:
        await q.upsert_remote_actor(conn, actor, fetched.document)
    return actor


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

    Mastodon's key ids are the actor URL with #main-key; GoToSocial's are a separate path
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
    actor = await fetch_actor(fed, owner)
    if actor.key_id != key_id:
        raise ActorUnavailable(f"refused: {owner} does not list the key {key_id}")
    return actor


def _key_owner(document: dict, url: str) -> str:
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
    return actor
