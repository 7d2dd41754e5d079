"""Apps: registration (POST /api/v1/apps) and an app asking who it is."""

from __future__ import annotations

from aiohttp import web

from commonsfed.api import entities
from commonsfed.api.auth import client
from commonsfed.api.errors import UNAUTHORIZED, ApiError, not_found
from commonsfed.api.params import read_params
from commonsfed.services import oauth
from commonsfed.web.keys import POOL


async def create_app(request: web.Request) -> web.Response:
    """Anyone may register an app, as on Mastodon: an app is nothing until a resident
    authorises it. The secret is in this answer only."""
    params = await read_params(request)
    # one string of URIs (Mastodon.py, toot) or an array (JSON, or `redirect_uris[]`); a
    # ValidationError is the middleware's 422
    given = params.list("redirect_uris")
    uris = oauth.read_redirect_uris(given[0] if len(given) == 1 else given)
    scopes = oauth.read_scopes(params.get("scopes"), field="scopes")
    app, secret = await oauth.register_app(
        request.app[POOL], params.get("client_name") or "", uris, scopes, params.get("website")
    )
    return web.json_response(entities.application(app, client_secret=secret))


async def verify_app(request: web.Request) -> web.Response:
    """The token's app; any token will do, a resident's or the app's own."""
    found = client(request)
    if found is None:
        raise ApiError(401, UNAUTHORIZED)
    app = await oauth.app_by_id(request.app[POOL], found.app_id)
    if app is None:
        raise not_found()
    return web.json_response(entities.application(app))
