"""Every route of the client API, by area. Each is served with and without a trailing
slash, as Mastodon (Rails) serves them and as some apps ask for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from commonsfed.api import accounts, apps, authorize, bootstrap, instance, oauth, statuses

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route(app: web.Application, method: str, path: str, handler: Handler) -> None:
    """`path` and `path/`, for `method` (GET also answers HEAD)."""
    for each in (path, path + "/"):
        app.router.add_route(method, each, handler)


def setup_api_routes(app: web.Application) -> None:
    status_id = "{id:[0-9]{1,19}}"
    account_id = "{id:[0-9]{1,19}}"
    # --- OAuth, apps, the instance and what apps read at start-up
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
    empty = bootstrap.empty_list
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
        route(app, "GET", path, empty(scope))

    # --- accounts, relationships, follows, search
    route(app, "GET", "/api/v1/accounts/verify_credentials", accounts.verify_credentials)
    route(app, "GET", f"/api/v1/accounts/{account_id}", accounts.get_account)

    # --- statuses, media, favourites, bookmarks
    route(app, "GET", f"/api/v1/statuses/{status_id}", statuses.get_status)

    # --- timelines, notifications, conversations, streaming
    # (no routes yet)
