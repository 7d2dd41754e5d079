"""Accounts: the resident's own (read and changed), anyone's by id or handle, an account's
statuses (its listings), and the accounts search."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from commonsfed.api import entities
from commonsfed.api.auth import require_user, viewer
from commonsfed.api.errors import ApiError, not_found, unprocessable
from commonsfed.api.paging import page_request, paged_response
from commonsfed.api.params import Params, path_id, read_params
from commonsfed.api.render import statuses_json
from commonsfed.api.search import find_accounts
from commonsfed.models import Account
from commonsfed.services import api_accounts, statuses
from commonsfed.services.api_accounts import CredentialsChange
from commonsfed.services.api_relationships import relationships
from commonsfed.services.errors import ValidationError
from commonsfed.services.photos import MAX_UPLOAD_BYTES, Upload
from commonsfed.web.keys import FEDERATION, POOL, SETTINGS

MAX_FIELDS_GIVEN = 16  # more than a profile takes (services.profiles says how many)


async def _credential_account(request: web.Request, account: Account) -> web.Response:
    pool, settings = request.app[POOL], request.app[SETTINGS]
    view = await api_accounts.account_by_id(pool, settings, account.id)
    if view is None:
        raise not_found()
    source = await api_accounts.profile_source(pool, account.id)
    waiting = await api_accounts.follow_requests_count(pool, view.uri)
    return web.json_response(entities.credential_account(
        view, settings, note_source=source.bio,
        fields_source=[(field.label, field.value) for field in source.fields],
        follow_requests_count=waiting,
    ))  # fmt: skip


async def verify_credentials(request: web.Request) -> web.Response:
    return await _credential_account(request, require_user(request, "read:accounts"))


async def get_account(request: web.Request) -> web.Response:
    view = await api_accounts.account_by_id(
        request.app[POOL], request.app[SETTINGS], path_id(request)
    )
    if view is None:
        raise not_found()
    return web.json_response(entities.account(view, request.app[SETTINGS]))


async def lookup(request: web.Request) -> web.Response:
    acct = (await read_params(request)).get("acct") or ""
    view = await api_accounts.lookup(request.app[POOL], request.app[SETTINGS], acct)
    if view is None:
        raise not_found()
    return web.json_response(entities.account(view, request.app[SETTINGS]))


# --- an account's statuses -------------------------------------------------------------------


async def account_statuses(request: web.Request) -> web.Response:
    """The account's listings, newest first. Listings are never replies nor pinned, so
    `exclude_replies` changes nothing and `pinned=true` (asked by every app for its pinned
    row) is an empty list, as is a suspended account's."""
    settings, reader = request.app[SETTINGS], viewer(request, "read:statuses")
    params = await read_params(request)
    view = await api_accounts.account_by_id(request.app[POOL], settings, path_id(request))
    if view is None:
        raise not_found()
    if params.bool("pinned") or view.suspended:
        return web.json_response([])
    page = page_request(params)
    tag = (params.get("tagged") or "").strip().removeprefix("#").lower() or None
    async with request.app[POOL].acquire() as conn:
        ids = await api_accounts.account_status_ids(
            conn, settings, view, page, tag=tag, only_media=params.bool("only_media")
        )
        found = await statuses.statuses_by_id(conn, settings, ids, reader)
        views = [found[each] for each in ids if each in found]
        body = await statuses_json(conn, settings, views, reader)
    return paged_response(request, body, views, lambda item: item.id)


# --- the resident's own profile --------------------------------------------------------------


async def update_credentials(request: web.Request) -> web.Response:
    """The profile, as Mastodon's update_credentials takes it (form, multipart or JSON);
    what the node has no place for (header, bot, discoverable, source[...]) is accepted and
    left out."""
    account = require_user(request, "write:accounts")
    params = await read_params(request)
    change = CredentialsChange(
        display_name=params.get("display_name"),
        note=params.get("note"),
        fields=_fields_attributes(params),
        locked=params.bool("locked") if "locked" in params else None,
    )
    try:
        await api_accounts.update_credentials(
            request.app[FEDERATION], account, change, await _avatar(request)
        )
    except ValidationError as exc:
        raise unprocessable(str(exc), **exc.errors) from None
    return await _credential_account(request, account)


