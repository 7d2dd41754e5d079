"""Every route of the client API, by area. Each is served with and without a trailing
slash, as Mastodon (Rails) serves them and as some apps ask for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from commonsfed.api import (
    accounts,
    conversations,
    grouped_notifications,
    notifications,
    statuses,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route(app: web.Application, method: str, path: str, handler: Handler) -> None:
    """`path` and `path/`, for `method` (GET also answers HEAD)."""
    for each in (path, path + "/"):
        app.router.add_route(method, each, handler)


def setup_api_routes(app: web.Application) -> None:
    status_id = "{id:[0-9]{1,19}}"
    account_id = "{id:[0-9]{1,19}}"
    # --- OAuth, apps, the instance and what apps read at start-up
    # (no routes yet)

    # --- accounts, relationships, follows, search
    route(app, "GET", "/api/v1/accounts/verify_credentials", accounts.verify_credentials)
    route(app, "GET", f"/api/v1/accounts/{account_id}", accounts.get_account)

    # --- statuses, media, favourites, bookmarks
    route(app, "GET", f"/api/v1/statuses/{status_id}", statuses.get_status)

    # --- timelines, notifications, conversations, streaming
    notification_id = conversation_id = "{id:[0-9]{1,19}}"
    route(app, "GET", "/api/v1/notifications", notifications.list_notifications)
    route(app, "GET", "/api/v1/notifications/unread_count", notifications.unread_count)
    route(app, "POST", "/api/v1/notifications/clear", notifications.clear)
    route(app, "POST", "/api/v1/notifications/dismiss", notifications.dismiss_by_param)
    route(app, "GET", f"/api/v1/notifications/{notification_id}", notifications.get_notification)
    route(app, "POST", f"/api/v1/notifications/{notification_id}/dismiss", notifications.dismiss)
    group_key = "{group_key:ungrouped-[0-9]{1,19}}"
    grouped = grouped_notifications
    route(app, "GET", "/api/v2/notifications", grouped.list_groups)
    route(app, "GET", "/api/v2/notifications/unread_count", grouped.unread_group_count)
    route(app, "GET", f"/api/v2/notifications/{group_key}", grouped.get_group)
    route(app, "GET", f"/api/v2/notifications/{group_key}/accounts", grouped.group_accounts)
    route(app, "POST", f"/api/v2/notifications/{group_key}/dismiss", grouped.dismiss_group)
    route(app, "GET", "/api/v1/conversations", conversations.list_conversations)
    route(app, "POST", f"/api/v1/conversations/{conversation_id}/read", conversations.mark_read)
    route(app, "DELETE", f"/api/v1/conversations/{conversation_id}", conversations.remove)
