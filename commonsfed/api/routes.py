"""Every route of the client API, by area. Each is served with and without a trailing
slash, as Mastodon (Rails) serves them and as some apps ask for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from commonsfed.api import accounts, statuses, streaming, timelines

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
    route(app, "GET", "/api/v1/timelines/home", timelines.home)
    route(app, "GET", "/api/v1/timelines/public", timelines.public)
    route(app, "GET", "/api/v1/timelines/tag/{hashtag}", timelines.tag)
    route(app, "GET", "/api/v1/timelines/direct", timelines.direct)
    route(app, "GET", "/api/v1/timelines/list/{id}", timelines.list_timeline)
    route(app, "GET", "/api/v1/streaming", streaming.stream)
    route(app, "GET", "/api/v1/streaming/health", streaming.health)
    streams = "{stream:(user|public|hashtag)(/(local|remote|media|notification))*}"
    route(app, "GET", f"/api/v1/streaming/{streams}", streaming.event_stream)
    streaming.setup(app)
