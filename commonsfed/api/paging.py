"""Pages of a list as Mastodon serves them: `max_id` (older than), `since_id` (newer than,
the newest first), `min_id` (just newer than, the oldest first, for catching up), `limit`,
and a `Link` header naming the next (older) and previous (newer) pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from yarl import URL

from commonsfed.api.errors import ApiError
from commonsfed.api.params import Params
from commonsfed.web.keys import SETTINGS

T = TypeVar("T")
DEFAULT_LIMIT = 20
MAX_LIMIT = 40


@dataclass(frozen=True)
class PageRequest:
    max_id: int | None
    since_id: int | None
    min_id: int | None
    limit: int

    @property
    def oldest_first(self) -> bool:
        """A min_id page is read upwards from it (then shown newest first)."""
        return self.min_id is not None

    @property
    def after(self) -> int | None:
        """The id the page starts above (exclusive), if any."""
        return self.min_id if self.min_id is not None else self.since_id


def _id(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        # Mastodon ids are numbers; an id of another kind cannot be in any of our lists
        raise ApiError(400, f"{name} must be an id") from None
    return number if 0 <= number < 2**63 else None


def page_request(
    params: Params, default: int = DEFAULT_LIMIT, most: int = MAX_LIMIT
) -> PageRequest:
    return PageRequest(
        max_id=_id(params, "max_id"),
        since_id=_id(params, "since_id"),
        min_id=_id(params, "min_id"),
        limit=params.int("limit", default, low=1, high=most),
    )


def in_order(page: PageRequest, rows: Sequence[T]) -> list[T]:
    """Rows fetched oldest first for a min_id page are shown newest first, as every page is."""
    return list(reversed(rows)) if page.oldest_first else list(rows)


def link_header(
    request: web.Request, items: Sequence[Any], key: Callable[[Any], int]
) -> str | None:
    """The `Link` header for a page of `items` (newest first), or None for an empty page."""
    if not items:
        return None
    # the node's public address, not the one the request reached behind a proxy
    url = URL(request.app[SETTINGS].base_url).with_path(request.path)
    query = [(k, v) for k, v in request.query.items() if k not in ("max_id", "since_id", "min_id")]
    older = url.with_query([*query, ("max_id", str(key(items[-1])))])
    newer = url.with_query([*query, ("min_id", str(key(items[0])))])
    return f'<{older}>; rel="next", <{newer}>; rel="prev"'


def paged_response(
    request: web.Request, body: Any, items: Sequence[Any], key: Callable[[Any], int]
) -> web.Response:
    """`body` (the entities) with the Link header made from `items` (what they came from)."""
    response = web.json_response(body)
    link = link_header(request, items, key)
    if link:
        response.headers["Link"] = link
    return response
