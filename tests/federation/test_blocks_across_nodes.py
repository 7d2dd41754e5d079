"""A resident of north blocks a resident of south: south receives the Block, and the blocked
resident can no longer answer north's listings, from south's own pages; unblocking sends
the Undo, and they can again. Both nodes are real, on loopback, with their real names.
"""

from __future__ import annotations

from commonsfed.services import blocks, listings
from tests.builders import post_form
from tests.federation.test_answers_across_nodes import (
    DRILL,
    answer_from_south,
    find_in_network_view,
    north_line,
    south_state,
)
from tests.nodes import settle

LADDER = {**DRILL, "title": "Long ladder", "description": "Four metres."}


async def test_block__south_receives_it_and_the_blocked_resident_cannot_answer(network):
    north, south, alice, drill, bob, carol = network
    bobs = await answer_from_south(bob, await find_in_network_view(bob, "Cordless drill"),
                                   "Could I borrow it?")  # fmt: skip
    await settle(north, south)

    # alice blocks Bob by his handle, which north looks up on south
    person = await blocks.block(north.federation, alice, "@bob@south.test")
    await listings.create_listing(north.federation.pool, north.settings, alice, LADDER, [])
    await settle(north, south)

    # south has the Block; Bob's answer left north's line, and south shows it declined
    assert person.label == "@bob@south.test"
    rows = await south.query("SELECT blocker_uri, blocked_uri FROM actor_blocks")
    assert [tuple(row) for row in rows] == [(north.url("/users/alice"), south.url("/users/bob"))]
    assert await north_line(north, drill.uid) == [("bob", "declined")]
    assert (await south_state(south, "bob"))[0] == "declined"

    # Bob cannot answer alice's new listing, nor write in the old conversation; south says why
    ladder = await find_in_network_view(bob, "Long ladder")
    refused = await post_form(bob, "/network/listing/answers", {
        "uri": north.url("/listings/") + ladder.rsplit("%2F", 1)[1], "message": "Me?"},
        form_path=ladder, allow_redirects=False)  # fmt: skip
    writing = await post_form(bob, f"/conversations/{bobs}/messages", {"message": "Why?"},
                              form_path=f"/conversations/{bobs}")  # fmt: skip
    for response in (refused, writing):
        assert response.status == 403
        assert "they have blocked you" in await response.text()
    await settle(north, south)
    assert len(await north.query("SELECT id FROM conversations")) == 1

    # Carol, on the same node, answers as before
    await answer_from_south(carol, ladder, "I could use it on Sunday.")

    # alice unblocks Bob: south gets the Undo, and Bob may answer again
    [(row_id,)] = await north.query("SELECT id FROM resident_blocks")
    await blocks.undo(north.federation, alice, row_id)
    await settle(north, south)
    assert await south.query("SELECT * FROM actor_blocks") == []
    await answer_from_south(bob, ladder, "Me too, please.")
    await settle(north, south)
    assert len(await north.query("SELECT id FROM conversations")) == 3
