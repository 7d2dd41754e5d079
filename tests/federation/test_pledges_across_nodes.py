"""Pledges and claims across nodes: alice on north.test organises a group purchase; dan pledges
on north, bob and carol on south.test pledge with FEP-0837 Offers carrying a quantity. The
deadline decides for everyone, on north's scheduled jobs with a clock we set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commonsfed.services import accounts, answers, follows, listings
from commonsfed.services.jobs import ScheduledJobs
from tests.builders import DEFAULT_PASSWORD
from tests.federation.test_answers_across_nodes import notified
from tests.integration.test_jobs import Clock
from tests.nodes import settle

TODAY = datetime.now(UTC).date()
RICE = {"purpose": "offer", "kind": "group_purchase", "title": "Organic rice", "category": "food",
        "place": "Elm Street", "target_quantity": "10", "unit": "kg",
        "deadline": (TODAY + timedelta(days=2)).isoformat()}  # fmt: skip


async def person(node, name: str):
    return await accounts.register(
        node.federation.pool, node.settings, username=name, email=f"{name}@example.org",
        password=DEFAULT_PASSWORD, by_admin=True,
    )  # fmt: skip


@pytest.fixture
async def purchase(start_nodes):
    """north and south, south following north; alice's rice on north, dan there too, bob and
    carol on south."""
    north, south = await start_nodes(2)
    await follows.federate(south.federation, "north.test")
    await settle(north, south)
    alice, dan = await person(north, "alice"), await person(north, "dan")
    bob, carol = await person(south, "bob"), await person(south, "carol")
    rice = await listings.create_listing(north.federation.pool, north.settings, alice, RICE, [])
    await settle(north, south)
    return north, south, alice, dan, bob, carol, rice


async def pledge_from_south(north, south, who, rice, quantity: int) -> None:
    uri = north.url(f"/listings/{rice.uid}")
    await answers.answer_remote(south.federation, who, uri, "Count me in.", quantity=quantity)
    await settle(north, south)


async def pledges_on_north(north) -> dict[str, int]:
    rows = await north.query("""
        SELECT coalesce(a.username, p.actor_uri) AS who, p.quantity FROM pledges p
        LEFT JOIN accounts a ON a.id = p.account_id
    """)  # fmt: skip
    return {row[0].rsplit("/", 1)[-1]: row[1] for row in rows}


async def south_answer(south, name: str) -> tuple[str, str]:
    """(the state of `name`'s conversation on south, its last message)."""
    [row] = await south.query("""
        SELECT c.state, (SELECT body FROM messages m WHERE m.conversation_id = c.id
                         ORDER BY m.id DESC LIMIT 1)
        FROM conversations c JOIN accounts a ON a.id = c.respondent_account_id
        WHERE a.username = $1
    """, name)  # fmt: skip
    return row[0], row[1]


async def run_deadline(north, days_after: int = 1) -> None:
    moment = datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(days=2 + days_after)
    await ScheduledJobs(north.federation.pool, north.settings, Clock(moment)).tick()


async def test_group_purchase__reaches_its_target_with_pledges_from_two_nodes(purchase):
    north, south, alice, dan, bob, carol, rice = purchase

    # When dan pledges 4 kg on north, and bob and carol 3 kg each from south
    await listings.pledge(north.federation.pool, north.settings, dan, rice.uid, "4")
    await pledge_from_south(north, south, bob, rice, 3)
    await pledge_from_south(north, south, carol, rice, 3)

    # Then north counts all three; the organiser was told of each; both nodes show the sum
    assert await pledges_on_north(north) == {"dan": 4, "bob": 3, "carol": 3}
    assert (await notified(north, "alice")).count("new_pledge") == 3
    [cached] = await south.query("SELECT document FROM remote_objects WHERE uri = $1",
                                 north.url(f"/listings/{rice.uid}"))  # fmt: skip
    assert "Pledged so far: 10 kg" in cached[0] and '"hasNumericalValue": "0"' in cached[0]

    # When the deadline passes, on north's scheduled jobs
    await run_deadline(north)
    await settle(north, south)

    # Then the pledges hold: north's people are told, south's got an Accept and a message
    assert "pledge_reached" in await notified(north, "dan")
    assert "pledge_reached" in await notified(north, "alice")
    for name in ("bob", "carol"):
        state, said = await south_answer(south, name)
        assert state == "reserved", (name, state)
        assert (
            said == "“Organic rice” reached its target: your pledge of 3 holds. "
            "I will write to say how to collect it."
        )
    # and a second run decides nothing again
    await run_deadline(north, days_after=2)
    assert (await notified(north, "dan")).count("pledge_reached") == 1


async def test_group_purchase__a_missed_deadline_releases_everyone(purchase):
    north, south, alice, dan, bob, _, rice = purchase
    await listings.pledge(north.federation.pool, north.settings, dan, rice.uid, "2")
    await pledge_from_south(north, south, bob, rice, 3)

    await run_deadline(north)
    await settle(north, south)

    assert "pledge_released" in await notified(north, "dan")
    assert "pledge_released" in await notified(north, "alice")
    state, said = await south_answer(south, "bob")
    assert state == "declined"
    assert (
        said == "“Organic rice” missed its target of 10 by its deadline: every pledge is released."
    )
    assert "declined" in await notified(south, "bob")


async def test_pledge__after_the_deadline_or_bad_refused_with_a_reason(purchase):
    north, south, alice, _, bob, carol, rice = purchase
    # a pledge of 0 is no pledge: refused, nothing counted
    await pledge_from_south(north, south, carol, rice, 0)
    assert await south_answer(south, "carol") == (
        "declined", "Say how many you want: a whole number from 1 to 100000.")  # fmt: skip

    # the deadline passed on north before south heard of it
    await north.query("""UPDATE listings SET details = jsonb_set(details, '{deadline}', $1)""",
                      f'"{(TODAY - timedelta(days=1)).isoformat()}"')  # fmt: skip
    await pledge_from_south(north, south, bob, rice, 3)

    assert await pledges_on_north(north) == {}
    assert await south_answer(south, "bob") == ("declined", "The deadline for pledges has passed.")


async def test_pay_it_forward__claimed_from_south_and_more_than_a_portion_refused(purchase):
    north, south, alice, _, bob, carol, _ = purchase
    soup = await listings.create_listing(north.federation.pool, north.settings, alice, {
        "purpose": "offer", "kind": "pay_it_forward", "title": "Soup", "category": "food",
        "place": "Elm Street", "portions": "1"}, [])  # fmt: skip
    await settle(north, south)

    await pledge_from_south(north, south, bob, soup, 2)  # more than one portion
    carol_uri = north.url(f"/listings/{soup.uid}")
    await answers.answer_remote(south.federation, carol, carol_uri, "One please", quantity=1)
    await settle(north, south)

    assert await south_answer(south, "bob") == ("declined", "One portion per neighbour: ask for 1.")
    assert (await south_answer(south, "carol"))[0] == "completed"  # accepted: its last portion
    rows = await north.query("SELECT actor_uri FROM claims")
    assert [row[0] for row in rows] == [south.url("/users/carol")]
    assert (await listings.get_listing(north.federation.pool, soup.uid)).state == "completed"
