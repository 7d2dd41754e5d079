"""Accounts: the resident's own, anyone's by id."""

from __future__ import annotations

from aiohttp import web

from commonsfed.api import entities
from commonsfed.api.auth import require_user
from commonsfed.api.errors import not_found
from commonsfed.api.params import path_id
from commonsfed.services import api_accounts
from commonsfed.web.keys import POOL, SETTINGS


async def verify_credentials(request: web.Request) -> web.Response:
    account = require_user(request, "read:accounts")
    pool, settings = request.app[POOL], request.app[SETTINGS]
    view = await api_accounts.account_by_id(pool, settings, account.id)
    if view is None:
        raise not_found()
    source = await api_accounts.profile_source(pool, account.id)
    return web.json_response(entities.credential_account(
        view, settings, note_source=source.bio,
        fields_source=[(field.label, field.value) for field in source.fields],
    ))  # fmt: skip


async def get_account(request: web.Request) -> web.Response:
    view = await api_accounts.account_by_id(
        request.app[POOL], request.app[SETTINGS], path_id(request)
    )
    if view is None:
        raise not_found()
    return web.json_response(entities.account(view, request.app[SETTINGS]))
