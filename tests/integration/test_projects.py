"""Neighbourhood projects on a real PostgreSQL: pledges per need and their bad input, racing
pledges for the last hours, the needs locked once pledged, the deadline on a clock we set,
hours given moved through the time bank, and the project's page over HTTP."""

# ruff: noqa: F811  (pytest fixtures imported from test_listings are parameters here)
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from commonsfed.services import listings, projects
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.services.jobs import ScheduledJobs
from commonsfed.services.listings import InvalidTransition
from commonsfed.services.timebank import TransferRefused
from commonsfed.web.keys import POOL
from tests.builders import post_form, register_and_login
from tests.integration.test_jobs import Clock
from tests.integration.test_listings import people, pool  # noqa: F401  (fixtures)

TODAY = datetime.now(UTC).date()
BENCH = {
    "purpose": "request", "kind": "project", "title": "A bench for the square",
    "category": "garden", "place": "Market square", "goal": "A bench by the lime tree",
    "deadline": (TODAY + timedelta(days=2)).isoformat(), "hours_needed": "6",
    "materials": "10 bricks", "money_needed": "50", "currency": "EUR",
    "how_to_pay": "Cash at the corner café.", "next_steps": "We build on Saturday.",
}  # fmt: skip
HOURS, BRICKS, MONEY = "0", "1", "2"


async def pledge(pool, settings, who, bench, need: str, quantity: str, **kwargs):
    form = {"need": need, "quantity": quantity}
    return await projects.pledge(pool, settings, who, bench.uid, form, **kwargs)


async def pledged(pool) -> dict[tuple[str, int], Decimal]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("""
            SELECT a.username, p.need, p.quantity FROM project_pledges p
            JOIN accounts a ON a.id = p.account_id
        """)  # fmt: skip
    return {(row[0], row[1]): row[2] for row in rows}


