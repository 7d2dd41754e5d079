"""The API's part of every /api and /oauth request: CORS for browser apps, the bearer
token, and errors as JSON."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from commonsfed.api import ratelimit
from commonsfed.api.auth import CLIENT, authenticate, bearer_token
from commonsfed.api.errors import ApiError, error_response, from_service_error
from commonsfed.services.errors import ServiceError
from commonsfed.web.keys import ACCOUNT, SESSION_ID

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_PREFIX = "/api/"
# /oauth/authorize is a page for people (it uses the web session); the rest is for apps
CORS_PREFIXES = (API_PREFIX, "/oauth/", "/.well-known/oauth-authorization-server")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Link, X-RateLimit-Limit, X-RateLimit-Remaining, "
    "X-RateLimit-Reset, X-Request-Id, Idempotency-Key",
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key, Accept",
    "Access-Control-Max-Age": "86400",
}


def is_api(request: web.Request) -> bool:
    return request.path.startswith(API_PREFIX)


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(CORS_PREFIXES):
        return await handler(request)
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return web.Response(status=204, headers={**CORS_HEADERS, **PREFLIGHT_HEADERS})
    if is_api(request):
        response = await _answer(request, handler)
    elif ratelimit.is_auth(request):
        response = await _limited(request, handler, ratelimit.count(request, None))
    else:
        response = await handler(request)
    response.headers.update(CORS_HEADERS)
    return response


async def _limited(
    request: web.Request, handler: Handler, verdict: ratelimit.Verdict
) -> web.StreamResponse:
    response = await handler(request) if verdict.allowed else verdict.refusal()
    verdict.add_headers(response)
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The API speaks for the token alone: a cookie the browser happens to send is ignored,
    so that no page of another site can act through a resident's session (and so the API
    needs no CSRF token). Requests count against the token's rate limit, or the address's
    without a valid token."""
    request[ACCOUNT] = request[SESSION_ID] = None
    try:
        request[CLIENT] = client = await authenticate(request)
    except ApiError as error:  # a token that is not one counts against the address
        verdict = ratelimit.count(request, None)
        response = error.response() if verdict.allowed else verdict.refusal()
        verdict.add_headers(response)
        return response
    request[ACCOUNT] = client.account if client else None
    verdict = ratelimit.count(request, bearer_token(request) if client else None)
    response = await _handle(request, handler) if verdict.allowed else verdict.refusal()
    verdict.add_headers(response)
    return response


async def _handle(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except ServiceError as error:
        return from_service_error(error).response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and exc.content_type == "text/plain" else exc.reason
        return error_response(exc.status, message.removeprefix(f"{exc.status}: "))
