"""Notifications: a resident's list (Mastodon's types, filters and pages), one by id,
dismissing one or all, and the unread count. What each type means here is said in
services/api_notifications.py."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from commonsfed.api import entities
from commonsfed.api.auth import require_user
from commonsfed.api.errors import ApiError, not_found
from commonsfed.api.paging import in_order, page_request, paged_response
from commonsfed.api.params import Params, path_id, read_params
from commonsfed.api.render import statuses_json
from commonsfed.config import Settings
from commonsfed.models import Account
from commonsfed.services import api_notifications
from commonsfed.services.api_notifications import NotificationQuery, NotificationView
from commonsfed.web.keys import POOL, SETTINGS

# as Mastodon pages notifications: 40 by default, at most 80
DEFAULT_LIMIT, MAX_LIMIT = 40, 80
# the unread count counts up to 100 by default, at most 1000 (as Mastodon)
DEFAULT_COUNT, MAX_COUNT = 100, 1000


async def notifications_json(
    conn: asyncpg.Connection, settings: Settings, account: Account, views: list[NotificationView]
) -> list[dict[str, Any]]:
    """The Notification entities of `views`, their statuses rendered in one batch."""
    rendered = iter(
        await statuses_json(
            conn, settings, [view.status for view in views if view.status is not None], account
        )
    )
    return [entities.notification(view, settings, next(rendered) if view.status else None)
            for view in views]  # fmt: skip


async def notification_json(
    conn: asyncpg.Connection, settings: Settings, account: Account, notification_id: int
) -> dict[str, Any] | None:
    """The Notification entity of one of `account`'s notifications, as GET
    /api/v1/notifications/:id answers it; None when apps do not see it (dismissed, another
    resident's, or about something the node can no longer show). For the streaming API: see
    services.api_notifications.CHANNEL for how it learns of a new one."""
    view = await api_notifications.notification(conn, settings, account, notification_id)
    if view is None:
        return None
    [body] = await notifications_json(conn, settings, account, [view])
    return body


def query_of(params: Params) -> NotificationQuery:
    account_id = params.get("account_id")
    if account_id is not None and not account_id.isdigit():
        raise ApiError(400, "account_id must be an id")
    return NotificationQuery(
        types=tuple(params.list("types")),
        exclude_types=tuple(params.list("exclude_types")),
        account_id=int(account_id) if account_id and int(account_id) < 2**63 else None,
    )


async def notification_page(request: web.Request, conn, account) -> tuple[list, list]:
    """The page of the resident's notifications the request asks for (v1's and v2's alike):
    (their rows, for the Link header; their views), newest first."""
    params = await read_params(request)
    page = page_request(params, DEFAULT_LIMIT, MAX_LIMIT)
    rows, views = await api_notifications.notifications(
        conn, request.app[SETTINGS], account, query_of(params), below=page.max_id,
        above=page.after, oldest_first=page.oldest_first, limit=page.limit,
    )  # fmt: skip
    return in_order(page, rows), in_order(page, views)


async def list_notifications(request: web.Request) -> web.Response:
    account = require_user(request, "read:notifications")
    async with request.app[POOL].acquire() as conn:
        rows, views = await notification_page(request, conn, account)
        body = await notifications_json(conn, request.app[SETTINGS], account, views)
    return paged_response(request, body, rows, key=lambda row: row["id"])


async def get_notification(request: web.Request) -> web.Response:
    account = require_user(request, "read:notifications")
    async with request.app[POOL].acquire() as conn:
        body = await notification_json(conn, request.app[SETTINGS], account, path_id(request))
    if body is None:
        raise not_found()
    return web.json_response(body)


async def dismiss(request: web.Request) -> web.Response:
    account = require_user(request, "write:notifications")
    if not await api_notifications.dismiss(request.app[POOL], account, path_id(request)):
        raise not_found()
    return web.json_response({})


async def dismiss_by_param(request: web.Request) -> web.Response:
    """The older `POST /api/v1/notifications/dismiss` with `id`, which some apps still send."""
    account = require_user(request, "write:notifications")
    given = (await read_params(request)).get("id") or ""
    if not given.isdigit() or int(given) >= 2**63:
        raise not_found()
    if not await api_notifications.dismiss(request.app[POOL], account, int(given)):
        raise not_found()
    return web.json_response({})


async def clear(request: web.Request) -> web.Response:
    account = require_user(request, "write:notifications")
    await api_notifications.clear(request.app[POOL], account)
    return web.json_response({})


async def unread_count(request: web.Request) -> web.Response:
    account = require_user(request, "read:notifications")
    params = await read_params(request)
    most = params.int("limit", DEFAULT_COUNT, low=1, high=MAX_COUNT)
    async with request.app[POOL].acquire() as conn:
        count = await api_notifications.count_unread(
            conn, request.app[SETTINGS], account, query_of(params), most
        )
    return web.json_response({"count": count})
