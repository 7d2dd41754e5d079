"""OAuth 2 for apps: the token endpoint, revocation, and the server's metadata (RFC 8414).

Apps post these as forms or JSON, with the client's credentials in the body or in HTTP
Basic (RFC 6749 2.3.1); answers and errors are RFC 6749's JSON, never a page. They are
exempt from CSRF: an app has no session, and what proves it is its secret."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from aiohttp import web

from commonsfed.api import entities
from commonsfed.api.errors import ApiError
from commonsfed.api.params import Params, read_params
from commonsfed.db.oauth import OAuthApp
from commonsfed.services import oauth
from commonsfed.services.oauth_grants import (
    OAuthError,
    client_credentials,
    exchange_code,
    password_grant,
)
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.middlewares import csrf_exempt
from commonsfed.web.views import client_address

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error(error: OAuthError) -> web.Response:
    response = web.json_response(
        {"error": error.error, "error_description": error.description},
        status=error.status, headers=_NO_STORE,
    )  # fmt: skip
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="oauth"'
    return response


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


async def _params(request: web.Request) -> Params:
    try:
        return await read_params(request)
    except ApiError as exc:
        raise OAuthError("invalid_request", exc.message) from None


async def _client(request: web.Request, params: Params) -> OAuthApp:
    """The app posting: its id and secret from Basic or the body; invalid_client (401)
    without both."""
    basic = _basic_credentials(request)
    client_id, secret = basic or (params.get("client_id"), params.get("client_secret"))
    if not client_id or not secret:
        raise OAuthError("invalid_client", "client_id and client_secret are required.", 401)
    app = await oauth.authenticate_app(request.app[POOL], client_id, secret)
    if app is None:
        raise OAuthError("invalid_client", "Unknown client, or a wrong client_secret.", 401)
    return app


@csrf_exempt
async def token(request: web.Request) -> web.Response:
    try:
        params = await _params(request)
        app = await _client(request, params)
        issued = await _grant(request, params, app)
    except OAuthError as exc:
        return oauth_error(exc)
    return web.json_response(entities.token(issued), headers=_NO_STORE)


async def _grant(request: web.Request, params: Params, app: OAuthApp) -> oauth.IssuedToken:
    pool, grant_type = request.app[POOL], params.get("grant_type")
    if grant_type == "authorization_code":
        return await exchange_code(
            pool, app, params.get("code") or "", params.get("redirect_uri") or "",
            params.get("code_verifier"),
        )  # fmt: skip
    if grant_type == "client_credentials":
        return await client_credentials(pool, app, params.get("scope"))
    if grant_type == "password":
        return await password_grant(
            pool, request.app[SETTINGS], app, params.get("username") or "",
            params.get("password") or "", params.get("scope"), client_address(request),
        )  # fmt: skip
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required.")
    raise OAuthError("unsupported_grant_type", f"The grant type {grant_type[:50]} is not offered.")


@csrf_exempt
async def revoke(request: web.Request) -> web.Response:
    """RFC 7009: `{}` whether or not the token was one, once the app proved who it is."""
    try:
        params = await _params(request)
        app = await _client(request, params)
    except OAuthError as exc:
        return oauth_error(exc)
    if params.get("token"):
        await oauth.revoke_token(request.app[POOL], app, params.get("token") or "")
    return web.json_response({}, headers=_NO_STORE)


async def server_metadata(request: web.Request) -> web.Response:
    """/.well-known/oauth-authorization-server, as Mastodon 4.3 serves it: apps such as
    Mastodon.py read their endpoints and the grants on offer here."""
    settings = request.app[SETTINGS]
    base = settings.base_url
    grants = ["authorization_code", "client_credentials"]
    if settings.oauth_password_grant:
        grants.append("password")
    return web.json_response({
        "issuer": base + "/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": sorted(oauth.ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    })  # fmt: skip
