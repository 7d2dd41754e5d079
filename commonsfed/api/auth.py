"""Who an API request speaks for, and what it may do: the bearer token's app, resident and
scopes (services.oauth), checked per endpoint as Mastodon checks them."""

from __future__ import annotations

from aiohttp import web

from commonsfed.api.errors import NO_TOKEN, OUT_OF_SCOPE, UNAUTHORIZED, ApiError
from commonsfed.models import Account
from commonsfed.services import oauth
from commonsfed.services.oauth import Client
from commonsfed.web.keys import POOL

CLIENT = web.RequestKey("api_client", Client | None)


def bearer_token(request: web.Request) -> str | None:
    """The token of `Authorization: Bearer ...`, or of `access_token=` in the query (the
    streaming API's browsers cannot set headers on a WebSocket)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("access_token") or None


async def authenticate(request: web.Request) -> Client | None:
    """The request's client, or None without a token; a token given but not valid is a
    401 (an app must learn that it was logged out)."""
    token = bearer_token(request)
    if token is None:
        return None
    client = await oauth.client_of(request.app[POOL], token)
    if client is None:
        raise ApiError(401, UNAUTHORIZED)
    return client


def client(request: web.Request) -> Client | None:
    return request.get(CLIENT)


def require_scope(request: web.Request, scope: str) -> Client:
    """The client, which must hold `scope` (any token, with or without a resident)."""
    found = request.get(CLIENT)
    if found is None:
        raise ApiError(401, NO_TOKEN)
    if not oauth.grants(found.scopes, scope):
        raise ApiError(403, OUT_OF_SCOPE)
    return found


def require_user(request: web.Request, scope: str) -> Account:
    """The resident the token speaks for, which must hold `scope`; an app's own token
    (client credentials) is refused as Mastodon refuses it."""
    found = require_scope(request, scope)
    if found.account is None:
        raise ApiError(422, NO_TOKEN)
    return found.account


def viewer(request: web.Request, scope: str = "read") -> Account | None:
    """The resident reading a public endpoint, when the token has `scope`: what they see
    is their own view (their blocks, their relationships); without a token, a visitor's."""
    found = request.get(CLIENT)
    if found is None or found.account is None or not oauth.grants(found.scopes, scope):
        return None
    return found.account
