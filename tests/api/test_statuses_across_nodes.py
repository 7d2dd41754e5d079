"""Statuses across two real nodes: an #offer posted by an app on north is a listing on south;
a direct status from south's resident answers it on north; a favourite goes as a Like (and
its Undo); deleting the status deletes the listing on south too."""

from __future__ import annotations

import json

import pytest

from commonsfed.db import accounts as accounts_q
from commonsfed.services import follows, listings, matching
from tests.api.helpers import DRILL, posted, resident
from tests.api.schema import check
from tests.nodes import settle


@pytest.fixture
async def network(start_nodes):
    """north and south, south's neighbourhood following north's; alice on north and bob on
    south, each with a token."""
    north, south = await start_nodes(2)
    await follows.federate(south.federation, "north.test")
    await settle(north, south)
    alice = await resident(north.app, "alice")
    bob = await resident(south.app, "bob")
    return north, south, alice, bob


async def on_south(north, south, alice) -> tuple[dict, str]:
    """alice's drill, posted on north through the API, as south's status id."""
    listing = await posted(north.client, alice, DRILL)
    await settle(north, south)
    [row] = await south.query("SELECT status_id, is_listing FROM remote_objects WHERE uri = $1",
                              listing["uri"])  # fmt: skip
    assert row["is_listing"]
    return listing, str(row["status_id"])


async def test_offer__posted_on_north_is_a_listing_on_south(network):
    north, south, alice, bob = network
    listing, south_id = await on_south(north, south, alice)
    response = await south.client.get(f"/api/v1/statuses/{south_id}", headers=bob)
    body = await response.json()
    check("Status", body)
    assert body["uri"] == listing["uri"]
    assert "Cordless drill" in body["content"]
    assert body["account"]["acct"] == "alice@north.test"
    assert [tag["name"] for tag in body["tags"]] == ["tools"]


async def test_answer__a_direct_status_from_south_answers_the_listing_on_north(network):
    north, south, alice, bob = network
    listing, south_id = await on_south(north, south, alice)
    # When bob's app on south replies to it directly
    answer = await posted(south.client, bob, "@alice@north.test May I borrow it?",
                          in_reply_to_id=south_id, visibility="direct")  # fmt: skip
    check("Status", answer)
    assert (answer["visibility"], answer["in_reply_to_id"]) == ("direct", south_id)
    await settle(north, south)
    # Then north's alice has his answer in her listing's line
    [row] = await north.query("""
        SELECT c.respondent_actor_uri, m.body FROM conversations c
        JOIN messages m ON m.conversation_id = c.id
    """)  # fmt: skip
    assert row["respondent_actor_uri"] == "http://south.test/users/bob"
    assert row["body"] == "May I borrow it?"
    # and she sees it under her listing
    context = await (await north.client.get(f"/api/v1/statuses/{listing['id']}/context",
                                            headers=alice)).json()  # fmt: skip
    assert [s["account"]["acct"] for s in context["descendants"]] == ["bob@south.test"]


async def test_favourite__from_south_is_a_like_on_north_and_its_undo(network):
    north, south, alice, bob = network
    listing, south_id = await on_south(north, south, alice)
    # When bob favourites alice's listing on south
    response = await south.client.post(f"/api/v1/statuses/{south_id}/favourite", headers=bob)
    assert (await response.json())["favourited"] is True
    await settle(north, south)
    # Then north counts the Like and tells alice
    seen = await (await north.client.get(f"/api/v1/statuses/{listing['id']}",
                                         headers=alice)).json()  # fmt: skip
    assert seen["favourites_count"] == 1
    notes = await north.query("SELECT kind, actor_uri FROM notifications")
    assert [(n["kind"], n["actor_uri"]) for n in notes] == [
        ("favourite", "http://south.test/users/bob")
    ]
    likers = await (await north.client.get(
        f"/api/v1/statuses/{listing['id']}/favourited_by")).json()  # fmt: skip
    assert [person["acct"] for person in likers] == ["bob@south.test"]
    # and his favourites list on south has it
    mine = await (await south.client.get("/api/v1/favourites", headers=bob)).json()
    assert [s["id"] for s in mine] == [south_id]
    # When he takes it back, the Undo reaches north
    await south.client.post(f"/api/v1/statuses/{south_id}/unfavourite", headers=bob)
    await settle(north, south)
    assert await north.query("SELECT * FROM reactions WHERE kind = 'Like'") == []
    assert await north.query("SELECT * FROM notifications") == []


async def test_delete__of_the_status_on_north_deletes_the_listing_on_south(network):
    north, south, alice, bob = network
    listing, south_id = await on_south(north, south, alice)
    response = await north.client.delete(f"/api/v1/statuses/{listing['id']}", headers=alice)
    assert response.status == 200
    await settle(north, south)
    assert await south.query("SELECT * FROM remote_objects WHERE uri = $1", listing["uri"]) == []
    assert (await south.client.get(f"/api/v1/statuses/{south_id}", headers=bob)).status == 404


async def test_answer__a_reply_to_a_post_that_is_no_listing_is_422(network):
    # Given a plain Note of alice's that south keeps (a post, not a listing)
    north, south, alice, bob = network
    await on_south(north, south, alice)  # south has alice's actor cached
    note = {"id": "http://north.test/notes/1", "type": "Note",
            "attributedTo": "http://north.test/users/alice", "content": "<p>Hello</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"]}  # fmt: skip
    [row] = await south.query("""
        INSERT INTO remote_objects (uri, type, attributed_to, domain, document)
        VALUES ($1, 'Note', $2, 'north.test', $3::jsonb) RETURNING status_id
    """, note["id"], note["attributedTo"], json.dumps(note))  # fmt: skip
    # When bob replies to it directly
    response = await south.client.post(
        "/api/v1/statuses",
        headers=bob,
        json={"status": "Hi", "in_reply_to_id": str(row["status_id"]), "visibility": "direct"},
    )
    # Then it is refused: only listings and messages are answered
    assert response.status == 422
    assert "neither" in (await response.json())["error"]
    assert await south.query("SELECT * FROM conversations") == []


async def test_match__a_listing_from_north_is_a_status_notification_on_south(network):
    # Given bob on south, who asks to borrow a drill
    north, south, alice, bob = network
    [bob_account] = await south.query("SELECT id FROM accounts WHERE username = 'bob'")
    async with south.federation.pool.acquire() as conn:
        asker = await accounts_q.get_account(conn, bob_account["id"])
    await listings.create_listing(south.federation.pool, south.settings, asker, {
        "purpose": "request", "kind": "lend", "title": "A drill for the weekend",
        "category": "tools", "place": "Oak Lane", "loan_days": "2"}, [])  # fmt: skip

    # When alice's drill arrives from north and south's scheduled jobs match it
    _listing, south_id = await on_south(north, south, alice)
    assert await matching.match_arrivals(south.federation.pool, south.settings) == 1

    # Then bob's app shows it as a status alice posted
    response = await south.client.get("/api/v1/notifications", headers=bob)
    [note] = await response.json()
    check("Notification", note)
    assert (note["type"], note["account"]["acct"]) == ("status", "alice@north.test")
    assert note["status"]["id"] == south_id
