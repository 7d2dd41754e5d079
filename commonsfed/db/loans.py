"""Queries on the loan calendar of lend listings (migration 0041): bookings, their states,
and the reminder jobs' claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from commonsfed.models import from_row

BLOCKING = ("asked", "confirmed")  # the states the overlap rule counts


class Overlap(Exception):
    """The days asked for overlap a booking that blocks them (bookings_no_overlap)."""


@dataclass(frozen=True)
class Booking:
    id: int
    listing_id: int
    listing_uid: str
    listing_title: str
    author_id: int
    author_username: str
    borrower_account_id: int | None  # None: a remote borrower (borrower_actor_uri)
    borrower_actor_uri: str | None
    borrower_name: str  # "@bob", "@bob@south.example", or a remote actor's URI
    pickup_on: date
    return_on: date
    state: str  # asked, confirmed, declined, cancelled, lapsed, returned
    note: str
    offer_ap_id: str | None  # the FEP-0837 Offer a remote borrower booked with
    created_at: datetime
    decided_at: datetime | None
    returned_at: datetime | None

    @property
    def is_remote(self) -> bool:
        return self.borrower_actor_uri is not None


_SELECT = """
    SELECT b.id, b.listing_id, l.uid AS listing_uid, l.title AS listing_title, l.author_id,
           au.username AS author_username, b.borrower_account_id, b.borrower_actor_uri,
           coalesce('@' || ba.username, '@' || ra.preferred_username || '@' || ra.domain,
                    b.borrower_actor_uri) AS borrower_name,
           b.pickup_on, b.return_on, b.state, b.note, b.offer_ap_id, b.created_at,
           b.decided_at, b.returned_at
    FROM bookings b
    JOIN listings l ON l.id = b.listing_id
    JOIN accounts au ON au.id = l.author_id
    LEFT JOIN accounts ba ON ba.id = b.borrower_account_id
    LEFT JOIN remote_actors ra ON ra.uri = b.borrower_actor_uri
