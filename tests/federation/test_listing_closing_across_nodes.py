"""A listing of north.test closes while residents of south.test wait in its line: south
shows their answers closed and tells them, whichever way it closed (completed with someone
else, withdrawn, removed), and whatever order the author's activities arrive in.

Alice lives on north with her drill; Bob and Carol answer it from south, each with a browser
of their own. Both nodes are real, on loopback, with their real host names.
"""

from __future__ import annotations

import pytest

from commonsfed.services import accounts, answers, follows, listings
from tests.builders import DEFAULT_PASSWORD
from tests.federation.test_answers_across_nodes import (
    DRILL,
    answer_from_south,
    browser,
    conversation_ids,
    find_in_network_view,
    notified,
    south_state,
)
from tests.nodes import settle


@pytest.fixture
async def line(start_nodes):
    """north and south federated; alice's drill on north, answered from south by Bob, then
    Carol (in that order)."""
    north, south = await start_nodes(2)
    await follows.federate(south.federation, "north.test")
    await settle(north, south)
    alice = await accounts.register(
        north.federation.pool, north.settings, username="alice", email="alice@example.org",
        password=DEFAULT_PASSWORD, by_admin=True)  # fmt: skip
    drill = await listings.create_listing(north.federation.pool, north.settings, alice, DRILL, [])
    await settle(north, south)
    bob, carol = await browser(south, "bob"), await browser(south, "carol")
    conversations = {}
    for name, client in (("bob", bob), ("carol", carol)):
        page = await find_in_network_view(client, "Cordless drill")
        conversations[name] = await answer_from_south(client, page, "Could I borrow it?")
        await settle(north, south)
    on_north = await conversation_ids(north, drill.uid)
    yield north, south, alice, drill, on_north, conversations, carol
    await bob.close()
    await carol.close()


async def carol_sees_it_closed(carol, conversation_id: int) -> None:
    page = await (await carol.get(f"/conversations/{conversation_id}")).text()
    assert ">Closed</span>" in page and "no longer in line" in page
    assert "Withdraw my answer" not in page and "Number 1 in line" not in page


async def test_completed_with_bob__carol_on_south_sees_it_closed_and_is_told(line):
    north, south, alice, drill, on_north, on_south, carol = line

    # alice completes the drill with Bob straight from the line (no reservation first)
    await answers.complete(north.federation.pool, north.settings, alice, on_north["bob"])
    await settle(north, south)

    # south completes Bob's answer (the Accept makes the agreement the Update completes)
    assert await south_state(south, "bob") == ("completed", "completed")
    assert "completed" in await notified(south, "bob")
    # whichever of the Update and the Accept came first, he is not left told it closed
    # without him
    assert "listing_closed" not in await notified(south, "bob")
    # and Carol, still waiting, is told once and sees it closed
    assert await south_state(south, "carol") == ("waiting", "completed")
    assert await notified(south, "carol") == ["listing_closed"]
    await carol_sees_it_closed(carol, on_south["carol"])
    listing_page = await (await carol.get("/network/listing", params={
        "uri": north.url(f"/listings/{drill.uid}")})).text()  # fmt: skip
    assert '<span class="tag state">Closed</span>' in listing_page


async def test_withdrawn_on_north__everyone_in_line_on_south_is_told(line):
    north, south, alice, drill, on_north, on_south, carol = line
    await answers.reserve(north.federation.pool, north.settings, alice, on_north["bob"])
    await settle(north, south)

    await listings.change_state(north.federation.pool, north.settings, alice, drill.uid,
                                "withdrawn")  # fmt: skip
    await settle(north, south)

    # (a withdrawn listing reads as closed, "expired", on the wire: see ap.listings)
    assert await notified(south, "bob") == ["reserved_for_you", "listing_closed"]
    assert await notified(south, "carol") == ["listing_closed"]
    await carol_sees_it_closed(carol, on_south["carol"])


async def test_removed_on_north__everyone_in_line_on_south_is_told(line):
    north, south, alice, drill, on_north, on_south, carol = line

    await listings.remove_listing(north.federation.pool, north.settings, alice, drill.uid)
    await settle(north, south)

    assert await notified(south, "bob") == ["listing_closed"]
    assert await notified(south, "carol") == ["listing_closed"]
    await carol_sees_it_closed(carol, on_south["carol"])


async def test_late_accept__after_the_completing_update_completes_bob_not_reserves(line):
    north, south, alice, drill, on_north, on_south, carol = line
    await south.query("UPDATE accounts SET email_confirmed_at = now(), "
                      "mail_notifications = '{decision}' WHERE username = 'bob'")  # fmt: skip
    # alice reserves for Bob, but her Accept is held up on the way to south ...
    await answers.reserve(north.federation.pool, north.settings, alice, on_north["bob"])
    accepts = "SELECT uri FROM activities WHERE type = 'Accept'"
    await north.query(f"UPDATE deliveries SET next_try_at = now() + interval '1 hour'"
                      f" WHERE activity_uri IN ({accepts})")  # fmt: skip
    await settle(north, south)  # the listing's Update (reserved) arrives
    # ... so the Update of her completing it arrives first
    await answers.complete(north.federation.pool, north.settings, alice, on_north["bob"])
    await settle(north, south)
    assert await south_state(south, "bob") == ("waiting", "completed")
    assert "listing_closed" in await notified(south, "bob")  # as far as south can tell
    assert await closed_mail(south, "bob") == 1

    # When the Accept comes in at last
    await north.query(
        f"UPDATE deliveries SET next_try_at = now() WHERE activity_uri IN ({accepts})"
    )
    await settle(north, south)

    # Then Bob's answer is completed, never left reserved on a completed listing
    assert await south_state(south, "bob") == ("completed", "completed")
    assert "completed" in await notified(south, "bob")
    # and what south told him before the Accept came is taken back, its mail too
    assert "listing_closed" not in await notified(south, "bob")
    assert await closed_mail(south, "bob") == 0


async def closed_mail(node, name: str) -> int:
    rows = await node.query("""
        SELECT count(*) AS n FROM outgoing_mail m JOIN accounts a ON a.id = m.account_id
        WHERE a.username = $1 AND m.context->>'kind' = 'listing_closed'
    """, name)  # fmt: skip
    return rows[0]["n"]
