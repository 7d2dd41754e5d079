"""Every route of the client API, by area. Each is served with and without a trailing
slash, as Mastodon (Rails) serves them and as some apps ask for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from commonsfed.api import (
    accounts,
    apps,
    authorize,
    bootstrap,
    conversations,
    favourites,
    grouped_notifications,
    instance,
    media,
    notifications,
    oauth,
    relationships,
    search,
    statuses,
    streaming,
    timelines,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route(app: web.Application, method: str, path: str, handler: Handler) -> None:
    """`path` and `path/`, for `method` (GET also answers HEAD)."""
    for each in (path, path + "/"):
        app.router.add_route(method, each, handler)


ID = "{id:[0-9]{1,19}}"  # statuses, accounts, media, notifications, conversations


def setup_api_routes(app: web.Application) -> None:
    _start_up_routes(app)
    _account_routes(app, ID)
    _status_routes(app)
    _notification_routes(app)
    _timeline_routes(app)
    streaming.setup(app)


def _start_up_routes(app: web.Application) -> None:
    """OAuth, apps, the instance and what apps read at start-up."""
    route(app, "GET", "/oauth/authorize", authorize.authorize_page)
    route(app, "POST", "/oauth/authorize", authorize.authorize_decision)
    route(app, "POST", "/oauth/token", oauth.token)
    route(app, "POST", "/oauth/revoke", oauth.revoke)
    route(app, "GET", "/.well-known/oauth-authorization-server", oauth.server_metadata)
    route(app, "POST", "/api/v1/apps", apps.create_app)
    route(app, "GET", "/api/v1/apps/verify_credentials", apps.verify_app)
    route(app, "GET", "/api/v1/instance", instance.instance_v1)
    route(app, "GET", "/api/v2/instance", instance.instance_v2)
    route(app, "GET", "/api/v1/instance/rules", instance.rules)
    route(app, "GET", "/api/v1/instance/peers", instance.peers)
    route(app, "GET", "/api/v1/instance/activity", instance.activity)
    route(app, "GET", "/api/v1/preferences", bootstrap.preferences)
    route(app, "GET", "/api/v1/markers", bootstrap.get_markers)
    route(app, "POST", "/api/v1/markers", bootstrap.save_markers)
    for path, scope in (
        ("/api/v1/custom_emojis", None),
        ("/api/v1/filters", "read:filters"),
        ("/api/v2/filters", "read:filters"),
        ("/api/v1/lists", "read:lists"),
        ("/api/v1/announcements", "read"),
        ("/api/v1/followed_tags", "read:follows"),
        ("/api/v1/trends", None),
        ("/api/v1/trends/tags", None),
        ("/api/v1/trends/statuses", None),
        ("/api/v1/trends/links", None),
        ("/api/v2/suggestions", "read"),
    ):
        route(app, "GET", path, bootstrap.empty_list(scope))


def _status_routes(app: web.Application) -> None:
    """Statuses, media, favourites, bookmarks."""
    one = f"/api/v1/statuses/{ID}"
    route(app, "GET", one, statuses.get_status)
    route(app, "POST", "/api/v1/statuses", statuses.post_status)
    route(app, "DELETE", one, statuses.delete_status)
    route(app, "GET", f"{one}/context", statuses.context)
    route(app, "GET", f"{one}/source", statuses.source)
    route(app, "GET", f"{one}/favourited_by", statuses.favourited_by)
    route(app, "GET", f"{one}/reblogged_by", statuses.reblogged_by)
    route(app, "POST", f"{one}/favourite", statuses.favourite)
    route(app, "POST", f"{one}/unfavourite", statuses.unfavourite)
    route(app, "POST", f"{one}/bookmark", statuses.bookmark)
    route(app, "POST", f"{one}/unbookmark", statuses.unbookmark)
    route(app, "GET", "/api/v1/favourites", favourites.list_favourites)
    route(app, "GET", "/api/v1/bookmarks", favourites.list_bookmarks)
    route(app, "POST", "/api/v1/media", media.upload)
    route(app, "POST", "/api/v2/media", media.upload)
    route(app, "GET", f"/api/v1/media/{ID}", media.get_media)
    route(app, "PUT", f"/api/v1/media/{ID}", media.update_media)


def _notification_routes(app: web.Application) -> None:
    """Notifications (v1, and v2's groups) and conversations."""
    one = f"/api/v1/notifications/{ID}"
    route(app, "GET", "/api/v1/notifications", notifications.list_notifications)
    route(app, "GET", "/api/v1/notifications/unread_count", notifications.unread_count)
    route(app, "POST", "/api/v1/notifications/clear", notifications.clear)
    route(app, "POST", "/api/v1/notifications/dismiss", notifications.dismiss_by_param)
    route(app, "GET", one, notifications.get_notification)
    route(app, "POST", f"{one}/dismiss", notifications.dismiss)
    group = "/api/v2/notifications/{group_key:ungrouped-[0-9]{1,19}}"
    grouped = grouped_notifications
    route(app, "GET", "/api/v2/notifications", grouped.list_groups)
    route(app, "GET", "/api/v2/notifications/unread_count", grouped.unread_group_count)
    route(app, "GET", group, grouped.get_group)
    route(app, "GET", f"{group}/accounts", grouped.group_accounts)
    route(app, "POST", f"{group}/dismiss", grouped.dismiss_group)
    route(app, "GET", "/api/v1/conversations", conversations.list_conversations)
    route(app, "POST", f"/api/v1/conversations/{ID}/read", conversations.mark_read)
    route(app, "DELETE", f"/api/v1/conversations/{ID}", conversations.remove)


def _timeline_routes(app: web.Application) -> None:
    """Timelines and streaming."""
    route(app, "GET", "/api/v1/timelines/home", timelines.home)
    route(app, "GET", "/api/v1/timelines/public", timelines.public)
    route(app, "GET", "/api/v1/timelines/tag/{hashtag}", timelines.tag)
    route(app, "GET", "/api/v1/timelines/direct", timelines.direct)
    route(app, "GET", "/api/v1/timelines/list/{id}", timelines.list_timeline)
    route(app, "GET", "/api/v1/streaming", streaming.stream)
    route(app, "GET", "/api/v1/streaming/health", streaming.health)
    streams = "{stream:(user|public|hashtag)(/(local|remote|media|notification))*}"
    route(app, "GET", f"/api/v1/streaming/{streams}", streaming.event_stream)


def _account_routes(app: web.Application, account_id: str) -> None:
    """Accounts, relationships, follows, blocks and search (the fixed paths before the
    ones with an id, which would not match them anyway: ids are digits)."""
    one = f"/api/v1/accounts/{account_id}"
    for method, path, handler in (
        ("GET", "/api/v1/accounts/verify_credentials", accounts.verify_credentials),
        ("PATCH", "/api/v1/accounts/update_credentials", accounts.update_credentials),
        ("GET", "/api/v1/accounts/lookup", accounts.lookup),
        ("GET", "/api/v1/accounts/search", accounts.search),
        ("GET", "/api/v1/accounts/relationships", relationships.relationships),
        ("GET", "/api/v1/accounts/familiar_followers", accounts.familiar_followers),
        ("GET", one, accounts.get_account),
        ("GET", f"{one}/statuses", accounts.account_statuses),
        ("GET", f"{one}/followers", relationships.followers),
        ("GET", f"{one}/following", relationships.following),
        ("POST", f"{one}/follow", relationships.follow),
        ("POST", f"{one}/unfollow", relationships.unfollow),
        ("POST", f"{one}/block", relationships.block),
        ("POST", f"{one}/unblock", relationships.unblock),
        ("POST", f"{one}/mute", relationships.mute),
        ("POST", f"{one}/unmute", relationships.unmute),
        ("GET", "/api/v1/follow_requests", relationships.follow_requests),
        ("POST", f"/api/v1/follow_requests/{account_id}/authorize", relationships.authorize),
        ("POST", f"/api/v1/follow_requests/{account_id}/reject", relationships.reject),
        ("GET", "/api/v1/blocks", relationships.blocks),
        ("GET", "/api/v1/mutes", relationships.mutes),
        ("GET", "/api/v1/domain_blocks", relationships.domain_blocks),
        ("POST", "/api/v1/domain_blocks", relationships.block_domain),
        ("DELETE", "/api/v1/domain_blocks", relationships.unblock_domain),
        ("GET", "/api/v2/search", search.search_v2),
        ("GET", "/api/v1/search", search.search_v1),
    ):
        route(app, method, path, handler)
