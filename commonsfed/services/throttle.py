"""Throttling what can be guessed or abused: failed logins (services.accounts) and requests
that make the node send a mail (a reset link, a confirmation link). Each is counted per
subject (an account, an address asked for) and per client address over a window; past a
limit the person is told when they may try again, counted from the attempts that fill it."""

from __future__ import annotations

import math
from datetime import timedelta

import asyncpg

from commonsfed.db import tokens as q
from commonsfed.services.errors import RateLimited

MAIL_WINDOW = timedelta(hours=1)
# (per subject, per client address) in MAIL_WINDOW. A reset link is asked for by address,
# whether an account has it or not, so the answers never tell which addresses exist.
MAIL_LIMITS = {"reset_password": (3, 10), "confirm_email": (3, 10)}
_WHAT = {"reset_password": "requests for a reset link", "confirm_email": "confirmation links"}


def too_many(what: str, wait: timedelta) -> RateLimited:
    return RateLimited(f"Too many {what}. Try again {in_words(wait)}.", wait)


def in_words(wait: timedelta) -> str:
    """ "in 12 minutes": rounded up, so that trying then works."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    if minutes == 1:
        return "in a minute"
    if minutes < 90:
        return f"in {minutes} minutes"
    return f"in {math.ceil(minutes / 60)} hours"


async def count_mail_request(
    conn: asyncpg.Connection, action: str, subject: str, address: str
) -> None:
    """Record a request of `action` (see MAIL_LIMITS), or raise RateLimited, recording
    nothing, when the subject or the client address has had its share of the window."""
    per_subject, per_address = MAIL_LIMITS[action]
    wait = await q.request_retry_after(
        conn, action, subject, address, MAIL_WINDOW, per_subject, per_address
    )
    if wait is not None and wait > timedelta(0):
        raise too_many(_WHAT[action], wait)
    await q.record_request(conn, action, subject, address)
