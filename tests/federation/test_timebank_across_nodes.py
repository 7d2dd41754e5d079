"""Hours across nodes, on real nodes over loopback: a resident of north pays a resident of
south (and asks to be paid), each node moving the hours through its clearing account for
the other, so the two clearing balances mirror each other; a limit on either side refuses
the transfer on both; deliveries again, proposals again and answers nobody asked for change
nothing."""

from __future__ import annotations

import copy
from decimal import Decimal

import orjson
import pytest

from commonsfed.ap.jsonld import normalise
from commonsfed.federation.errors import Refused
from commonsfed.federation.handlers import handle_activity
from commonsfed.services import accounts, answers, listings, timebank_exchanges, timebank_remote
from commonsfed.services.errors import NotAllowed
from commonsfed.services.timebank import TransferRefused
from tests.builders import DEFAULT_PASSWORD, post_form
from tests.federation import test_answers_across_nodes as across
from tests.federation.test_answers_across_nodes import (
    answer_from_south,
    browser,
    conversation_ids,
    find_in_network_view,
)
from tests.nodes import settle


async def resident(node, name: str):
    return await accounts.register(
        node.federation.pool, node.settings, username=name, email=f"{name}@example.org",
        password=DEFAULT_PASSWORD, by_admin=True,
    )  # fmt: skip


async def balances(node) -> dict[str, Decimal]:
    """Every hours account of the node: a resident's by name, a clearing one by its node."""
    rows = await node.query("""
        SELECT coalesce(a.username, h.node) AS name, h.balance FROM hours_accounts h
        LEFT JOIN accounts a ON a.id = h.account_id
    """)  # fmt: skip
    return {row["name"]: row["balance"] for row in rows if row["balance"]}


async def held(node) -> Decimal:
    return (await node.query("SELECT coalesce(sum(held_out + held_in), 0) AS h "
                             "FROM hours_accounts"))[0]["h"]  # fmt: skip


network = across.network  # the fixture: north with alice's drill, bob and carol on south


async def told(node, name: str) -> list[str]:
    """Whom the resident's hours_across notifications name."""
    rows = await node.query("""
        SELECT n.actor_uri FROM notifications n JOIN accounts a ON a.id = n.account_id
        WHERE a.username = $1 AND n.kind = 'hours_across' ORDER BY n.id
    """, name)  # fmt: skip
    return [row["actor_uri"] for row in rows]


@pytest.fixture
async def pair(start_nodes):
    north, south = await start_nodes(2)
    alice, bob = await resident(north, "alice"), await resident(south, "bob")
    return north, south, alice, bob


async def test_hours_across_nodes__paid_to_a_resident_of_a_sibling_node(pair):
    north, south, alice, bob = pair
    bob_uri = south.url("/users/bob")

    await timebank_remote.propose(north.federation, alice, bob_uri, "3")
    assert await balances(north) == {}  # nothing final before the Accept
    assert await held(north) == 6  # 3 out of alice, 3 into south's clearing account
    await settle(north, south)

    assert await balances(north) == {"alice": -3, "south.test": 3}
    assert await balances(south) == {"bob": 3, "north.test": -3}
    assert await held(north) == 0
    assert await told(north, "alice") == [bob_uri]
    assert await told(south, "bob") == [north.url("/users/alice")]
    [offer] = await north.query("SELECT document FROM activities WHERE type = 'Offer'")
    event = orjson.loads(offer["document"])["object"]
    assert event["type"] == "EconomicEvent" and event["action"] == "transfer"
    assert event["resourceQuantity"] == {"hasUnit": "hour", "hasNumericalValue": "3"}
    assert event["provider"] == north.url("/users/alice") and event["receiver"] == bob_uri

    # alice asks bob's node for hours the other way: he pays her
    await timebank_remote.propose(north.federation, alice, bob_uri, "1.25", local_pays=False)
    await settle(north, south)
    assert await balances(north) == {"alice": Decimal("-1.75"), "south.test": Decimal("1.75")}
    assert await balances(south) == {"bob": Decimal("1.75"), "north.test": Decimal("-1.75")}


