"""Search for the client API: accounts by name or handle, the node's categories as
hashtags, listings by full text (services.search's, over local and remote listings), and
resolving a handle or a URL on another server into an account or a status, through
WebFinger, the actor cache and the node's SSRF-safe fetch.

A URL is resolved as Mastodon resolves one: fetched as AS2 (signed by the instance actor),
an actor kept in the actor cache, a note or listing kept among the remote objects when its
author lives on its own host; the node never fetches from a suspended domain.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import asyncpg

from commonsfed.ap.activities import ObjectError, remote_object_from_ap, same_host
from commonsfed.ap.actors import ACTOR_TYPES
from commonsfed.ap.jsonld import JsonLdError, normalise
from commonsfed.db import api_accounts as q
from commonsfed.db import listings as listings_q
from commonsfed.db import objects as objects_q
from commonsfed.db import policies as policies_q
from commonsfed.federation.actors import ActorUnavailable, get_actor, lookup
from commonsfed.federation.context import Federation
from commonsfed.federation.fetch import FetchError
from commonsfed.models import Account
from commonsfed.services import api_accounts, search, statuses
from commonsfed.services.api_accounts import AccountView
from commonsfed.services.statuses import StatusView

MAX_QUERY = 200
MAX_OFFSET = 200  # the full-text search reads offset + limit rows; deeper pages are refused


class CannotResolve(Exception):
    """The handle or URL names nothing this node can fetch and show."""


@dataclass(frozen=True)
class Found:
    accounts: list[AccountView]
    statuses: list[StatusView]
    hashtags: list[str]  # category slugs


def looks_like_handle(text: str) -> bool:
    name, _, host = text.strip().removeprefix("@").partition("@")
    return bool(name and host and "." in host and " " not in text.strip() and "@" not in host)


def is_url(text: str) -> bool:
    return text.startswith(("https://", "http://")) and " " not in text


# --- accounts --------------------------------------------------------------------------------


async def find_accounts(
    fed: Federation, text: str, *, resolve: bool, limit: int, offset: int = 0
) -> list[AccountView]:
    """Accounts for `text`; with `resolve`, a handle of another server is looked up there
    first (the caller checks that a resident asks)."""
    first: list[AccountView] = []
    if resolve and offset == 0 and looks_like_handle(text) and not _names_here(fed, text):
        try:
            first = [await resolve_account(fed, text)]
        except CannotResolve:
            first = []
    found = await api_accounts.search_accounts(fed.pool, fed.settings, text, limit, offset)
    return (first + [view for view in found if view.id not in {v.id for v in first}])[:limit]


def _names_here(fed: Federation, handle: str) -> bool:
    host = handle.strip().removeprefix("@").partition("@")[2]
    return host.lower() == fed.settings.domain.lower()


async def resolve_account(fed: Federation, handle_or_url: str) -> AccountView:
    """The remote account a handle or actor URL names, fetched (WebFinger, the actor) and
    kept in the cache."""
    target = handle_or_url.strip().removeprefix("@")
    await _check_domain(fed, target.rpartition("@")[2] if not is_url(target) else target)
    try:
        actor = await lookup(fed, target)
    except (FetchError, ActorUnavailable) as exc:
        raise CannotResolve(str(exc)) from None
    return await _account_of(fed, actor.uri)


async def _account_of(fed: Federation, uri: str) -> AccountView:
    async with fed.pool.acquire() as conn:
        found = await api_accounts.accounts_for_uris(conn, fed.settings, [uri])
    if uri not in found:
        raise CannotResolve(f"{uri} is not an account")
    return found[uri]


async def _check_domain(fed: Federation, host_or_url: str) -> None:
    host = (urlsplit(host_or_url).hostname if is_url(host_or_url) else host_or_url) or ""
    async with fed.pool.acquire() as conn:
        policy = await policies_q.get_domain_policy(conn, host.lower())
    if policy and policy.policy == "block" and policy.severity == "suspend":
        raise CannotResolve(f"{host} is blocked here")


# --- URLs ------------------------------------------------------------------------------------


async def resolve_url(
    fed: Federation, url: str, viewer: Account | None
) -> AccountView | StatusView:
    """The account or status a URL names: one of this node's, or fetched from its server."""
    if fed.uris.is_local(url):
        return await _local_url(fed, url, viewer)
    await _check_domain(fed, url)
    try:
        document = normalise((await fed.fetch(url)).document)
    except (FetchError, JsonLdError) as exc:
        raise CannotResolve(str(exc)) from None
    if document.get("type") in ACTOR_TYPES:
        return await resolve_account(fed, document.get("id") or url)
    return await _keep_object(fed, document, viewer)


