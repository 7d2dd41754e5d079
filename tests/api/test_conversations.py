"""Conversations in the client API: a resident's answer conversations, as the listing's
author and as the respondent, here and across nodes; read, hidden until the next message,
paged by last activity, and nobody else's business."""

from __future__ import annotations

from yarl import URL

from commonsfed.services import answers
from tests.api.conftest import token_for
from tests.api.scenes import (
    answer,
    listing,
    network,
    node_get,
    people,
    reply,
    status_of_message,
)
from tests.api.schema import check
from tests.nodes import settle

CONVERSATIONS = "/api/v1/conversations"


async def test_conversations__both_sides_see_the_answer_with_the_other_and_the_last_message(
    make_client,
):
    # Given bob's answer to alice's listing, and her reply
    alice, bob = await people(make_client, "alice", "bob")
    conversation = await answer(bob, await listing(alice, "Spare chairs"), "Two, please?")
    await reply(alice, conversation, "Sure, come by at six.")
    last = str(await status_of_message(alice, "Sure, come by at six."))
    # When each of their apps lists their conversations
    [for_alice] = await alice.json(CONVERSATIONS)
    [for_bob] = await bob.json(CONVERSATIONS)
    # Then each sees the one conversation, with the other side and the last message
    for seen in (for_alice, for_bob):
        check("Conversation", seen)
        assert seen["id"] == str(conversation)
        assert seen["last_status"]["id"] == last
        assert seen["last_status"]["visibility"] == "direct"
    assert [a["username"] for a in for_alice["accounts"]] == ["bob"]
    assert [a["username"] for a in for_bob["accounts"]] == ["alice"]
    # alice has read nothing of bob's yet; bob has alice's reply unread
    assert (for_alice["unread"], for_bob["unread"]) == (True, True)


async def test_conversations__read_marks_it_and_its_notifications_read(make_client):
    alice, bob = await people(make_client, "alice", "bob")
    conversation = await answer(bob, await listing(alice, "Spare chairs"), "Two, please?")

    response = await alice.post(f"{CONVERSATIONS}/{conversation}/read")

    assert response.status == 200
    body = await response.json()
    check("Conversation", body)
    assert body["unread"] is False
    assert [c["unread"] for c in await alice.json(CONVERSATIONS)] == [False]
    assert await alice.json("/api/v1/notifications/unread_count") == {"count": 0}


async def test_conversations__delete_hides_it_until_the_next_message(make_client):
    # Given bob's answer to alice's listing
    alice, bob = await people(make_client, "alice", "bob")
    conversation = await answer(bob, await listing(alice, "Spare chairs"), "Two, please?")
    # When alice's app deletes the conversation
    response = await alice.delete(f"{CONVERSATIONS}/{conversation}")
    # Then it is off her list, and only hers
    assert (response.status, await response.json()) == (200, {})
    assert await alice.json(CONVERSATIONS) == []
    assert len(await bob.json(CONVERSATIONS)) == 1
    assert (await alice.browser.get(f"/conversations/{conversation}")).status == 200
    # When bob writes again, it is back, with his new message
    await reply(bob, conversation, "Or three?")
    [back] = await alice.json(CONVERSATIONS)
    assert back["last_status"]["id"] == str(await status_of_message(bob, "Or three?"))


async def test_conversations__of_others_are_not_found(make_client):
    alice, bob, carol = await people(make_client, "alice", "bob", "carol")
    conversation = await answer(bob, await listing(alice, "Spare chairs"), "Two, please?")

    read = await carol.post(f"{CONVERSATIONS}/{conversation}/read")
    deleted = await carol.delete(f"{CONVERSATIONS}/{conversation}")
    unknown = await alice.post(f"{CONVERSATIONS}/99999/read")

    assert (read.status, deleted.status, unknown.status) == (404, 404, 404)
    assert await carol.json(CONVERSATIONS) == []
    assert [c["unread"] for c in await alice.json(CONVERSATIONS)] == [True]


async def test_conversations__are_paged_by_last_activity_with_the_link_header(make_client):
    # Given three answers to alice's listings, the oldest then written in again
    alice, bob, carol, dave = await people(make_client, "alice", "bob", "carol", "dave")
    uid = await listing(alice, "Spare chairs")
    bobs = await answer(bob, uid, "From bob")
    carols = await answer(carol, uid, "From carol")
    daves = await answer(dave, uid, "From dave")
    await reply(bob, bobs, "Bob again")
    # When her app reads them two at a time, following the Link header
    response = await alice.get(CONVERSATIONS, params={"limit": "2"})
    first = await response.json()
    response = await alice.get(URL(str(response.links["next"]["url"])).path_qs)
    second = await response.json()
    after = await alice.get(URL(str(response.links["next"]["url"])).path_qs)
    # Then bob's comes first again, and the rest follow without gaps or repeats
    order = [int(c["id"]) for c in first + second]
    assert order == [bobs, daves, carols]
    assert await after.json() == []
    # and a page "since" the last one she saw holds only what is newer
    since = await alice.json(CONVERSATIONS, params={"since_id": first[1]["last_status"]["id"]})
    assert [int(c["id"]) for c in since] == [bobs]


async def test_conversations__need_their_scopes(make_client):
    alice, bob = await people(make_client, "alice", "bob")
    conversation = await answer(bob, await listing(alice, "Spare chairs"), "Two, please?")
    reading = await token_for(alice.browser.app, "alice", scopes="read:statuses")

    listed = await alice.browser.get(CONVERSATIONS, headers={"Authorization": f"Bearer {reading}"})
    refused = await alice.browser.post(f"{CONVERSATIONS}/{conversation}/read",
                                       headers={"Authorization": f"Bearer {reading}"})  # fmt: skip

    assert (listed.status, refused.status) == (200, 403)


async def test_conversations__an_answer_across_nodes_on_both_sides(start_nodes):
    # Given bob on south, who answers alice's listing on north
    net = await network(start_nodes)
    north, south = net.north, net.south
    await answers.answer_remote(south.federation, net.bob, north.url(f"/listings/{net.uid}"),
                                "Could I borrow it on Saturday?")  # fmt: skip
    await settle(north, south)
    # When each of their apps lists their conversations
    _, on_north = await node_get(north, await token_for(north.app, "alice"), CONVERSATIONS)
    _, on_south = await node_get(south, await token_for(south.app, "bob"), CONVERSATIONS)
    # Then alice sees bob@south.test and his message; bob sees alice@north.test and his own
    [for_alice], [for_bob] = on_north, on_south
    check("Conversation", for_alice)
    check("Conversation", for_bob)
    assert [a["acct"] for a in for_alice["accounts"]] == ["bob@south.test"]
    assert [a["acct"] for a in for_bob["accounts"]] == ["alice@north.test"]
    for seen in (for_alice, for_bob):
        assert "Could I borrow it on Saturday?" in seen["last_status"]["content"]
    assert (for_alice["unread"], for_bob["unread"]) == (True, False)