async def test_hours_across_nodes__refused_by_the_other_side_applied_on_neither(pair):
    north, south, alice, bob = pair
    bob_uri = south.url("/users/bob")
    await timebank_remote.propose(north.federation, alice, bob_uri, "15")
    await settle(north, south)
    other = await resident(north, "ann")
    await timebank_remote.propose(north.federation, other, bob_uri, "15")
    await settle(north, south)
    third = await resident(north, "ben")

    # bob would hold 45 hours, past south's highest balance of 40
    await timebank_remote.propose(north.federation, third, bob_uri, "15")
    await settle(north, south)

    assert await balances(north) == {"alice": -15, "ann": -15, "south.test": 30}
    assert await balances(south) == {"bob": 30, "north.test": -30}
    assert await held(north) == 0
    [row] = await north.query("SELECT state, reason FROM hours_remote_transfers "
                              "WHERE state = 'rejected'")  # fmt: skip
    assert row["reason"].startswith("Refused: @bob would hold more than 40 hours")
    assert await told(north, "ben") == [bob_uri]  # told of the refusal
    assert len(await told(south, "bob")) == 2  # of the two transfers that moved


async def test_hours_across_nodes__a_limit_here_refuses_before_anything_is_sent(pair):
    north, south, alice, bob = pair
    with pytest.raises(TransferRefused, match="@alice would owe more than 20 hours"):
        await timebank_remote.propose(north.federation, alice, south.url("/users/bob"), "21")
    assert await north.query("SELECT * FROM hours_remote_transfers") == []
    assert await north.query("SELECT * FROM activities WHERE type = 'Offer'") == []


async def test_hours_across_nodes__the_clearing_limit_counts_hours_held(start_nodes):
    north, south = await start_nodes(2, **{"north.test": {"hours_clearing_limit": 5}})
    alice, ann = await resident(north, "alice"), await resident(north, "ann")
    await resident(south, "bob")
    bob_uri = south.url("/users/bob")

    await timebank_remote.propose(north.federation, alice, bob_uri, "4")  # held, not sent yet
    with pytest.raises(TransferRefused, match="limit of 5 hours with south.test"):
        await timebank_remote.propose(north.federation, ann, bob_uri, "2")
    await settle(north, south)
    assert await balances(north) == {"alice": -4, "south.test": 4}


async def _offer(node) -> dict:
    [row] = await node.query("SELECT document FROM activities WHERE type = 'Offer'")
    return orjson.loads(row["document"])


async def test_hours_across_nodes__applied_once_whatever_is_delivered_again(pair):
    north, south, alice, bob = pair
    await timebank_remote.propose(north.federation, alice, south.url("/users/bob"), "2")
    await settle(north, south)
    offer = await _offer(north)

    # the same event proposed again under a new Offer id (a proposer that lost the answer):
    # south answers as before and applies nothing more
    again = copy.deepcopy(offer)
    again["id"] = offer["id"] + "-again"
    await handle_activity(south.federation, normalise(again))
    # and the Accept delivered again changes nothing on north
    await south.query("UPDATE deliveries SET state = 'pending', next_try_at = now()")
    await settle(north, south)

    assert await balances(north) == {"alice": -2, "south.test": 2}
    assert await balances(south) == {"bob": 2, "north.test": -2}
    assert len(await south.query("SELECT * FROM activities WHERE type = 'Accept'")) == 2
    assert len(await north.query("SELECT * FROM hours_transfers")) == 1


async def test_hours_across_nodes__an_answer_nobody_asked_for_is_refused(pair):
    north, south, alice, bob = pair
    await timebank_remote.propose(north.federation, alice, south.url("/users/bob"), "2")
    offer = await _offer(north)
    event = offer["object"]
    stray = {
        "@context": offer["@context"], "id": south.url("/hours/answers/stray"),
        "type": "Accept", "actor": south.url("/users/bob"),
        "object": {"id": north.url("/hours/unknown/offer"), "type": "Offer",
                   "actor": north.url("/users/alice"),
                   "object": {**event, "id": north.url("/hours/unknown")}},
    }  # fmt: skip

    with pytest.raises(Refused, match="not a transfer this node proposed"):
        await handle_activity(north.federation, normalise(stray))
    # the right event, answered by someone else than bob
    await resident(south, "eve")
    forged = {**stray, "actor": south.url("/users/eve"),
              "object": {**stray["object"], "id": offer["id"], "object": event}}  # fmt: skip
    with pytest.raises(Refused, match="only the resident a transfer was proposed to"):
        await handle_activity(north.federation, normalise(forged))
    assert await balances(north) == {}
    assert await held(north) == 4