async def kinds_told(pool, name: str) -> list[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("""
            SELECT n.kind FROM notifications n JOIN accounts a ON a.id = n.account_id
            WHERE a.username = $1 ORDER BY n.id
        """, name)  # fmt: skip
    return [row[0] for row in rows]


async def deadline(pool, settings, days_after: int = 1) -> None:
    moment = datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(days=2 + days_after)
    await ScheduledJobs(pool, settings, Clock(moment)).tick()


@pytest.fixture
async def bench(pool, settings, people):
    alice, bob, carol = await people("alice", "bob", "carol")
    listing = await listings.create_listing(pool, settings, alice, BENCH, [])
    return listing, alice, bob, carol


async def test_pledge__per_need_changed_and_taken_back(pool, settings, bench):
    listing, alice, bob, carol = bench

    await pledge(pool, settings, bob, listing, HOURS, "2.5")
    await pledge(pool, settings, bob, listing, MONEY, "20")
    await pledge(pool, settings, carol, listing, BRICKS, "10")
    await pledge(pool, settings, bob, listing, HOURS, "3,5")  # changed
    await pledge(pool, settings, carol, listing, BRICKS, "0")  # taken back

    assert await pledged(pool) == {("bob", 0): Decimal("3.50"), ("bob", 2): Decimal(20)}
    assert (await kinds_told(pool, "alice")) == ["project_pledge"] * 2  # one line per pledger
    view = await projects.project_view(pool, settings, listing, bob)
    assert [(item.pledged_text, item.left_text) for item in view.progress] == [
        ("3.5", "2.5"), ("0", "10"), ("20", "30")]  # fmt: skip
    assert view.mine == {0: Decimal("3.50"), 2: Decimal(20)}
    assert view.pledges == []  # who pledged what is the organiser's to see
    organiser = await projects.project_view(pool, settings, listing, alice)
    assert [p.who for p in organiser.pledges] == ["@bob", "@bob"]


@pytest.mark.parametrize(
    ("need", "quantity", "field", "says"),
    [
        ("7", "1", "need", "Choose one of the project's needs."),
        ("x", "1", "need", "Choose one of the project's needs."),
        (HOURS, "0.1", "quantity", "Enter hours from 0.25 to 100"),
        (HOURS, "7", "quantity", "Only 6 hours are still needed"),
        (BRICKS, "2.5", "quantity", "Enter a whole number"),
        (BRICKS, "11", "quantity", "Only 10 bricks are still needed"),
        (MONEY, "lots", "quantity", "Enter an amount from 0.01"),
        (MONEY, "50.01", "quantity", "Only 50 EUR are still needed"),
    ],
)
async def test_pledge__bad_input_refused_and_nothing_kept(
    pool, settings, bench, need, quantity, field, says
):
    listing, _, bob, _ = bench

    with pytest.raises(ValidationError) as refused:
        await pledge(pool, settings, bob, listing, need, quantity)

    assert field in refused.value.errors
    assert says in str(refused.value.errors[field])
    assert await pledged(pool) == {}


async def test_pledge__own_project_after_the_deadline_or_closed_refused(pool, settings, bench):
    listing, alice, bob, _ = bench

    with pytest.raises(NotAllowed, match="your own project"):
        await pledge(pool, settings, alice, listing, HOURS, "1")
    late = datetime.combine(TODAY + timedelta(days=3), datetime.min.time(), UTC)
    with pytest.raises(InvalidTransition, match="deadline"):
        await pledge(pool, settings, bob, listing, HOURS, "1", now=late)
    await listings.change_state(pool, settings, alice, listing.uid, "withdrawn")
    with pytest.raises(InvalidTransition):
        await pledge(pool, settings, bob, listing, HOURS, "1")
    assert await pledged(pool) == {}


async def test_pledge__racing_for_the_last_hours_never_pledges_beyond_the_need(
    pool, settings, people, bench
):
    listing, *_ = bench
    neighbours = await people("dan", "eve", "fay", "gus", "hana")

    results = await asyncio.gather(
        *(pledge(pool, settings, who, listing, HOURS, "2") for who in neighbours),
        return_exceptions=True,
    )

    assert sum(1 for r in results if isinstance(r, Decimal)) == 3
    assert all("still needed" in str(r.errors["quantity"])
               for r in results if isinstance(r, ValidationError))  # fmt: skip
    assert sum((await pledged(pool)).values()) == 6


async def test_edit__needs_locked_once_someone_pledged(pool, settings, bench):
    listing, alice, bob, _ = bench
    more = {**BENCH, "hours_needed": "8"}
    await listings.update_listing(pool, settings, alice, listing.uid, more, [])  # no pledge yet

    await pledge(pool, settings, bob, listing, HOURS, "1")
    with pytest.raises(ValidationError) as refused:
        await listings.update_listing(pool, settings, alice, listing.uid, BENCH, [])
    kept = {**BENCH, "hours_needed": "8", "title": "A bench and a table"}
    edited = await listings.update_listing(pool, settings, alice, listing.uid, kept, [])

    assert "cannot change once" in str(refused.value.errors["hours_needed"])
    assert edited.title == "A bench and a table"
    assert edited.details["needs"][0]["quantity"] == 8


async def test_deadline__funded_when_every_need_is_met_and_decided_once(pool, settings, bench):
    listing, alice, bob, carol = bench
    await pledge(pool, settings, bob, listing, HOURS, "6")
    await pledge(pool, settings, bob, listing, MONEY, "50")
    await pledge(pool, settings, carol, listing, BRICKS, "10")

    await deadline(pool, settings)
    await deadline(pool, settings, days_after=2)

    for name in ("alice", "bob", "carol"):
        assert (await kinds_told(pool, name)).count("project_funded") == 1, name
    view = await projects.project_view(pool, settings, listing, bob)
    assert view.outcome == "reached"
    assert view.pledged_money
    assert not (await projects.project_view(pool, settings, listing, carol)).pledged_money


async def test_deadline__missed_when_a_need_is_short_releases_everyone(
    pool, settings, bench, make_fed
):
    listing, alice, bob, carol = bench
    await pledge(pool, settings, bob, listing, HOURS, "6")
    await pledge(pool, settings, carol, listing, BRICKS, "10")  # no money pledged

    await deadline(pool, settings)

    assert "project_missed" in await kinds_told(pool, "bob")
    assert "project_missed" in await kinds_told(pool, "alice")
    view = await projects.project_view(pool, settings, listing, alice)
    assert view.outcome == "missed"
    fed = await make_fed()
    with pytest.raises(InvalidTransition, match="funded"):
        await projects.record_hours(fed, alice, listing.uid, view.pledges[0].id, "6")


async def balances(pool) -> dict[str, Decimal]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("""
            SELECT a.username, h.balance FROM hours_accounts h JOIN accounts a ON a.id = h.account_id
        """)  # fmt: skip
    return {row[0]: row[1] for row in rows if row[1]}


async def test_hours__given_to_a_funded_project_move_through_the_time_bank(
    pool, settings, bench, make_fed
):
    listing, alice, bob, carol = bench
    await pledge(pool, settings, bob, listing, HOURS, "6")
    await pledge(pool, settings, bob, listing, MONEY, "50")
    await pledge(pool, settings, carol, listing, BRICKS, "10")
    fed = await make_fed()
    [hours_pledge, bricks_pledge, _] = (
        await projects.project_view(pool, settings, listing, alice)
    ).pledges
    with pytest.raises(InvalidTransition, match="once the project is funded"):
        await projects.record_hours(fed, alice, listing.uid, hours_pledge.id, "6")
    await deadline(pool, settings)

    # When the organiser records 5.5 of the 6 hours bob pledged
    recorded = await projects.record_hours(fed, alice, listing.uid, hours_pledge.id, "5.5")

    # Then the hours moved from the organiser's account to bob's, once
    assert recorded.delivered == Decimal("5.50") and recorded.transfer_id is not None
    assert await balances(pool) == {"alice": Decimal("-5.50"), "bob": Decimal("5.50")}
    assert "project_hours" in await kinds_told(pool, "bob")
    with pytest.raises(InvalidTransition, match="recorded already"):
        await projects.record_hours(fed, alice, listing.uid, hours_pledge.id, "1")
    with pytest.raises(NotAllowed, match="Only pledges of hours"):
        await projects.record_hours(fed, alice, listing.uid, bricks_pledge.id, "1")
    with pytest.raises(NotAllowed, match="organiser"):
        await projects.record_hours(fed, bob, listing.uid, hours_pledge.id, "1")
    with pytest.raises(ValidationError):
        await projects.record_hours(fed, alice, listing.uid, hours_pledge.id, "-2")
    assert await balances(pool) == {"alice": Decimal("-5.50"), "bob": Decimal("5.50")}


async def test_hours__over_the_organisers_limit_refused_and_nothing_moved(
    pool, settings, people, make_fed
):
    alice, bob = await people("alice", "bob")
    big = {**BENCH, "hours_needed": "30", "materials": "", "money_needed": ""}
    listing = await listings.create_listing(pool, settings, alice, big, [])
    await pledge(pool, settings, bob, listing, HOURS, "30")
    await deadline(pool, settings)
    [found] = (await projects.project_view(pool, settings, listing, alice)).pledges

    with pytest.raises(TransferRefused, match="Nothing was moved"):
        await projects.record_hours(await make_fed(), alice, listing.uid, found.id, "30")

    assert await balances(pool) == {}
    [again] = (await projects.project_view(pool, settings, listing, alice)).pledges
    assert again.delivered is None


async def test_project_page__posted_pledged_funded_and_hours_recorded_over_http(
    make_client, settings
):
    # Given alice posts a project with the form, and bob opens its page
    alice, bob = await make_client(), await make_client()
    await register_and_login(alice, "alice")
    await register_and_login(bob, "bob")
    refused = await post_form(alice, "/listings/new", {**BENCH, "materials": "bricks"},
                              form_path="/listings/new?purpose=request&kind=project")  # fmt: skip
    posted = await post_form(alice, "/listings/new", BENCH, allow_redirects=False,
                             form_path="/listings/new?purpose=request&kind=project")  # fmt: skip
    assert refused.status == 422
    assert "Write each material on a line of its own" in await refused.text()
    assert posted.status == 303
    path = posted.headers["Location"]
    page = await (await bob.get(path)).text()
    assert "What the project needs" in page and "0 of 6 pledged" in page
    assert "Cash at the corner café." not in page  # how to pay: for pledgers, once funded

    # When bob pledges too much, then all that each need asks
    too_much = await post_form(bob, path + "/project-pledge", {"need": HOURS, "quantity": "9"},
                               form_path=path)  # fmt: skip
    assert too_much.status == 422
    assert "Only 6 hours are still needed: pledge that much or less." in await too_much.text()
    for need, quantity in ((HOURS, "6"), (BRICKS, "10"), (MONEY, "50")):
        done = await post_form(bob, path + "/project-pledge",
                               {"need": need, "quantity": quantity}, form_path=path,
                               allow_redirects=False)  # fmt: skip
        assert done.status == 303 and done.headers["Location"] == path + "#project"
    assert "6 of 6 pledged" in await (await bob.get(path)).text()

    # When the deadline passes
    node_pool = bob.server.app[POOL]
    await deadline(node_pool, settings)

    # Then bob's page says it is funded and how to pay; alice records his hours from hers
    page = await (await bob.get(path)).text()
    assert "Funded" in page and "Cash at the corner café." in page
    assert "We build on Saturday." in page
    mine = await (await alice.get(path)).text()
    assert "Record and move the hours" in mine
    async with node_pool.acquire() as conn:
        pledge_id = await conn.fetchval("SELECT id FROM project_pledges WHERE need = 0")
    hours_path = f"{path}/project-pledges/{pledge_id}/hours"
    bad = await post_form(alice, hours_path, {f"hours-{pledge_id}": "many"}, form_path=path)
    assert bad.status == 422 and "Give a number of hours" in await bad.text()
    moved = await post_form(alice, hours_path, {f"hours-{pledge_id}": "6"}, form_path=path,
                            allow_redirects=False)  # fmt: skip
    assert moved.status == 303
    not_hers = await post_form(bob, hours_path, {f"hours-{pledge_id}": "6"}, form_path=path)
    assert not_hers.status == 403
    assert await balances(node_pool) == {"alice": Decimal(-6), "bob": Decimal(6)}
    assert "Record and move the hours" not in await (await alice.get(path)).text()
