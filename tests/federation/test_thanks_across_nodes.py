"""Thanks across nodes: Bob on south answers alice's drill on north, she completes the
exchange on north, and each thanks the other from their own node; each thanks reaches the
other node's profile page, an edit follows it, and its Delete removes it.

Both nodes are real, on loopback, with their real host names (tests/nodes.py).
"""

from __future__ import annotations

import orjson

from commonsfed.services import answers, thanks
from tests.builders import post_form
from tests.federation import test_answers_across_nodes as across
from tests.federation.test_answers_across_nodes import (
    answer_from_south,
    conversation_ids,
    find_in_network_view,
    south_state,
)
from tests.nodes import settle

network = across.network  # the fixture: north with alice's drill, Bob and Carol on south


async def bob_thanks(bob, conversation_id: int, text: str, action: str = ""):
    path = f"/conversations/{conversation_id}/thanks" + (f"/{action}" if action else "")
    response = await post_form(bob, path, {"thanks": text},
                               form_path=f"/conversations/{conversation_id}",
                               allow_redirects=False)  # fmt: skip
    assert response.status == 303, await response.text()


async def test_thanks__reach_the_other_nodes_profile_and_leave_it_when_deleted(network):
    north, south, alice, drill, bob, _ = network
    pool, settings = north.federation.pool, north.settings
    bobs = await answer_from_south(bob, await find_in_network_view(bob, "Cordless drill"),
                                   "Could I borrow it on Saturday?")  # fmt: skip
    await settle(north, south)
    on_north = (await conversation_ids(north, drill.uid))["bob"]
    await answers.reserve(pool, settings, alice, on_north)
    await settle(north, south)  # south hears of the reservation before the completion
    await answers.complete(pool, settings, alice, on_north)
    await settle(north, south)
    assert await south_state(south, "bob") == ("completed", "completed")

    # Bob thanks alice from south: a public Note with thanksFor, mentioning her
    await bob_thanks(bob, bobs, "Thank you, the drill did the whole shelf!")
    [document] = await south.query("SELECT document FROM activities WHERE type = 'Create'"
                                   " AND document->'object' ? 'thanksFor'")  # fmt: skip
    note = orjson.loads(document[0])["object"]
    assert note["thanksFor"] == note["inReplyTo"] == north.url(f"/listings/{drill.uid}")
    assert note["tag"] == [{"type": "Mention", "href": north.url("/users/alice"),
                            "name": "@alice@north.test"}]  # fmt: skip
    await settle(north, south)

    profile = await (await north.client.get("/users/alice")).text()
    assert "Thank you, the drill did the whole shelf!" in profile
    assert "@bob@south.test" in profile and "Cordless drill" in profile
    # and alice is told on north
    [kind] = await north.query(
        "SELECT kind FROM notifications n JOIN accounts a ON a.id = n.account_id "
        "WHERE a.username = 'alice' AND kind = 'thanks'"
    )
    assert kind[0] == "thanks"

    # alice thanks him back from north, and south's profile of Bob shows it
    await thanks.leave(pool, settings, alice, on_north, "Thanks for bringing it back clean.")
    await settle(north, south)
    bob_profile = await (await south.client.get("/users/bob")).text()
    assert "Thanks for bringing it back clean." in bob_profile
    assert "@alice@north.test" in bob_profile

    # Bob edits his thanks, then removes it: north follows
    await bob_thanks(bob, bobs, "Thank you! The shelf is up.", "edit")
    await settle(north, south)
    profile = await (await north.client.get("/users/alice")).text()
    assert "The shelf is up." in profile and "the whole shelf" not in profile
    await bob_thanks(bob, bobs, "", "delete")
    await settle(north, south)
    profile = await (await north.client.get("/users/alice")).text()
    assert "The shelf is up." not in profile and "No thanks yet." in profile
    assert await north.query("SELECT * FROM thanks WHERE writer_actor_uri IS NOT NULL") == []
