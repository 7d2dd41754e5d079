"""Every route of the client API, by area. Each is served with and without a trailing
slash, as Mastodon (Rails) serves them and as some apps ask for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from commonsfed.api import accounts, favourites, media, statuses

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
    route(app, "POST", "/api/v1/statuses", statuses.post_status)
    route(app, "DELETE", f"/api/v1/statuses/{status_id}", statuses.delete_status)
    route(app, "GET", f"/api/v1/statuses/{status_id}/context", statuses.context)
    route(app, "GET", f"/api/v1/statuses/{status_id}/source", statuses.source)
    route(app, "GET", f"/api/v1/statuses/{status_id}/favourited_by", statuses.favourited_by)
    route(app, "GET", f"/api/v1/statuses/{status_id}/reblogged_by", statuses.reblogged_by)
    route(app, "POST", f"/api/v1/statuses/{status_id}/favourite", statuses.favourite)
    route(app, "POST", f"/api/v1/statuses/{status_id}/unfavourite", statuses.unfavourite)
    route(app, "POST", f"/api/v1/statuses/{status_id}/bookmark", statuses.bookmark)
    route(app, "POST", f"/api/v1/statuses/{status_id}/unbookmark", statuses.unbookmark)
    route(app, "GET", "/api/v1/favourites", favourites.list_favourites)
    route(app, "GET", "/api/v1/bookmarks", favourites.list_bookmarks)
    route(app, "POST", "/api/v1/media", media.upload)
    route(app, "POST", "/api/v2/media", media.upload)
    route(app, "GET", f"/api/v1/media/{status_id}", media.get_media)
    route(app, "PUT", f"/api/v1/media/{status_id}", media.update_media)

    # --- timelines, notifications, conversations, streaming
    # (no routes yet)
