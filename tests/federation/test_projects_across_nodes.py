"""A neighbourhood project across nodes, on real nodes over loopback: alice on north.test asks
for hours, bricks and money; dan pledges on north, bob pledges hours from south.test's page
for the project. The deadline decides on north's scheduled jobs with a clock we set; once
funded, the hours bob gave move from alice's account on north to his on south through the
two nodes' clearing accounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from commonsfed.services import account_deletion, answers, follows, listings, projects
from tests.builders import DEFAULT_PASSWORD, post_form
from tests.federation.test_answers_across_nodes import browser, notified
from tests.federation.test_pledges_across_nodes import RICE, person, south_answer
from tests.federation.test_timebank_across_nodes import balances, held
from tests.integration.test_projects import BENCH, deadline
from tests.nodes import settle


@pytest.fixture
async def project(start_nodes):
    """north and south, south following north; alice's bench on north and dan there; bob on
    south with a browser, carol on south too."""
    north, south = await start_nodes(2)
    await follows.federate(south.federation, "north.test")
    await settle(north, south)
    alice, dan = await person(north, "alice"), await person(north, "dan")
    carol = await person(south, "carol")
    bob = await browser(south, "bob")
    bench = await listings.create_listing(north.federation.pool, north.settings, alice, BENCH, [])
    await settle(north, south)
    yield north, south, alice, dan, bob, carol, bench
    await bob.close()


async def run_deadline(north) -> None:
    await deadline(north.federation.pool, north.settings)


async def pledges_on_north(north) -> dict[tuple[str, int], Decimal]:
    rows = await north.query("""
        SELECT coalesce(a.username, p.actor_uri) AS who, p.need, p.quantity
        FROM project_pledges p LEFT JOIN accounts a ON a.id = p.account_id
    """)  # fmt: skip
    return {(row[0].rsplit("/", 1)[-1], row[1]): row[2] for row in rows}


async def pledge_from_south(north, south, who, bench, need: int, quantity, unit: str):
    uri = north.url(f"/listings/{bench.uid}")
    await answers.answer_remote(south.federation, who, uri, "Count me in.", None, quantity,
                                intent=f"need-{need}", unit=unit)  # fmt: skip
    await settle(north, south)


async def local_pledges(north, dan, bench) -> None:
    for need, quantity in (("1", "10"), ("2", "50")):
        await projects.pledge(north.federation.pool, north.settings, dan, bench.uid,
                              {"need": need, "quantity": quantity})  # fmt: skip
    await settle(north)


async def test_project__funded_by_hours_from_a_sibling_node(project):
    north, south, alice, dan, bob, _, bench = project
    uri = north.url(f"/listings/{bench.uid}")
    await local_pledges(north, dan, bench)

    # When bob opens the project on south and pledges its 6 hours from there
    page_path = f"/network/listing?uri={uri}"
    page = await (await bob.get(page_path)).text()
    assert "What the project needs" in page and "6 of 6 still needed" in page
    sent = await post_form(bob, "/network/listing/answers",
                           {"uri": uri, "need": "0", "quantity": "6", "message": "I can saw."},
                           form_path=page_path, allow_redirects=False)  # fmt: skip
    assert sent.status == 303
    await settle(north, south)

    # Then north counts his pledge beside dan's; alice is told; south's copy shows the progress
    assert await pledges_on_north(north) == {
        ("dan", 1): 10, ("dan", 2): 50, ("bob", 0): 6}  # fmt: skip
    assert (await notified(north, "alice")).count("project_pledge") == 2  # dan, bob
    page = await (await bob.get(page_path)).text()
    assert "0 of 6 still needed" in page

    # When the deadline passes, on north's scheduled jobs
    await run_deadline(north)
    await settle(north, south)

    # Then the project is funded: north's people are told, bob got an Accept and what next
    assert "project_funded" in await notified(north, "dan")
    assert "project_funded" in await notified(north, "alice")
    state, said = await south_answer(south, "bob")
    assert state == "reserved"
    assert said == (
        "“A bench for the square” is funded: your pledge of 6 h holds. Thank you!\n"
        "What happens next: We build on Saturday."
    )

    # When alice records the 6 hours bob gave
    [bobs] = [p for p in (await projects.project_view(
        north.federation.pool, north.settings, bench, alice)).pledges if p.actor_uri]  # fmt: skip
    await projects.record_hours(north.federation, alice, bench.uid, bobs.id, "6")
    await settle(north, south)

    # Then both nodes applied the transfer once, through mirrored clearing accounts
    assert await balances(north) == {"alice": Decimal(-6), "south.test": Decimal(6)}
    assert await balances(south) == {"bob": Decimal(6), "north.test": Decimal(-6)}
    assert await held(north) == 0
    [again] = [p for p in (await projects.project_view(
        north.federation.pool, north.settings, bench, alice)).pledges if p.actor_uri]  # fmt: skip
    assert again.remote_state == "accepted" and again.delivered == 6


async def test_project__a_missed_deadline_releases_remote_pledges(project):
    north, south, alice, dan, bob, carol, bench = project
    await pledge_from_south(north, south, carol, bench, 0, 4, "hour")

    await run_deadline(north)
    await settle(north, south)

    assert "project_missed" in await notified(north, "alice")
    state, said = await south_answer(south, "carol")
    assert state == "declined"
    assert said == (
        "“A bench for the square” did not get all it needed by its deadline: every pledge is "
        "released."
    )


@pytest.mark.parametrize(
    ("need", "quantity", "unit", "says"),
    [
        (0, 7, "hour", "Only 6 hours are still needed: pledge that much or less."),
        (0, 2, "one", "This need is counted in hour."),
        (1, 2.5, "one", "Enter a whole number of 1 or more."),
        (9, 1, "one", "Pledge towards one of the project's needs: its Intent #need-0, #need-1 ..."),
        (2, 0.001, "EUR", "Enter an amount from 0.01 to 1000000, like 20 or 12.50."),
    ],
)
async def test_project__bad_remote_pledges_refused_with_a_reason(
    project, need, quantity, unit, says
):
    north, south, _, _, _, carol, bench = project

    await pledge_from_south(north, south, carol, bench, need, quantity, unit)

    assert await pledges_on_north(north) == {}
    assert await south_answer(south, "carol") == ("declined", says)


async def test_pledges__a_departed_neighbours_undecided_pledges_go_with_them(project):
    # Given carol on south pledged 4 hours to alice's project and 3 kg to her rice
    north, south, alice, _, _, carol, bench = project
    rice = await listings.create_listing(north.federation.pool, north.settings, alice, RICE, [])
    await settle(north, south)
    await pledge_from_south(north, south, carol, bench, 0, 4, "hour")
    await answers.answer_remote(south.federation, carol, north.url(f"/listings/{rice.uid}"),
                                "Count me in.", quantity=3)  # fmt: skip
    await settle(north, south)
    assert await pledges_on_north(north) == {("carol", 0): 4}
    assert (await north.query("SELECT count(*) FROM pledges"))[0][0] == 1

    # When carol deletes her account on south
    await account_deletion.delete_account(south.federation.pool, south.settings, carol,
                                          password=DEFAULT_PASSWORD, address="::1")  # fmt: skip
    await settle(north, south)

    # Then north released both pledges, and the rice needs its 10 kg again
    assert await pledges_on_north(north) == {}
    assert (await north.query("SELECT count(*) FROM pledges"))[0][0] == 0
    [left] = await north.query("SELECT available_quantity FROM listings WHERE uid = $1", rice.uid)
    assert left[0] == 10


async def test_project__carol_pledges_to_two_needs_from_south_and_both_are_funded(project):
    # Given carol on south, who pledges 6 hours, then the 10 bricks, of alice's bench
    north, south, alice, dan, bob, carol, bench = project
    await pledge_from_south(north, south, carol, bench, 0, 6, "hour")
    await pledge_from_south(north, south, carol, bench, 1, 10, "one")
    await projects.pledge(north.federation.pool, north.settings, dan, bench.uid,
                          {"need": "2", "quantity": "50"})  # fmt: skip

    # Then north counts both pledges, each an Offer of its own in her one conversation
    assert await pledges_on_north(north) == {("carol", 0): 6, ("carol", 1): 10, ("dan", 2): 50}
    assert len(await south.query("SELECT id FROM conversations")) == 1
    assert len(await south.query("SELECT offer_id FROM conversation_offers")) == 1

    # When the deadline funds the bench, both Accepts are taken on south
    await run_deadline(north)
    await settle(north, south)
    assert "project_funded" in await notified(north, "alice")
    state, _said = await south_answer(south, "carol")
    assert state == "reserved"
    assert (await notified(south, "carol")).count("reserved_for_you") == 2
