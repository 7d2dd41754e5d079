"""A deleted account on north leaves no answer or message of it on south.

Rita lives on north; Sam and Tess on south, whose neighbourhoods follow each other. Both
nodes are real, on loopback, with their real host names; the workers are driven by `settle`.
"""

from __future__ import annotations

import pytest

from commonsfed.services import account_deletion, accounts, answers, follows, listings
from tests.builders import DEFAULT_PASSWORD, post_form
from tests.federation.test_answers_across_nodes import (
    answer_from_south,
    browser,
    find_in_network_view,
)
from tests.nodes import settle

LADDER = {
    "purpose": "offer", "kind": "lend", "title": "Ladder", "category": "tools",
    "description": "Three metres, aluminium.", "place": "Oak Lane", "loan_days": "3",
}  # fmt: skip
DRILL = {**LADDER, "title": "Cordless drill", "description": "With two batteries."}


async def resident(node, name: str):
    return await accounts.register(
        node.federation.pool, node.settings, username=name, email=f"{name}@example.org",
        password=DEFAULT_PASSWORD, by_admin=True)  # fmt: skip


@pytest.fixture
async def neighbours(start_nodes):
    """north and south, each neighbourhood following the other."""
    north, south = await start_nodes(2)
    await follows.federate(north.federation, "south.test")
    await follows.federate(south.federation, "north.test")
    await settle(north, south)
    return north, south


async def test_deleted_account__leaves_no_answer_or_message_of_it_on_south(neighbours):
    north, south = neighbours
    pool, settings = south.federation.pool, south.settings
    # Given Sam's ladder on south, which Rita answered from north and which he reserved for
    # her; they wrote to each other; Tess (south) waits behind her; Rita's own drill on north
    sam = await resident(south, "sam")
    ladder = await listings.create_listing(pool, settings, sam, LADDER, [])
    rita = await browser(north, "rita")
    await settle(north, south)
    await answer_from_south(
        rita, await find_in_network_view(rita, "Ladder"), "Could I borrow your ladder this weekend?"
    )
    await settle(north, south)
    [(on_south,)] = await south.query("SELECT id FROM conversations")
    await answers.reserve(pool, settings, sam, on_south)
    await answers.reply(pool, settings, sam, on_south, "Saturday morning suits me.")
    await settle(north, south)
    [(on_north,)] = await north.query("SELECT id FROM conversations")
    response = await post_form(rita, f"/conversations/{on_north}/messages",
                               {"message": "Great, see you at nine."},
                               form_path=f"/conversations/{on_north}")  # fmt: skip
    assert response.status == 200
    tess = await resident(south, "tess")
    await answers.answer(pool, settings, tess, ladder.uid, "I would like it after Rita.")
    drill = await listings.create_listing(
        north.federation.pool, north.settings, await accounts.authenticate(
            north.federation.pool, "rita", DEFAULT_PASSWORD, "127.0.0.1"), DRILL, [])  # fmt: skip
    await settle(north, south)
    rita_uri, drill_uri = north.url("/users/rita"), north.url(f"/listings/{drill.uid}")
    assert (
        len(await south.query("SELECT 1 FROM messages WHERE sender_actor_uri = $1", rita_uri)) == 2
    )
    assert await south.query("SELECT 1 FROM remote_objects WHERE uri = $1", drill_uri)

    # When Rita deletes her account on north, and the workers settle
    response = await post_form(rita, "/settings/delete", {"password": DEFAULT_PASSWORD})
    assert response.status == 200
    await settle(north, south)

    # Then south has no answer or message of hers: Sam's side stays, closed with a line
    assert await south.query("SELECT 1 FROM messages WHERE sender_actor_uri = $1", rita_uri) == []
    rows = await south.query("SELECT kind, body FROM messages WHERE conversation_id = $1 "
                             "ORDER BY id", on_south)  # fmt: skip
    assert [row["body"] for row in rows[:-1]] == ["Saturday morning suits me."]
    assert rows[-1]["kind"] == "system"
    assert rows[-1]["body"].startswith("@rita@north.test deleted their account.")
    view = await answers.conversation(pool, sam, on_south)
    assert view.conversation.closed_at is not None and not view.may_write
    # her place passed on: the ladder is open again and offered to Tess
    line = await south.query("SELECT state, closed_at IS NOT NULL AS closed FROM conversations "
                             "WHERE listing_id IS NOT NULL ORDER BY id")  # fmt: skip
    assert [tuple(row) for row in line] == [("withdrawn", True), ("offered", False)]
    assert (await south.query("SELECT state FROM listings"))[0][0] == "open"
    # her listing is gone from south, and so is south's copy of her actor
    assert await south.query("SELECT 1 FROM remote_objects WHERE uri = $1", drill_uri) == []
    assert await south.query("SELECT 1 FROM remote_actors WHERE uri = $1", rita_uri) == []
    # and on north nothing of her conversation is left
    assert await north.query("SELECT 1 FROM conversations") == []
    assert await north.query("SELECT 1 FROM messages") == []
    await rita.close()


async def test_deleted_account__its_listings_leave_a_node_that_only_saw_them_announced(
    neighbours,
):
    # Given Olga's drill on north, which south has only from north's Group (nobody on south
    # ever talked to Olga, nor fetched her)
    north, south = neighbours
    olga = await resident(north, "olga")
    drill = await listings.create_listing(north.federation.pool, north.settings, olga, DRILL, [])
    await settle(north, south)
    uri = north.url(f"/listings/{drill.uid}")
    assert await south.query("SELECT 1 FROM remote_objects WHERE uri = $1", uri)

    # When she deletes her account
    await account_deletion.delete_account(
        north.federation.pool, north.settings, olga, password=DEFAULT_PASSWORD, address="::1"
    )
    await settle(north, south)

    # Then south no longer has her drill
    assert await south.query("SELECT 1 FROM remote_objects WHERE uri = $1", uri) == []
