"""Errors as Mastodon answers them: `{"error": "..."}` with the status apps expect, and for
a refused write the fields at fault in `details`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from commonsfed.services.errors import NotAllowed, RateLimited, ServiceError, ValidationError

# Mastodon's own wording, which some apps match on
UNAUTHORIZED = "The access token is invalid"
NO_TOKEN = "This method requires an authenticated user"
OUT_OF_SCOPE = "This action is outside the authorized scopes"
NOT_FOUND = "Record not found"


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def response(self) -> web.Response:
        return error_response(self.status, self.message, **self.extra)


def error_response(status: int, message: str, **extra: Any) -> web.Response:
    response = web.json_response({"error": message, **extra}, status=status)
    if status == 401:  # RFC 6750: how to authenticate
        response.headers["WWW-Authenticate"] = 'Bearer realm="api", error="invalid_token"'
    return response


def not_found() -> ApiError:
    return ApiError(404, NOT_FOUND)


def unprocessable(message: str, **details: str) -> ApiError:
    """422, as Mastodon refuses a record: "Validation failed: ..." and the fields."""
    extra = {"details": {field: [{"error": "ERR_INVALID", "description": text}]
                         for field, text in details.items()}} if details else {}  # fmt: skip
    return ApiError(422, f"Validation failed: {message}", **extra)


def from_service_error(error: ServiceError) -> ApiError:
    """The status and message for what a service refused."""
    if isinstance(error, ValidationError):
        return unprocessable(str(error), **error.errors)
    if isinstance(error, NotAllowed):
        return ApiError(403, str(error))
    if isinstance(error, RateLimited):
        return ApiError(429, str(error))
    return ApiError(422, str(error))
