"""What an inbound handler raises: Retry for what may pass, Refused for what never will."""

from __future__ import annotations

from commonsfed.federation.fetch import FetchError, Gone, NotFound


class Retry(Exception):
    """A temporary failure (a fetch timed out, the peer answered 5xx): try again later."""


class Refused(Exception):
    """A permanent refusal (not the actor's to change, a bad shape); the message says why."""


def fetch_failure(exc: FetchError) -> Exception:
    """Retry for what may pass (timeouts, refused connections, 429, 5xx), Refused for the
    rest (404, 410, other 4xx, documents we refuse)."""
    if isinstance(exc, NotFound | Gone):
        return Refused(exc.message)
    status = exc.status
    temporary = (
        status is None
        and not exc.message.startswith("refused")
        or status == 429
        or (status or 0) >= 500
    )
    return Retry(exc.message) if temporary else Refused(exc.message)
