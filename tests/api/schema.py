"""Checks an entity the API returned against Mastodon's documented fields and types
(tests/data/mastodon_entities/*.json, one file per area, each mapping entity names to their
fields; the key "_about" of accounts_and_statuses.json explains the types): every
documented field present (unless marked optional) with a value of its type, nested
entities checked in turn."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).parent.parent / "data" / "mastodon_entities"
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@cache
def schemas() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        for name, fields in json.loads(path.read_text()).items():
            assert name not in found, f"{name} is described twice ({path.name})"
            if not name.startswith("_"):
                found[name] = fields
    return found


def fields_of(name: str) -> dict[str, str]:
    schema = dict(schemas()[name])
    base = schema.pop("_extends", None)
    return {**(fields_of(base) if base else {}), **schema}


def check(name: str, value: Any, path: str = "") -> None:
    """Raise AssertionError naming the first field that is missing or of the wrong type."""
    path = path or name
    assert isinstance(value, dict), f"{path}: expected a {name} object, got {value!r}"
    for field, kind in fields_of(name).items():
        optional = field.startswith("?")
        field = field.lstrip("?")
        if field not in value:
            assert optional, f"{path}.{field}: missing"
            continue
        _check_type(kind, value[field], f"{path}.{field}")


def _check_type(kind: str, value: Any, path: str) -> None:
    errors = []
    for option in kind.split("|"):
        try:
            _check_one(option, value, path)
            return
        except AssertionError as error:
            errors.append(str(error))
    raise AssertionError(f"{path}: {value!r} is not {kind} ({'; '.join(errors)})")


def _check_one(kind: str, value: Any, path: str) -> None:
    if kind == "null":
        assert value is None, "not null"
    elif kind == "string":
        assert isinstance(value, str), "not a string"
    elif kind == "id":
        assert isinstance(value, str) and value.isdigit(), "not an id (a string of digits)"
    elif kind == "url":
        assert isinstance(value, str) and value.startswith(("https://", "http://")), "not a URL"
    elif kind == "datetime":
        assert isinstance(value, str) and _DATETIME.match(value), "not an ISO 8601 datetime"
    elif kind == "date":
        assert isinstance(value, str) and _DATE.match(value), "not a date"
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), "not an integer"
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), "not a number"
    elif kind == "boolean":
        assert isinstance(value, bool), "not a boolean"
    elif kind == "object":
        assert isinstance(value, dict), "not an object"
    elif kind == "array":
        assert isinstance(value, list), "not an array"
    elif kind.startswith("array:"):
        assert isinstance(value, list), "not an array"
        for index, item in enumerate(value):
            check(kind.removeprefix("array:"), item, f"{path}[{index}]")
    else:
        check(kind, value, path)
