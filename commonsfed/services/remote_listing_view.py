"""A listing of another node as a resident here sees it on /network/listing: to read and to
answer; a project with its needs (ap.projects), a lend offer with its calendar of booked
days (ap.loan_days)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

import asyncpg

from commonsfed.ap import listings as ap_listings
from commonsfed.ap import remote_listings
from commonsfed.ap.loan_days import booked_from_ap, overlapping
from commonsfed.ap.projects import NeedOnWire
from commonsfed.db import actors as actors_q
from commonsfed.db import answers as q
from commonsfed.db import objects as objects_q
from commonsfed.db.answers import Conversation
from commonsfed.i18n import Text
from commonsfed.models import Account
from commonsfed.services.errors import ValidationError
from commonsfed.services.loans import OVERLAP, CalendarDay, weeks_of


@dataclass(frozen=True)
class RemoteListingView:
    """A listing of another node as a resident here sees it: to read and to answer."""

    listing: remote_listings.RemoteListing
    origin: str  # its node's domain
    text: str  # its content as plain text (remote HTML is never shown as HTML)
    mine: Conversation | None  # the viewer's answer, if they answered
    may_answer: bool
    author: str  # @name@host when the author's actor is cached, else their URI
    needs: list[NeedOnWire] = field(default_factory=list)  # a project's (ap.projects)
    weeks: list[list[CalendarDay]] = field(default_factory=list)  # a lend offer's calendar
    today: date | None = None  # the day the calendar counts from


def _is_lend_offer(remote: remote_listings.RemoteListing) -> bool:
    return remote.kind == "lend" and remote.purpose == "offer"


async def remote_listing(
    pool: asyncpg.Pool, viewer: Account | None, listing_uri: str, today: date | None = None
) -> RemoteListingView | None:
    """`today`: the viewer's day, from which a lend offer's calendar shows the weeks."""
    async with pool.acquire() as conn:
        document = await objects_q.get_remote_document(conn, listing_uri)
        remote = remote_listings.listing_from_ap(document) if document else None
        if remote is None:
            return None
        mine = (
            await q.find_remote_listing_conversation(conn, listing_uri, viewer.id)
            if viewer
            else None
        )
        author = await actors_q.get_remote_actor(conn, remote.author_uri)
    booked = booked_from_ap(document) if _is_lend_offer(remote) else []
    today = today or date.today()
    return RemoteListingView(
        listing=remote,
        origin=urlsplit(remote.uri).hostname or "",
        text=remote_listings.html_to_text(remote.content_html),
        mine=mine,
        may_answer=remote.state not in ap_listings.CLOSED_STATES,
        author=author.handle if author and author.preferred_username else remote.author_uri,
        needs=remote_listings.needs_from_ap(document, remote.uri) if remote.kind == "project" else [],
        weeks=weeks_of([(*days, "confirmed") for days in booked], today)
        if _is_lend_offer(remote) else [],
        today=today,
    )  # fmt: skip


async def check_days_free(pool: asyncpg.Pool, listing_uri: str, days: tuple[date, date]) -> None:
    """Refuse days that a lend offer of another node shows taken, as its node would, before
    anything is sent (ValidationError on the pickup day); days it does not show taken are
    for its node to judge."""
    async with pool.acquire() as conn:
        document = await objects_q.get_remote_document(conn, listing_uri)
    taken = overlapping(booked_from_ap(document), *days) if document else None
    if taken is not None:
        pickup, back = (day.isoformat() for day in taken)
        raise ValidationError({"pickup_on": Text(OVERLAP, pickup=pickup, **{"return": back})})
