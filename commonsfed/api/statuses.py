"""Statuses: a listing (here or from another node) by id; posting a listing, an answer or a
message; deleting a listing; a status's context, source, favourites and bookmarks."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from commonsfed.api import entities
from commonsfed.api.auth import require_user, viewer
from commonsfed.api.errors import ApiError, not_found, unprocessable
from commonsfed.api.params import Params, path_id, read_params
from commonsfed.api.render import statuses_json
from commonsfed.models import Account
from commonsfed.services import favourites, status_posting, statuses
from commonsfed.services.errors import ValidationError
from commonsfed.services.status_posting import NewStatus, StatusNotFound
from commonsfed.services.statuses import StatusView
from commonsfed.web.keys import FEDERATION, POOL, SETTINGS


async def _view(request: web.Request, reader: Account | None) -> StatusView:
    """The status of the path's id as `reader` may see it, or 404."""
    view = await statuses.status_by_id(
        request.app[POOL], request.app[SETTINGS], path_id(request), reader
    )
    if view is None:
        raise not_found()
    return view


async def _one(request: web.Request, view: StatusView, reader: Account | None) -> dict[str, Any]:
    async with request.app[POOL].acquire() as conn:
        [body] = await statuses_json(conn, request.app[SETTINGS], [view], reader)
    return body


def refused(error: ValidationError) -> ApiError:
    """422 with the services' messages, which say what to write instead."""
    return unprocessable(" ".join(error.errors.values()), **error.errors)


async def get_status(request: web.Request) -> web.Response:
    reader = viewer(request, "read:statuses")
    return web.json_response(await _one(request, await _view(request, reader), reader))


# --- posting and deleting ------------------------------------------------------------------


def _ids(params: Params, name: str) -> list[int]:
    values = params.list(name)
    if not all(value.isdigit() and len(value) < 19 for value in values):
        raise unprocessable(f"{name} must be ids", **{name: "must be ids"})
    return list(dict.fromkeys(int(value) for value in values))


def new_status(params: Params, key: str | None) -> NewStatus:
    reply_to = params.get("in_reply_to_id") or None
    if reply_to is not None and not (reply_to.isdigit() and len(reply_to) < 19):
        raise ApiError(404, "Record not found")  # an id of no status at all
    return NewStatus(
        text=params.get("status") or "",
        media_ids=_ids(params, "media_ids"),
        in_reply_to_id=int(reply_to) if reply_to else None,
        visibility=params.get("visibility") or None,
        idempotency_key=(key or "").strip()[:200] or None,
    )


async def post_status(request: web.Request) -> web.Response:
    """A listing, an answer or a message (services.status_posting); `sensitive`,
    `spoiler_text` and `language` are accepted and have no place in a listing."""
    account = require_user(request, "write:statuses")
    new = new_status(await read_params(request), request.headers.get("Idempotency-Key"))
    try:
        view = await status_posting.post(request.app[FEDERATION], account, new)
    except ValidationError as exc:
        raise refused(exc) from None
    except StatusNotFound:
        raise not_found() from None
    return web.json_response(await _one(request, view, account))


async def delete_status(request: web.Request) -> web.Response:
    """Remove the resident's listing; the status comes back with `text`, its source, so
    that an app can offer to redraft it (as Mastodon does)."""
    account = require_user(request, "write:statuses")
    try:
        view, text = await status_posting.delete(
            request.app[POOL], request.app[SETTINGS], account, path_id(request)
        )
    except StatusNotFound:
        raise not_found() from None
    body = await _one(request, view, account)
    body["text"] = text
    return web.json_response(body)


# --- reading around a status ---------------------------------------------------------------


async def context(request: web.Request) -> web.Response:
    reader = viewer(request, "read:statuses")
    view = await _view(request, reader)
    settings = request.app[SETTINGS]
    async with request.app[POOL].acquire() as conn:
        found = await statuses.context_of(conn, settings, view, reader)
        bodies = await statuses_json(conn, settings, found.ancestors + found.descendants, reader)
    split = len(found.ancestors)
    return web.json_response({"ancestors": bodies[:split], "descendants": bodies[split:]})


async def source(request: web.Request) -> web.Response:
    account = require_user(request, "read:statuses")
    try:
        listing = await status_posting.own_listing(request.app[POOL], account, path_id(request))
    except StatusNotFound:
        raise not_found() from None
    text = status_posting.source_text(listing)
    return web.json_response({"id": request.match_info["id"], "text": text, "spoiler_text": ""})


async def favourited_by(request: web.Request) -> web.Response:
    view = await _view(request, viewer(request, "read:statuses"))
    settings = request.app[SETTINGS]
    limit = (await read_params(request)).int("limit", 40, low=1, high=80)
    people = await favourites.favourited_by(request.app[POOL], settings, view, limit)
    return web.json_response([entities.account(person, settings) for person in people])


async def reblogged_by(request: web.Request) -> web.Response:
    await _view(request, viewer(request, "read:statuses"))
    return web.json_response([])  # listings are announced by their neighbourhood, not boosted


# --- favourites and bookmarks --------------------------------------------------------------


async def favourite(request: web.Request) -> web.Response:
    account = require_user(request, "write:favourites")
    view = await _view(request, account)
    try:
        await favourites.favourite(request.app[FEDERATION], account, view)
    except ValidationError as exc:
        raise refused(exc) from None
    return web.json_response(await _one(request, view, account))


async def unfavourite(request: web.Request) -> web.Response:
    account = require_user(request, "write:favourites")
    view = await _view(request, account)
    await favourites.unfavourite(request.app[FEDERATION], account, view)
    return web.json_response(await _one(request, view, account))


async def bookmark(request: web.Request) -> web.Response:
    account = require_user(request, "write:bookmarks")
    view = await _view(request, account)
    await favourites.bookmark(request.app[POOL], account, view)
    return web.json_response(await _one(request, view, account))


async def unbookmark(request: web.Request) -> web.Response:
    account = require_user(request, "write:bookmarks")
    view = await _view(request, account)
    await favourites.unbookmark(request.app[POOL], account, view)
    return web.json_response(await _one(request, view, account))
