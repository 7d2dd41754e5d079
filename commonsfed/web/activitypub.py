"""ActivityPub endpoints: actor documents and their collections, HTML for browsers."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import orjson
from aiohttp import web
from markupsafe import Markup

from commonsfed.ap.actors import LocalActor, actor_to_ap, actor_tombstone_to_ap
from commonsfed.ap.collections import collection_page_to_ap, collection_to_ap
from commonsfed.federation.verify import NotVerified, verify_request
from commonsfed.services import actors, profiles, sorted_search, thanks
from commonsfed.web.keys import FEDERATION, POOL, SETTINGS

AS2_CONTENT_TYPE = "application/activity+json"
_AS2_ACCEPTS = ("application/activity+json", "application/ld+json")
MAX_PAGE = 10_000  # deeper pages are a crawl, not a reader


def wants_as2(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "").lower()
    return any(kind in accept for kind in _AS2_ACCEPTS)


def as2_response(document: dict[str, Any], status: int = 200) -> web.Response:
    response = web.Response(body=orjson.dumps(document), status=status,
                            content_type=AS2_CONTENT_TYPE)
    response.headers["Vary"] = "Accept"
    return response


async def _actor_or_gone(request: web.Request) -> LocalActor:
    """The actor the path names; HTTPNotFound, or actors.ActorGone for one who left."""
    pool, settings = request.app[POOL], request.app[SETTINGS]
    name = request.match_info.get("name")
    if name is None:
        return await actors.instance_actor(pool, settings)
    try:
        return await actors.local_actor(pool, settings, name)
    except actors.ActorNotFound as exc:
        raise web.HTTPNotFound(text=str(exc)) from None


async def _actor_for(request: web.Request) -> LocalActor:
    try:
        return await _actor_or_gone(request)
    except actors.ActorGone as exc:
        raise web.HTTPGone(text=str(exc)) from None


async def require_signature(request: web.Request) -> None:
    """In secure mode, AS2 documents are only for peers that sign their fetches."""
    if not request.app[SETTINGS].secure_mode:
        return
    try:
        await verify_request(request.app[FEDERATION], request.method, request.raw_path,
                             request.headers, None)
    except NotVerified as exc:
        raise web.HTTPUnauthorized(text=f"secure mode: {exc}") from None


def key_only(document: dict[str, Any]) -> dict[str, Any]:
    """What an unsigned fetch gets in secure mode: enough to verify the actor's signatures,
    so two nodes in secure mode can still check each other (as Mastodon does)."""
    keep = ("@context", "id", "type", "preferredUsername", "inbox", "endpoints", "publicKey")
    return {key: document[key] for key in keep if key in document}


async def actor(request: web.Request) -> web.StreamResponse:
    try:
        local = await _actor_or_gone(request)
    except actors.ActorGone as gone:
        return _gone(request, gone)
    settings = request.app[SETTINGS]
    if wants_as2(request):
        document = actor_to_ap(local, actors.local_uris(settings))
        if local.type == "Application" or not settings.secure_mode:
            return as2_response(document)
        if not _is_signed(request):
            return as2_response(key_only(document))
        await require_signature(request)
        return as2_response(document)
    if local.type == "Application":
        raise web.HTTPSeeOther("/")
    context = {"actor": local, "handle": f"@{local.username}@{settings.domain}"}
    if local.type == "Person":
        # web.listings imports this module (as2_response), so its labels come in here
        from commonsfed.web.listings import LABELS, search_age
  # its summary is the bio, rendered from Markdown and sanitised
        context |= {"profile": await profiles.profile_of(request.app[POOL], local.username),
                    "bio_html": Markup(local.summary),
                    "extras": await thanks.profile_extras(request.app[POOL], local.username),
                    "listing_cards": await sorted_search.profile_cards(request.app[POOL],
                                                                       local.username),
                    "labels": LABELS, "age": search_age(request)}  # fmt: skip
    response = aiohttp_jinja2.render_template("profile.html", request, context)
    response.headers["Vary"] = "Accept"
    return response


def _gone(request: web.Request, gone: actors.ActorGone) -> web.Response:
    """A resident who left: a Tombstone for peers (as a removed listing's id answers), a
    page that says so for people; 410 for both."""
    if wants_as2(request):
        return as2_response(actor_tombstone_to_ap(gone.uri, gone.deleted_at), status=410)
    handle = f"@{gone.uri.rsplit('/', 1)[1]}@{request.app[SETTINGS].domain}"
    context = {"handle": handle, "deleted": gone.deleted_at is not None}
    response = aiohttp_jinja2.render_template("gone.html", request, context, status=410)
    response.headers["Vary"] = "Accept"
    return response


def _is_signed(request: web.Request) -> bool:
    headers = request.headers
    return "Signature" in headers or headers.get("Authorization", "").startswith("Signature ")


def _page(request: web.Request) -> int | None:
    raw = request.query.get("page")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise web.HTTPBadRequest(text=f"page must be a number from 1 to {MAX_PAGE}")
    return int(raw)


async def _collection(request: web.Request, uri: str, total: int, items: list) -> web.Response:
    page = _page(request)
    if page is None:
        return as2_response(collection_to_ap(uri, total))
    return as2_response(collection_page_to_ap(uri, page, items, total))


async def follows(request: web.Request) -> web.Response:
    await require_signature(request)
    local = await _actor_for(request)
    direction = request.match_info["direction"]
    uris = actors.local_uris(request.app[SETTINGS])
    uri = uris.followers(local.uri) if direction == "followers" else uris.following(local.uri)
    total, items = await actors.follows_collection(
        request.app[POOL], local.uri, direction, _page(request))
    return await _collection(request, uri, total, items)


async def outbox(request: web.Request) -> web.Response:
    await require_signature(request)
    local = await _actor_for(request)
    uri = actors.local_uris(request.app[SETTINGS]).outbox(local.uri)
    total, items = await actors.outbox_collection(
        request.app[POOL], local.uri, _page(request), group=local.type == "Group")
    return await _collection(request, uri, total, items)


async def featured(request: web.Request) -> web.Response:
    await require_signature(request)
    # nothing can be pinned yet; the collection exists because Mastodon fetches it
    local = await _actor_for(request)
    uri = actors.local_uris(request.app[SETTINGS]).featured(local.uri)
    return await _collection(request, uri, 0, [])
