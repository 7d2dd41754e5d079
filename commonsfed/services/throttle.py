"""Throttling what can be guessed or abused: failed logins (services.accounts) and requests
that make the node send a mail (a reset link, a confirmation link). Each is counted per
subject (an account, an address asked for) and per client address over a window; past a
limit the person is told when they may try again, counted from the attempts that fill it."""

from __future__ import annotations

import math
from datetime import timedelta

import asyncpg

from commonsfed.db import tokens as q
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.services.errors import RateLimited
from commonsfed.services.listing_forms import Number

MAIL_WINDOW = timedelta(hours=1)
# (per subject, per client address) in MAIL_WINDOW. A reset link is asked for by address,
# whether an account has it or not, so the answers never tell which addresses exist.
MAIL_LIMITS = {"reset_password": (3, 10), "confirm_email": (3, 10)}

# What is throttled, each said whole (a sentence is translated whole, never pieced
# together): in a minute, in some minutes, in some hours (90 minutes and more).
_TOO_MANY = {
    "failed logins": (
        N_("Too many failed logins. Try again in a minute."),
        N_("Too many failed logins. Try again in %(count)s minutes."),
        N_("Too many failed logins. Try again in %(count)s hours."),
    ),
    "wrong passwords": (
        N_("Too many wrong passwords. Try again in a minute."),
        N_("Too many wrong passwords. Try again in %(count)s minutes."),
        N_("Too many wrong passwords. Try again in %(count)s hours."),
    ),
    "reset_password": (
        N_("Too many requests for a reset link. Try again in a minute."),
        N_("Too many requests for a reset link. Try again in %(count)s minutes."),
        N_("Too many requests for a reset link. Try again in %(count)s hours."),
    ),
    "confirm_email": (
        N_("Too many confirmation links. Try again in a minute."),
        N_("Too many confirmation links. Try again in %(count)s minutes."),
        N_("Too many confirmation links. Try again in %(count)s hours."),
    ),
    "reports": (
        N_("You have sent many reports lately. Try again in a minute."),
        N_("You have sent many reports lately. Try again in %(count)s minutes."),
        N_("You have sent many reports lately. Try again in %(count)s hours."),
    ),
}


def too_many(what: str, wait: timedelta) -> RateLimited:
    """RateLimited for `what` (a key of _TOO_MANY), saying when to try again in the
    reader's language."""
    shape, count = in_words(wait)
    return RateLimited(Text(_TOO_MANY[what][shape], count=Number(count)), wait)


def in_words(wait: timedelta) -> tuple[int, int]:
    """(0, 1) for "in a minute", (1, minutes) under 90 minutes, else (2, hours): rounded
    up, so that trying then works."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    if minutes == 1:
        return 0, 1
    if minutes < 90:
        return 1, minutes
    return 2, math.ceil(minutes / 60)


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
        raise too_many(action, wait)
    await q.record_request(conn, action, subject, address)
