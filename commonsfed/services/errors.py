"""Errors that services raise and the web and CLI layers turn into messages."""

from __future__ import annotations

from datetime import timedelta


class ServiceError(Exception):
    """Something a person asked for cannot be done; `str(error)` says what and why."""


class ValidationError(ServiceError):
    """Bad input, by field: {"username": "This username is taken."}."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class NotAllowed(ServiceError):
    """The request is understood but refused (registration closed, account pending...)."""


class RateLimited(ServiceError):
    """Too many attempts; try again later. `retry_after`: how long to wait, when known (the
    web layer sends it as Retry-After)."""

    def __init__(self, message: str, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LinkNotValid(ServiceError):
    """A link mailed to a resident that cannot be used: expired, used, or replaced by a
    newer one (which of these is not told: the token is all we are given)."""