def _fields_attributes(params: Params) -> list[tuple[str, str]] | None:
    """The profile fields sent as `fields_attributes[0][name]` form keys, or in JSON as a
    list of {name, value} or a dict of them by index; None when none were sent."""
    raw = params.raw_list("fields_attributes")
    if raw:
        items = raw
        if len(raw) == 1 and isinstance(raw[0], dict) and not {"name", "value"} & set(raw[0]):
            by_index = raw[0]  # {"0": {...}, "1": {...}}, as Rails reads nested keys
            items = [by_index[key] for key in sorted(by_index, key=_index_order)]
        if not isinstance(items, list) or not all(isinstance(each, dict) for each in items):
            raise unprocessable(
                "fields_attributes must be a list of name and value",
                fields_attributes="must be a list of name and value",
            )
        pairs = [(each.get("name"), each.get("value")) for each in items]
    else:
        pairs = _form_fields(params)
        if pairs is None:
            return None
    if len(pairs) > MAX_FIELDS_GIVEN:
        raise unprocessable("too many fields", fields_attributes="too many fields")
    return [(_text(name), _text(value)) for name, value in pairs if name or value]


def _form_fields(params: Params) -> list[tuple[Any, Any]] | None:
    found: dict[str, dict[str, str]] = {}
    for name in params.names():
        if name.startswith("fields_attributes[") and name.endswith("]"):
            index, _, key = name[len("fields_attributes[") : -1].partition("][")
            if key in ("name", "value"):
                found.setdefault(index, {})[key] = params.get(name) or ""
    if not found:
        return None
    order = sorted(found, key=_index_order)
    return [(found[index].get("name"), found[index].get("value")) for index in order]


def _index_order(index: str) -> tuple:
    return (not index.isdigit(), int(index) if index.isdigit() else 0, index)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


async def _avatar(request: web.Request) -> Upload | None:
    """The avatar file of a multipart body, as the photo pipeline takes it."""
    if request.content_type != "multipart/form-data":
        return None
    form = await request.post()  # read (and kept) by read_params already
    file = form.get("avatar")
    if file is None or isinstance(file, str):
        return None
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    return Upload("avatar", file.filename or "avatar", data[:MAX_UPLOAD_BYTES],
                  too_large=len(data) > MAX_UPLOAD_BYTES)  # fmt: skip


# --- finding accounts ------------------------------------------------------------------------


async def search(request: web.Request) -> web.Response:
    """`/api/v1/accounts/search`: by name or handle; `resolve=true` (for a resident's
    token) looks a handle up on its server."""
    params = await read_params(request)
    text = (params.get("q") or "").strip()
    if not text:
        raise ApiError(400, "q is missing")
    limit = params.int("limit", 40, low=1, high=80)
    offset = params.int("offset", 0, low=0, high=10_000)
    found = await find_accounts(request, text, params.bool("resolve"), limit, offset)
    if params.bool("following"):  # only the accounts the resident follows
        account = require_user(request, "read:follows")
        ids = [view.id for view in found]
        views = await relationships(request.app[FEDERATION], account, ids)
        followed = {view.id for view in views if view.following}
        found = [view for view in found if view.id in followed]
    settings = request.app[SETTINGS]
    return web.json_response([entities.account(view, settings) for view in found])


async def familiar_followers(request: web.Request) -> web.Response:
    """Followers of each account whom the resident follows too: none are shown (the node
    keeps no such list), one empty entry per id as Mastodon's shape asks."""
    require_user(request, "read:follows")
    ids = (await read_params(request)).list("id")
    return web.json_response([{"id": str(each), "accounts": []} for each in ids[:40]])