async def test_hours_across_nodes__paid_from_the_hours_page_and_shown_to_admins(start_nodes):
    north, south = await start_nodes(2)
    await resident(south, "bob")
    ada = await browser(north, "ada")
    await accounts.set_role(north.federation.pool, "ada", "admin")
    try:
        bad = await post_form(ada, "/settings/hours/send", {"to": "bob", "hours": "2"},
                              form_path="/settings/hours")  # fmt: skip
        assert bad.status == 422
        assert "Give their address, such as @bob@example.org." in await bad.text()
        over = await post_form(ada, "/settings/hours/send",
                               {"to": "@bob@south.test", "hours": "25"},
                               form_path="/settings/hours")  # fmt: skip
        assert over.status == 409 and "would owe more than 20 hours" in await over.text()

        sent = await post_form(ada, "/settings/hours/send",
                               {"to": "@bob@south.test", "hours": "2.5"},
                               form_path="/settings/hours", allow_redirects=False)  # fmt: skip
        assert sent.status == 303
        waiting = await (await ada.get("/settings/hours")).text()
        assert "Waiting for their node" in waiting and "Balance: +0 hours" in waiting
        await settle(north, south)

        page = await (await ada.get("/settings/hours")).text()
        assert "Balance: -2.5 hours" in page and south.url("/users/bob") in page
        admin = await (await ada.get("/admin/hours")).text()
        assert "<td>south.test</td><td>+2.5</td>" in admin
        assert "2.5 of 100 hours" in admin
        notes = await (await ada.get("/notifications")).text()
        assert "News of hours between you and" in notes and "/settings/hours#remote" in notes
        assert await balances(south) == {"bob": Decimal("2.5"), "north.test": Decimal("-2.5")}
    finally:
        await ada.close()


GARDEN = {"purpose": "offer", "kind": "service", "title": "Help in your garden",
          "category": "garden", "description": "Weeding, pruning, planting.",
          "place": "Elm Street", "hours": "2"}  # fmt: skip


async def completed_service(network) -> int:
    """alice's garden help on north, answered by bob from south, reserved and completed:
    her conversation's id on north."""
    north, south, alice, _drill, bob, _carol = network
    pool, settings = north.federation.pool, north.settings
    garden = await listings.create_listing(pool, settings, alice, GARDEN, [])
    await settle(north, south)
    await answer_from_south(bob, await find_in_network_view(bob, "Help in your garden"),
                            "Saturday morning?")  # fmt: skip
    await settle(north, south)
    on_north = (await conversation_ids(north, garden.uid))["bob"]
    await answers.reserve(pool, settings, alice, on_north)
    await answers.complete(pool, settings, alice, on_north)
    await settle(north, south)
    return on_north


async def test_hours_across_nodes__of_a_service_completed_with_a_resident_of_south(network):
    north, south, alice, _drill, bob, _carol = network
    pool, settings = north.federation.pool, north.settings
    on_north = await completed_service(network)

    # bob would go past south's lowest balance: his node refuses, nothing moves
    exchange = await timebank_exchanges.confirm(pool, settings, alice, on_north, "25",
                                                fed=north.federation)  # fmt: skip
    assert exchange.remote_state == "proposed"
    await settle(north, south)
    assert await balances(north) == {} and await balances(south) == {}

    # alice confirms again, two hours: they move from bob on south to her on north
    await timebank_exchanges.confirm(pool, settings, alice, on_north, "2", fed=north.federation)
    await settle(north, south)
    assert await balances(north) == {"alice": 2, "south.test": -2}
    assert await balances(south) == {"bob": -2, "north.test": 2}
    with pytest.raises(NotAllowed, match="recorded already"):
        await timebank_exchanges.confirm(pool, settings, alice, on_north, "1",
                                         fed=north.federation)  # fmt: skip
    ada = await browser(north, "ada")
    try:
        await accounts.set_role(pool, "ada", "admin")
        page = await (await ada.get(f"/conversations/{on_north}")).text()
        assert "2 hours moved from @bob@south.test to @alice for this service." in page
    finally:
        await ada.close()
