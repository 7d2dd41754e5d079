"""The loan calendar of lend listings on a real PostgreSQL: asks that race, bad days, the
author's decisions, the reminder jobs on a clock we set, and the listing page's form."""

# ruff: noqa: F811  (pytest fixtures imported from test_listings are parameters here)
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from commonsfed.db import accounts as accounts_q
from commonsfed.services import loans
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.services.jobs import ScheduledJobs
from commonsfed.services.listings import InvalidTransition
from commonsfed.web.keys import POOL
from tests.builders import post_form, register_and_login
from tests.integration.test_jobs import Clock
from tests.integration.test_listings import people, pool, post  # noqa: F401  (fixtures)

DRILL = {"purpose": "offer", "kind": "lend", "title": "Cordless drill", "category": "tools",
         "loan_days": "7"}  # fmt: skip
TODAY = datetime.now(UTC).date()


def day(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


async def ask(pool, settings, who, listing, first: int, last: int, **kwargs):
    form = {"pickup_on": day(first), "return_on": day(last), "note": ""}
    return await loans.ask(pool, settings, who, listing.uid, form, **kwargs)


async def bookings(pool) -> list[tuple[str, str, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT pickup_on, return_on, state FROM bookings ORDER BY pickup_on, id"
        )
    return [(row[0].isoformat(), row[1].isoformat(), row[2]) for row in rows]


async def notices(pool) -> list[tuple[str, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("""
            SELECT a.username, n.kind FROM notifications n JOIN accounts a ON a.id = n.account_id
            ORDER BY n.id
        """)  # fmt: skip
    return [(row[0], row[1]) for row in rows]


async def test_ask__concurrent_overlapping_asks_exactly_one_wins(pool, settings, people):
    # Given alice's drill and five neighbours who want overlapping days
    alice, *others = await people("alice", "bob", "carol", "dan", "eve", "fay")
    drill = await post(pool, settings, alice, **DRILL)

    # When they all ask at once, each on a connection of their own
    results = await asyncio.gather(
        *(ask(pool, settings, who, drill, 2 + n, 4 + n) for n, who in enumerate(others[:3])),
        *(ask(pool, settings, who, drill, 4, 4) for who in others[3:]),
        return_exceptions=True,
    )

    # Then exactly one booking stands; every other ask got the overlap, said in words
    won = [r for r in results if isinstance(r, loans.Booking)]
    lost = [r for r in results if isinstance(r, ValidationError)]
    assert len(won) == 1 and len(lost) == 4, results
    assert all("overlap a booking from" in str(r.errors["pickup_on"]) for r in lost)
    assert len(await bookings(pool)) == 1
    assert [kind for _, kind in await notices(pool)] == ["loan_asked"]


@pytest.mark.parametrize(
    ("first", "last", "field", "says"),
    [
        (5, 3, "return_on", "cannot be before the pickup day"),
        (-2, 1, "pickup_on", "from today on"),
        (-3, -1, "pickup_on", "from today on"),
        (2, 10, "return_on", "at most 7 days"),
        (400, 401, "pickup_on", "within 365 days"),
    ],
)
async def test_ask__bad_days_get_a_message_and_store_nothing(
    pool,
    settings,
    people,
    first,
    last,
    field,
    says,
):
    alice, bob = await people("alice", "bob")
    drill = await post(pool, settings, alice, **DRILL)

    with pytest.raises(ValidationError) as error:
        await ask(pool, settings, bob, drill, first, last)

    assert says in str(error.value.errors[field])
    assert await bookings(pool) == [] and await notices(pool) == []


async def test_ask__refused_on_own_listing_other_kinds_and_missing_days(pool, settings, people):
    alice, bob = await people("alice", "bob")
    drill = await post(pool, settings, alice, **DRILL)
    apples = await post(pool, settings, alice)

    with pytest.raises(NotAllowed):
        await ask(pool, settings, alice, drill, 1, 2)
    with pytest.raises(NotAllowed):
        await ask(pool, settings, bob, apples, 1, 2)
    with pytest.raises(ValidationError) as error:
        await loans.ask(pool, settings, bob, drill.uid, {"pickup_on": "soon"})
    assert set(error.value.errors) == {"pickup_on", "return_on"}
    assert await bookings(pool) == []


async def test_decide__confirm_decline_return_and_cancel(pool, settings, people):
    alice, bob, carol = await people("alice", "bob", "carol")
    drill = await post(pool, settings, alice, **DRILL)
    asked = await ask(pool, settings, bob, drill, 1, 3)

    # only the author decides; an ask is confirmed once
    with pytest.raises(NotAllowed):
        await loans.decide(pool, settings, carol, asked.id, "confirm")
    await loans.decide(pool, settings, alice, asked.id, "confirm")
    with pytest.raises(InvalidTransition):
        await loans.decide(pool, settings, alice, asked.id, "confirm")

    # a declined ask frees its days for someone else
    second = await ask(pool, settings, carol, drill, 5, 6)
    with pytest.raises(ValidationError):
        await ask(pool, settings, bob, drill, 6, 7)
    await loans.decide(pool, settings, alice, second.id, "decline")
    third = await ask(pool, settings, bob, drill, 6, 7)

    # the borrower cancels their own; the author marks a confirmed loan returned
    with pytest.raises(NotAllowed):
        await loans.decide(pool, settings, carol, third.id, "cancel")
    await loans.decide(pool, settings, bob, third.id, "cancel")
    with pytest.raises(InvalidTransition):
        await loans.decide(pool, settings, alice, third.id, "returned")
    await loans.decide(pool, settings, alice, asked.id, "returned")

    assert await bookings(pool) == [
        (day(1), day(3), "returned"), (day(5), day(6), "declined"), (day(6), day(7), "cancelled"),
    ]  # fmt: skip
    assert await notices(pool) == [
        ("alice", "loan_asked"), ("bob", "loan_confirmed"), ("alice", "loan_asked"),
        ("carol", "loan_declined"), ("alice", "loan_asked"), ("alice", "loan_declined"),
    ]  # fmt: skip


async def test_reminders__the_day_before_pickup_and_return_and_the_day_after(
    pool,
    settings,
    people,
):
    # Given bob's confirmed loan from day 2 to day 4, and carol's ask for day 6 nobody decided
    alice, bob, carol = await people("alice", "bob", "carol")
    drill = await post(pool, settings, alice, **DRILL)
    loan = await ask(pool, settings, bob, drill, 2, 4)
    await loans.decide(pool, settings, alice, loan.id, "confirm")
    await ask(pool, settings, carol, drill, 6, 6)
    noon = datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(hours=12)
    clock = Clock(noon)
    jobs = ScheduledJobs(pool, settings, clock)
    told = []

    # When the worker ticks each day from today to day 7 (twice a day: nothing repeats)
    for _ in range(8):
        await jobs.tick()
        clock.now += timedelta(hours=6)
        await jobs.tick()
        told.append(sorted((await notices(pool))[3:]))
        clock.now += timedelta(hours=18)

    # Then the pickup reminder came on day 1, the return one on day 3, the overdue on day 5,
    # each once; carol's undecided ask lapsed (and she was told) once its pickup day passed
    pickup = [("alice", "loan_pickup_soon"), ("bob", "loan_pickup_soon")]
    back = [("bob", "loan_return_soon")]
    overdue = [("alice", "loan_overdue"), ("bob", "loan_overdue")]
    lapsed = [("carol", "loan_declined")]
    assert told == [[], sorted(pickup), sorted(pickup), sorted(pickup + back),
                    sorted(pickup + back), sorted(pickup + back + overdue),
                    sorted(pickup + back + overdue),
                    sorted(pickup + back + overdue + lapsed)]  # fmt: skip
    assert [state for *_, state in await bookings(pool)] == ["confirmed", "lapsed"]


async def test_listing_page__shows_the_calendar_and_asks_with_readable_errors(
    make_client, settings
):
    # Given alice's drill, and bob on its page
    alice_browser, bob = await make_client(), await make_client()
    await register_and_login(alice_browser, "alice")
    await register_and_login(bob, "bob")
    node_pool = bob.server.app[POOL]
    async with node_pool.acquire() as conn:
        alice = await accounts_q.get_account(
            conn, await conn.fetchval("SELECT id FROM accounts WHERE username = 'alice'")
        )
    drill = await post(node_pool, settings, alice, **DRILL)
    path = f"/listings/{drill.uid}"
    page = await (await bob.get(path)).text()
    assert 'id="calendar"' in page and "Ask for these days" in page

    # When bob asks for a return day before the pickup day, then for good days
    bad = await post_form(bob, path + "/bookings", {"pickup_on": day(3), "return_on": day(2)},
                          form_path=path, allow_redirects=False)  # fmt: skip
    good = await post_form(bob, path + "/bookings", {"pickup_on": day(2), "return_on": day(3)},
                           form_path=path, allow_redirects=False)  # fmt: skip

    # Then the first gives the page back with the reason; the second is booked and shows
    assert bad.status == 422
    assert "The return day cannot be before the pickup day." in await bad.text()
    assert good.status == 303
    page = await (await bob.get(path)).text()
    assert "asked, waiting for the lender" in page and "Cancel my booking" in page
    assert page.count("asked for</span>") == 2

    # When bob tries to confirm his own ask, then alice confirms it from her page
    async with node_pool.acquire() as conn:
        booking_id = await conn.fetchval("SELECT id FROM bookings")
    confirm = f"/bookings/{booking_id}/confirm"
    refused = await post_form(bob, confirm, {}, form_path=path, allow_redirects=False)
    assert "Confirm" in await (await alice_browser.get(path)).text()
    confirmed = await post_form(alice_browser, confirm, {}, form_path=path, allow_redirects=False)

    # Then only alice's counts, and the calendar shows the days booked
    assert refused.status == 403
    assert "Only the person who lends this can decide on its bookings." in await refused.text()
    assert confirmed.status == 303 and confirmed.headers["Location"] == path + "#calendar"
    page = await (await bob.get(path)).text()
    assert page.count("booked</span>") == 2 and "asked for</span>" not in page
