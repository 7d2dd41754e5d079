"""Rate limits as Mastodon sends them: X-RateLimit-Limit, -Remaining and -Reset (an ISO
time) on every answer, 429 `{"error": "Too many requests"}` with Retry-After past the limit.

Counted per token (per address without one) in fixed windows of `api_rate_window` seconds,
as Mastodon's rack-attack counts: `api_rate_limit` requests a window, and the stricter
`auth_rate_limit` per address for registering apps and getting tokens.

Each process counts its own requests, in memory: a node with several `serve` processes
behind a proxy lets a client that many times the limit. That is enough to stop a runaway
app; the login throttle (services.accounts) is the guard against guessing passwords, and it
is shared through the database.
"""

from __future__ import annotations

import hashlib
import math
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from commonsfed.api.errors import error_response
from commonsfed.web.keys import SETTINGS
from commonsfed.web.views import client_address

# registering an app and trading a code or a password for a token
AUTH_ROUTES = frozenset({("POST", "/api/v1/apps"), ("POST", "/oauth/token"),
                         ("POST", "/oauth/revoke")})  # fmt: skip
_PRUNE_AT = 10_000  # windows held before the ended ones are dropped


@dataclass(frozen=True)
class Verdict:
    limit: int
    remaining: int
    reset_at: float  # epoch seconds

    @property
    def allowed(self) -> bool:
        return self.remaining >= 0

    def add_headers(self, response: web.StreamResponse) -> None:
        reset = datetime.fromtimestamp(self.reset_at, UTC)
        response.headers["X-RateLimit-Limit"] = str(self.limit)
        response.headers["X-RateLimit-Remaining"] = str(max(0, self.remaining))
        response.headers["X-RateLimit-Reset"] = reset.isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"
        )

    def refusal(self) -> web.Response:
        response = error_response(429, "Too many requests")
        wait = max(1, math.ceil(self.reset_at - time.time()))
        response.headers["Retry-After"] = str(wait)
        return response


class Counter:
    """Requests per key in the current window of each key."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, limit: int, period: float, now: float) -> Verdict:
        start = now - now % period
        started, count = self._windows.get(key, (start, 0))
        if started != start:
            count = 0
        count += 1
        if len(self._windows) >= _PRUNE_AT:
            self._prune(start)
        self._windows[key] = (start, count)
        return Verdict(limit, limit - count, start + period)

    def _prune(self, current: float) -> None:
        self._windows = {key: value for key, value in self._windows.items()
                         if value[0] >= current}  # fmt: skip


_COUNTERS: weakref.WeakKeyDictionary[web.Application, Counter] = weakref.WeakKeyDictionary()


def counter_of(app: web.Application) -> Counter:
    found = _COUNTERS.get(app)
    if found is None:
        found = _COUNTERS[app] = Counter()
    return found


def is_auth(request: web.Request) -> bool:
    return (request.method, request.path.rstrip("/")) in AUTH_ROUTES


def count(request: web.Request, token: str | None) -> Verdict:
    """Count the request against its token's (or its address's) limit."""
    settings = request.app[SETTINGS]
    if is_auth(request):
        key, limit = f"auth:{client_address(request)}", settings.auth_rate_limit
    elif token is not None:
        # a digest: the counters never hold a token that could be used
        key = "token:" + hashlib.sha256(token.encode()).hexdigest()
        limit = settings.api_rate_limit
    else:
        key, limit = f"address:{client_address(request)}", settings.api_rate_limit
    return counter_of(request.app).hit(key, limit, settings.api_rate_window, time.time())