async def _local_url(fed: Federation, url: str, viewer: Account | None):
    name = fed.uris.local_username(url)
    if name:
        view = await api_accounts.local_account(fed.pool, fed.settings, name)
        if view is not None:
            return view
    uid = fed.uris.listing_uid(url)
    if uid:
        async with fed.pool.acquire() as conn:
            listing = await listings_q.get_listing(conn, uid)
            if listing is not None:
                ids, _ = await q.status_ids_for(conn, [listing.id], [])
                return await _status(conn, fed, ids[listing.id], viewer)
    raise CannotResolve(f"{url} names nothing here")


async def _keep_object(fed: Federation, document: dict, viewer: Account | None) -> StatusView:
    """A fetched note or listing, kept as the inbox keeps one its author sent."""
    try:
        kept = remote_object_from_ap(document)
    except ObjectError as exc:
        raise CannotResolve(str(exc)) from None
    if not same_host(kept.attributed_to, kept.uri):
        raise CannotResolve(f"{kept.uri} names an author on another host")
    try:
        await get_actor(fed, kept.attributed_to)
    except (FetchError, ActorUnavailable) as exc:
        raise CannotResolve(f"its author: {exc}") from None
    async with fed.pool.acquire() as conn:
        await objects_q.insert_remote_object(conn, kept)
        _, ids = await q.status_ids_for(conn, [], [kept.uri])
        if kept.uri not in ids:  # its author deleted it before
            raise CannotResolve(f"{kept.uri} was deleted")
        return await _status(conn, fed, ids[kept.uri], viewer)


async def _status(conn, fed: Federation, status_id: int, viewer: Account | None) -> StatusView:
    found = await statuses.statuses_by_id(conn, fed.settings, [status_id], viewer)
    if status_id not in found:
        raise CannotResolve("it cannot be shown")
    return found[status_id]


# --- listings and hashtags -------------------------------------------------------------------


async def find_statuses(
    fed: Federation, text: str, viewer: Account | None, limit: int, offset: int
) -> list[StatusView]:
    """Listings here and elsewhere whose text matches `text` (websearch syntax), newest
    first, without what the viewer blocks, mutes or hides."""
    if offset > MAX_OFFSET or not text.strip():
        return []
    async with fed.pool.acquire() as conn:
        categories = {row["slug"] for row in await listings_q.categories(conn)}
        hidden = await search.hidden_for(conn, viewer)
    wanted = search.read_search({"q": text[:MAX_QUERY], "where": "everywhere"}, categories)
    wanted = search.leaving_out(replace(wanted, cursor=None), hidden)
    page = await search.find(fed.pool, wanted, limit + offset)
    cards = page.cards[offset:]
    async with fed.pool.acquire() as conn:
        local, remote = await q.status_ids_for(
            conn, [c.local_id for c in cards if c.local_id], [c.uri for c in cards if c.uri]
        )
        ids = [local.get(c.local_id) if c.local_id else remote.get(c.uri) for c in cards]
        ids = [each for each in ids if each is not None]
        found = await statuses.statuses_by_id(conn, fed.settings, ids, viewer)
    return [found[each] for each in ids if each in found]


async def find_hashtags(pool: asyncpg.Pool, text: str, limit: int, offset: int) -> list[str]:
    """The node's categories whose slug or name starts with `text`, as hashtags."""
    if not text.strip().lstrip("#"):
        return []
    async with pool.acquire() as conn:
        rows = await q.categories_matching(conn, text.strip(), limit, offset)
    return [row["slug"] for row in rows]