"""


async def insert_booking(
    conn: asyncpg.Connection,
    listing_id: int,
    pickup_on: date,
    return_on: date,
    *,
    account_id: int | None = None,
    actor_uri: str | None = None,
    note: str = "",
    offer_ap_id: str | None = None,
) -> int:
    """A new booking, asked. Raises Overlap when its days overlap one that blocks them
    (in a savepoint, so the caller's transaction goes on and can say so)."""
    try:
        async with conn.transaction():
            return await conn.fetchval(
                """
                INSERT INTO bookings (listing_id, pickup_on, return_on, borrower_account_id,
                                      borrower_actor_uri, note, offer_ap_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
                """,
                listing_id, pickup_on, return_on, account_id, actor_uri, note, offer_ap_id,
            )  # fmt: skip
    except asyncpg.ExclusionViolationError as exc:
        raise Overlap() from exc


async def get_booking(
    conn: asyncpg.Connection, booking_id: int, *, for_update: bool = False
) -> Booking | None:
    lock = " FOR UPDATE OF b" if for_update else ""
    row = await conn.fetchrow(_SELECT + " WHERE b.id = $1" + lock, booking_id)
    return from_row(Booking, row)


async def booking_by_offer(conn: asyncpg.Connection, offer_ap_id: str) -> Booking | None:
    return from_row(
        Booking, await conn.fetchrow(_SELECT + " WHERE b.offer_ap_id = $1", offer_ap_id)
    )


async def listing_bookings(
    conn: asyncpg.Connection, listing_id: int, from_day: date
) -> list[Booking]:
    """The listing's bookings that block days from `from_day` on, and every one still
    running (confirmed, not returned) whatever its days: an overdue loan stays in view."""
    rows = await conn.fetch(
        _SELECT
        + """
        WHERE b.listing_id = $1 AND b.state IN ('asked', 'confirmed')
          AND (b.return_on >= $2 OR b.state = 'confirmed')
        ORDER BY b.pickup_on, b.id
        """,
        listing_id,
        from_day,
    )
    return [from_row(Booking, row) for row in rows]


async def booked_days(
    conn: asyncpg.Connection, listing_id: int, from_day: date
) -> list[tuple[date, date]]:
    """The days asked for or confirmed from `from_day` on, as (pickup, return) pairs."""
    rows = await conn.fetch(
        """
        SELECT pickup_on, return_on FROM bookings
        WHERE listing_id = $1 AND state IN ('asked', 'confirmed') AND return_on >= $2
        ORDER BY pickup_on
        """,
        listing_id,
        from_day,
    )
    return [(row["pickup_on"], row["return_on"]) for row in rows]


async def overlapping(
    conn: asyncpg.Connection, listing_id: int, pickup_on: date, return_on: date
) -> Booking | None:
    """The first blocking booking whose days meet these (to say which days clash)."""
    row = await conn.fetchrow(
        _SELECT
        + """
        WHERE b.listing_id = $1 AND b.state IN ('asked', 'confirmed')
          AND b.days && daterange($2, $3, '[]')
        ORDER BY b.pickup_on LIMIT 1
        """,
        listing_id,
        pickup_on,
        return_on,
    )
    return from_row(Booking, row)


async def set_state(conn: asyncpg.Connection, booking_id: int, state: str, now: datetime) -> None:
    await conn.execute(
        """
        UPDATE bookings SET state = $2,
            decided_at = CASE WHEN $2 IN ('confirmed', 'declined') THEN $3 ELSE decided_at END,
            returned_at = CASE WHEN $2 = 'returned' THEN $3 ELSE returned_at END
        WHERE id = $1
        """,
        booking_id,
        state,
        now,
    )


# --- the reminder jobs: each claims its bookings once, whichever worker runs it ------------


async def claim_pickup_reminders(conn: asyncpg.Connection, today: date, now: datetime) -> list[int]:
    """Confirmed bookings picked up tomorrow (or today, when yesterday's run was missed)."""
    return await _claim(conn, "pickup_reminded_at", "pickup_on BETWEEN $1 AND $1 + 1", today, now)


async def claim_return_reminders(conn: asyncpg.Connection, today: date, now: datetime) -> list[int]:
    """Confirmed bookings due back tomorrow (or today)."""
    return await _claim(conn, "return_reminded_at", "return_on BETWEEN $1 AND $1 + 1", today, now)


async def claim_overdue(conn: asyncpg.Connection, today: date, now: datetime) -> list[int]:
    """Confirmed bookings whose return day has passed without the author marking them
    returned."""
    return await _claim(conn, "overdue_noticed_at", "return_on < $1", today, now)


async def _claim(
    conn: asyncpg.Connection, column: str, when: str, today: date, now: datetime
) -> list[int]:
    # column and when are this module's constants, never input
    rows = await conn.fetch(
        f"""
        UPDATE bookings SET {column} = $2
        WHERE id IN (
            SELECT id FROM bookings
            WHERE state = 'confirmed' AND {column} IS NULL AND {when}
            FOR UPDATE SKIP LOCKED
        )
        RETURNING id
        """,
        today,
        now,
    )
    return [row["id"] for row in rows]


async def lapse_undecided(conn: asyncpg.Connection, today: date, now: datetime) -> list[int]:
    """Asks nobody decided on before their pickup day passed: lapsed, so they stop holding
    the calendar."""
    rows = await conn.fetch(
        """
        UPDATE bookings SET state = 'lapsed', decided_at = $2
        WHERE id IN (
            SELECT id FROM bookings WHERE state = 'asked' AND pickup_on < $1
            FOR UPDATE SKIP LOCKED
        )
        RETURNING id
        """,
        today,
        now,
    )
    return [row["id"] for row in rows]


async def cancel_of_actor(conn: asyncpg.Connection, actor_uri: str) -> list[str]:
    """A remote borrower deleted itself: its asks and bookings still to come no longer hold
    the calendars. Returns the uids of the listings whose days it freed."""
    rows = await conn.fetch(
        """
        UPDATE bookings b SET state = 'cancelled'
        FROM listings l
        WHERE l.id = b.listing_id AND b.borrower_actor_uri = $1
          AND b.state IN ('asked', 'confirmed')
        RETURNING l.uid
        """,
        actor_uri,
    )
    return sorted({row["uid"] for row in rows})


async def listings_borrowed(conn: asyncpg.Connection, account_id: int) -> list[str]:
    """The uids of the listings whose days a resident asked for or booked, from today on."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT l.uid FROM bookings b JOIN listings l ON l.id = b.listing_id
        WHERE b.borrower_account_id = $1 AND b.state IN ('asked', 'confirmed')
        ORDER BY l.uid
        """,
        account_id,
    )
    return [row["uid"] for row in rows]


async def insert_loan_notice(
    conn: asyncpg.Connection, account_id: int, kind: str, listing_id: int, actor_uri: str
) -> None:
    """A loan notification (kind loan_*) about a listing, naming the other side."""
    await conn.execute(
        """
        INSERT INTO notifications (account_id, kind, listing_id, actor_uri)
        VALUES ($1, $2, $3, $4)
        """,
        account_id,
        kind,
        listing_id,
        actor_uri,
    )
