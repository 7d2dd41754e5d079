"""Notifications as Mastodon's grouped API (v2) serves them: the same notifications, types
filters and pages as v1, each its own group (services/api_notifications.py says what each
type means here), with the accounts and statuses they name listed once beside them."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from commonsfed.api import entities
from commonsfed.api.auth import require_user
from commonsfed.api.errors import not_found
from commonsfed.api.notifications import notification_page, unread_count
from commonsfed.api.paging import paged_response
from commonsfed.api.render import statuses_json
from commonsfed.config import Settings
from commonsfed.models import Account
from commonsfed.services import api_notifications
from commonsfed.services.api_notifications import NotificationView
from commonsfed.web.keys import POOL, SETTINGS

UNGROUPED = "ungrouped-"


async def results_json(
    conn: asyncpg.Connection, settings: Settings, account: Account, views: list[NotificationView]
) -> dict[str, Any]:
    """Mastodon's GroupedNotificationsResults for `views`."""
    people = {view.account.id: view.account for view in views}
    statuses = list({view.status.id: view.status for view in views if view.status}.values())
    return {
        "accounts": [entities.account(person, settings) for person in people.values()],
        "statuses": await statuses_json(conn, settings, statuses, account),
        "notification_groups": [entities.notification_group(view, settings) for view in views],
    }


def _notification_id(request: web.Request) -> int:
    """The notification a group key names; a key this node never gave names nothing."""
    key = request.match_info["group_key"]
    number = key.removeprefix(UNGROUPED)
    if key == number or not number.isdigit() or int(number) >= 2**63:
        raise not_found()
    return int(number)


async def list_groups(request: web.Request) -> web.Response:
    account = require_user(request, "read:notifications")
    async with request.app[POOL].acquire() as conn:
        rows, views = await notification_page(request, conn, account)
        body = await results_json(conn, request.app[SETTINGS], account, views)
    return paged_response(request, body, rows, key=lambda row: row["id"])


async def get_group(request: web.Request) -> web.Response:
    account = require_user(request, "read:notifications")
    settings = request.app[SETTINGS]
    async with request.app[POOL].acquire() as conn:
        view = await api_notifications.notification(
            conn, settings, account, _notification_id(request)
        )
        if view is None:
            raise not_found()
        body = await results_json(conn, settings, account, [view])
    return web.json_response(body)


async def group_accounts(request: web.Request) -> web.Response:
    account = require_user(request, "read:notifications")
    settings = request.app[SETTINGS]
    async with request.app[POOL].acquire() as conn:
        view = await api_notifications.notification(
            conn, settings, account, _notification_id(request)
        )
    if view is None:
        raise not_found()
    return web.json_response([entities.account(view.account, settings)])


async def dismiss_group(request: web.Request) -> web.Response:
    account = require_user(request, "write:notifications")
    if not await api_notifications.dismiss(request.app[POOL], account, _notification_id(request)):
        raise not_found()
    return web.json_response({})


# with every group one notification, the count of unread groups is v1's count
unread_group_count = unread_count
