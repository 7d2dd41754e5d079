"""Errors that services raise and the web and CLI layers turn into messages."""

from __future__ import annotations


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
    """Too many attempts; try again later."""
