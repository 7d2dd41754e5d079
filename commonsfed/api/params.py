"""A request's parameters, wherever the app put them.

Mastodon (Rails) reads the query string, a form, a multipart form and a JSON body alike, and
apps use all four: Mastodon.py sends forms (and multipart for files), Elk and Phanpy JSON,
toot a mix. Arrays come as `name[]=a&name[]=b` (or repeated `name=`) in a form and as lists
in JSON; booleans as true/false, 1/0, on/off. Uploaded files are read by the handlers that
take them (media), not here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDict

from commonsfed.api.errors import ApiError, unprocessable

_TRUE = frozenset({"true", "1", "on", "yes", "t"})
_FALSE = frozenset({"false", "0", "off", "no", "f", ""})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Params:
    """Every value given for each name (`name[]` is filed under `name`)."""

    def __init__(self, values: MultiDict) -> None:
        self._values = values

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self._values.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else _text(value)

    def list(self, name: str) -> list[str]:
        return [_text(value) for value in self._values.getall(name, [])]

    def raw(self, name: str) -> Any:
        """The value as sent (a dict or list from JSON), for nested parameters."""
        return self._values.get(name)

    def raw_list(self, name: str) -> list[Any]:
        """Every value as sent (the items of a JSON list, each a dict for nested ones)."""
        return list(self._values.getall(name, []))

    def names(self) -> list[str]:
        return list(dict.fromkeys(self._values.keys()))

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise unprocessable(f"{name} must be true or false", **{name: "must be true or false"})

    def int(self, name: str, default: int, *, low: int, high: int) -> int:
        """A whole number, brought within [low, high] as Mastodon clamps `limit`."""
        value = self.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise ApiError(400, f"{name} must be a whole number") from None
        return max(low, min(high, number))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _add(values: MultiDict, name: str, value: Any) -> None:
    name = name[:-2] if name.endswith("[]") else name
    if isinstance(value, list):
        for item in value:
            values.add(name, item)
    else:
        values.add(name, value)


async def read_params(request: web.Request) -> Params:
    """The query's and the body's parameters together (the body's win on a clash, which
    apps never make)."""
    values: MultiDict = MultiDict()
    for name, value in request.query.items():
        _add(values, name, value)
    if request.method in _BODY_METHODS and request.can_read_body:
        await _read_body(request, values)
    return Params(values)


async def _read_body(request: web.Request, values: MultiDict) -> None:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "The body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "The JSON body must be an object")
        for name, value in body.items():
            _add(values, name, value)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, str):
                _add(values, name, value)


def path_id(request: web.Request, name: str = "id") -> int:
    """An id from the path (the route's pattern allows only digits); one beyond bigint
    names nothing, so it is a 404 like any unknown id."""
    number = int(request.match_info[name])
    if number >= 2**63:
        raise ApiError(404, "Record not found")
    return number
