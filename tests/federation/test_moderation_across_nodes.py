"""South's moderators suspend alice of north: what she had on south goes (her listing, the
conversation Bob had with her, his follow of her), and what north delivers from her after
that is refused by south's inbox, the Create of her next listing and its Announce alike.
Both nodes are real, on loopback, with their real names.
"""

from __future__ import annotations

from commonsfed.services import accounts, follows, listings, remote_moderation
from tests.builders import DEFAULT_PASSWORD
from tests.federation.test_answers_across_nodes import (
    DRILL,
    answer_from_south,
    find_in_network_view,
)
from tests.nodes import settle

LADDER = {**DRILL, "title": "Long ladder", "description": "Four metres."}


async def alices_things_on(south, alice: str) -> dict[str, int]:
    counts = await south.query(
        """
        SELECT (SELECT count(*) FROM remote_objects WHERE attributed_to = $1) AS objects,
               (SELECT count(*) FROM follows WHERE follower_uri = $1 OR followed_uri = $1)
                   AS follows,
               (SELECT count(*) FROM conversations
                WHERE remote_author_uri = $1 AND closed_at IS NULL) AS open_conversations
        """,
        alice,
    )
    return dict(counts[0])


async def test_suspended_remote_person__their_content_goes_and_their_create_is_refused(network):
    north, south, alice, drill, bob, _ = network
    alice_uri, bob_uri = north.url("/users/alice"), south.url("/users/bob")
    conversation = await answer_from_south(
        bob, await find_in_network_view(bob, "Cordless drill"), "Could I borrow it?"
    )
    await follows.follow(south.federation, bob_uri, "@alice@north.test")
    await follows.follow(north.federation, alice_uri, "@carol@south.test")
    await settle(north, south)
    assert await alices_things_on(south, alice_uri) == {
        "objects": 1, "follows": 2, "open_conversations": 1}  # fmt: skip

    # south's admin suspends alice
    sam = await accounts.register(south.federation.pool, south.settings, username="sam",
                                  email="sam@example.org", password=DEFAULT_PASSWORD,
                                  role="admin", by_admin=True)  # fmt: skip
    await remote_moderation.suspend(
        south.federation.pool, south.settings, sam, alice_uri, "Offers that are scams."
    )

    # what she had on south is gone; Bob's conversation with her closed, saying why
    assert await alices_things_on(south, alice_uri) == {
        "objects": 0, "follows": 0, "open_conversations": 0}  # fmt: skip
    lines = await south.query(
        "SELECT body FROM messages WHERE conversation_id = $1 AND kind = 'system'", conversation
    )
    assert ["suspended by this node's moderators" in row["body"] for row in lines] == [True]
    # north hears that she no longer follows Carol, as a Mastodon server would tell it
    await settle(north, south)
    assert await north.query("SELECT * FROM follows WHERE follower_uri = $1", alice_uri) == []

    # north, which still has Bob as her follower, delivers her next listing: south refuses it
    inbox_before = await south.query("SELECT id FROM inbox_items WHERE actor_uri = $1", alice_uri)
    await listings.create_listing(north.federation.pool, north.settings, alice, LADDER, [])
    await settle(north, south)

    refused = await north.query(
        """
        SELECT d.state, d.last_status FROM deliveries d JOIN activities a ON a.uri = d.activity_uri
        WHERE a.type = 'Create' AND a.actor_uri = $1 AND d.host = 'south.test'
          AND a.object_uri LIKE '%' || (SELECT uid FROM listings WHERE title = 'Long ladder')
        """,
        alice_uri,
    )
    assert [tuple(row) for row in refused] == [("failed", 403)]
    assert await south.query("SELECT id FROM inbox_items WHERE actor_uri = $1", alice_uri) == (
        inbox_before
    )
    # the neighbourhood's Announce of it arrives, but keeps nothing of hers
    assert await alices_things_on(south, alice_uri) == {
        "objects": 0, "follows": 0, "open_conversations": 0}  # fmt: skip
