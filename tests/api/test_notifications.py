"""Notifications in the client API: answers and messages as mentions with their direct
status, decisions as updates of the listing, follows, a moderators' warning; the types
filters, dismiss and clear, pages with their Link header, the unread count, other
residents kept out, and the announcement the streaming API listens for."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from yarl import URL

from commonsfed.api.notifications import notification_json
from commonsfed.db import accounts as accounts_q
from commonsfed.db.pool import connect
from commonsfed.services import account_actions, accounts, answers, blocks, follows, moderation
from commonsfed.services.api_notifications import announced, listen
from commonsfed.web.keys import POOL, SETTINGS
from tests.api.conftest import bearer, token_for
from tests.api.scenes import (
    answer,
    listing,
    network,
    node_get,
    people,
    reply,
    status_of_listing,
    status_of_message,
)
from tests.api.schema import check
from tests.builders import log_in, register_and_login

# the handler tests' fixtures: a Federation on this test's database, with alice and bob
from tests.integration.remote import BOB, activity, fed, handle, keys, make_fed  # noqa: F401
from tests.integration.test_mentions import note as mention_note
from tests.nodes import settle

NOTIFICATIONS = "/api/v1/notifications"


async def test_notifications__an_answer_on_the_web_is_a_mention_with_its_direct_status(
    make_client,
):
    # Given alice's listing, answered by bob on the web
    alice, bob = await people(make_client, "alice", "bob")
    uid = await listing(alice, "Spare chairs")
    await answer(bob, uid, "Two, please?")
    # When alice's app reads her notifications
    body = await alice.json(NOTIFICATIONS)
    # Then the answer is a mention by bob whose status is his direct reply to her listing
    [note] = body
    check("Notification", note)
    assert (note["type"], note["account"]["username"]) == ("mention", "bob")
    assert note["status"]["id"] == str(await status_of_message(bob, "Two, please?"))
    assert note["status"]["visibility"] == "direct"
    assert note["status"]["in_reply_to_id"] == str(await status_of_listing(alice, uid))
    assert "Two, please?" in note["status"]["content"]
    # and bob, who caused it, has none
    assert await bob.json(NOTIFICATIONS) == []


async def test_notifications__a_message_in_the_conversation_is_a_mention_of_that_message(
    make_client,
):
    alice, bob = await people(make_client, "alice", "bob")
    conversation = await answer(bob, await listing(alice, "Spare chairs"), "Two, please?")
    await reply(alice, conversation, "Sure, come by at six.")

    [note] = await bob.json(NOTIFICATIONS)

    assert (note["type"], note["account"]["username"]) == ("mention", "alice")
    assert note["status"]["id"] == str(await status_of_message(alice, "Sure, come by at six."))


async def test_notifications__a_reservation_tells_the_respondent_as_an_update_of_the_listing(
    make_client,
):
    # Given bob's answer to alice's listing
    alice, bob = await people(make_client, "alice", "bob")
    uid = await listing(alice, "Spare chairs")
    conversation = await answer(bob, uid, "Two, please?")
    # When alice reserves it for him
    app = alice.browser.app
    await answers.reserve(app[POOL], app[SETTINGS], await alice.account(), conversation)
    # Then bob's app shows alice's change to the listing he answered
    [note] = await bob.json(NOTIFICATIONS)
    check("Notification", note)
    assert (note["type"], note["account"]["username"]) == ("update", "alice")
    assert note["status"]["id"] == str(await status_of_listing(alice, uid))
    assert note["status"]["visibility"] == "public"


async def test_notifications__types_exclude_types_and_account_id_filter(make_client):
    # Given answers from bob and carol, and bob withdrawing his
    alice, bob, carol = await people(make_client, "alice", "bob", "carol")
    uid = await listing(alice, "Spare chairs")
    bobs = await answer(bob, uid, "Two, please?")
    await answer(carol, uid, "One for me?")
    app = bob.browser.app
    await answers.withdraw(app[POOL], app[SETTINGS], await bob.account(), bobs)
    bob_id = (await bob.account()).id

    def kinds(body):
        return [(note["type"], note["account"]["username"]) for note in body]

    # When alice's app asks for some of her notifications only
    everything = await alice.json(NOTIFICATIONS)
    mentions = await alice.json(NOTIFICATIONS, params={"types[]": "mention"})
    no_mentions = await alice.json(NOTIFICATIONS, params={"exclude_types[]": "mention"})
    both = await alice.json(NOTIFICATIONS, params=[("types[]", "update"),
                                                   ("types[]", "mention")])  # fmt: skip
    by_bob = await alice.json(NOTIFICATIONS, params={"account_id": str(bob_id)})
    unknown = await alice.json(NOTIFICATIONS, params={"types[]": "poll"})
    # Then each filter keeps what it names, newest first
    assert kinds(everything) == [("update", "bob"), ("mention", "carol"), ("mention", "bob")]
    assert kinds(mentions) == [("mention", "carol"), ("mention", "bob")]
    assert kinds(no_mentions) == [("update", "bob")]
    assert kinds(both) == kinds(everything)
    assert kinds(by_bob) == [("update", "bob"), ("mention", "bob")]
    assert unknown == []


async def test_notifications__dismiss_one_then_clear_all(make_client):
    # Given three notifications for alice
    alice, bob = await people(make_client, "alice", "bob")
    conversation = await answer(bob, await listing(alice, "Spare chairs"), "Two, please?")
    await reply(bob, conversation, "Or three.")
    await reply(bob, conversation, "Or four!")
    first, second, third = [note["id"] for note in await alice.json(NOTIFICATIONS)]
    # When her app dismisses one, by either of Mastodon's two ways
    dismissed = await alice.post(f"{NOTIFICATIONS}/{second}/dismiss")
    legacy = await alice.post(f"{NOTIFICATIONS}/dismiss", data={"id": third})
    # Then they are gone from the app, and one asked again is not found
    assert (dismissed.status, await dismissed.json()) == (200, {})
    assert legacy.status == 200
    assert [note["id"] for note in await alice.json(NOTIFICATIONS)] == [first]
    assert (await alice.get(f"{NOTIFICATIONS}/{second}")).status == 404
    assert (await alice.post(f"{NOTIFICATIONS}/{second}/dismiss")).status == 404
    # but the web page still lists all three: it is her full record
    page = await (await alice.browser.get("/notifications")).text()
    assert page.count("@bob") == 3
    # When the app clears the rest
    cleared = await alice.post(f"{NOTIFICATIONS}/clear")
    # Then none is left for apps
    assert (cleared.status, await cleared.json()) == (200, {})
    assert await alice.json(NOTIFICATIONS) == []


async def test_notifications__pages_follow_the_link_header(make_client):
    # Given five notifications for alice
    alice, bob = await people(make_client, "alice", "bob")
    conversation = await answer(bob, await listing(alice, "Spare chairs"), "Message 1")
    for number in range(2, 6):
        await reply(bob, conversation, f"Message {number}")
    # When her app reads them two at a time, following the Link header
    response = await alice.get(NOTIFICATIONS, params={"limit": "2"})
    pages, seen = [], []
    while True:
        body = await response.json()
        if not body:
            break
        pages.append([note["status"]["content"] for note in body])
        seen.append(response.links)
        response = await alice.get(URL(str(response.links["next"]["url"])).path_qs)
    # Then the pages are the newest first, without gaps or repeats
    assert [[c.count("Message") for c in page] for page in pages] == [[1, 1], [1, 1], [1]]
    flat = [content for page in pages for content in page]
    assert [next(f"Message {n}" for n in range(1, 6) if f"Message {n}<" in c) for c in flat] == [
        "Message 5", "Message 4", "Message 3", "Message 2", "Message 1"]  # fmt: skip
    # and the "prev" link of the second page leads back to the two newer ones
    prev = URL(str(seen[1]["prev"]["url"]))
    assert prev.query["limit"] == "2" and "min_id" in prev.query
    newer = await alice.json(prev.path_qs)
    assert ["Message 5<" in n["status"]["content"] or "Message 4<" in n["status"]["content"]
            for n in newer] == [True, True]  # fmt: skip
    assert str(URL(str(seen[0]["next"]["url"])).origin()) == "http://localhost"


async def test_notifications__another_residents_are_not_found(make_client):
    # Given a notification of alice's
    alice, bob, carol = await people(make_client, "alice", "bob", "carol")
    await answer(bob, await listing(alice, "Spare chairs"), "Two, please?")
    [note] = await alice.json(NOTIFICATIONS)
    # When carol's app asks for it, or dismisses it
    read = await carol.get(f"{NOTIFICATIONS}/{note['id']}")
    dismissed = await carol.post(f"{NOTIFICATIONS}/{note['id']}/dismiss")
    # Then it does not exist for her, and alice still has it
    assert (read.status, dismissed.status) == (404, 404)
    assert (await alice.get(f"{NOTIFICATIONS}/{note['id']}")).status == 200
    assert await carol.json(NOTIFICATIONS) == []


async def test_notifications__need_the_notifications_scopes(make_client):
    (alice,) = await people(make_client, "alice")
    app = alice.browser.app
    reading = await token_for(app, "alice", scopes="read:statuses write:notifications")
    writing = await token_for(app, "alice", scopes="read:notifications")

    listed = await alice.browser.get(NOTIFICATIONS, headers={"Authorization": f"Bearer {reading}"})
    cleared = await alice.browser.post(f"{NOTIFICATIONS}/clear",
                                       headers={"Authorization": f"Bearer {writing}"})  # fmt: skip
    granular = await alice.browser.get(NOTIFICATIONS,
                                       headers={"Authorization": f"Bearer {writing}"})  # fmt: skip
    anonymous = await alice.browser.get(NOTIFICATIONS)

    assert (listed.status, cleared.status, granular.status) == (403, 403, 200)
    assert anonymous.status == 401


async def test_unread_count__counts_what_the_web_page_has_not_shown(make_client):
    alice, bob = await people(make_client, "alice", "bob")
    conversation = await answer(bob, await listing(alice, "Spare chairs"), "Two, please?")
    await reply(bob, conversation, "Or three.")

    before = await alice.json(f"{NOTIFICATIONS}/unread_count")
    capped = await alice.json(f"{NOTIFICATIONS}/unread_count", params={"limit": "1"})
    await alice.browser.get("/notifications")  # the web page marks them read
    after = await alice.json(f"{NOTIFICATIONS}/unread_count")

    assert (before, capped, after) == ({"count": 2}, {"count": 1}, {"count": 0})


async def test_notifications__a_moderators_warning_is_an_account_warning(make_client):
    # Given a moderator who warns alice
    alice, mod = await people(make_client, "alice", "mod")
    app = alice.browser.app
    moderator = await accounts.set_role(app[POOL], "mod", "moderator")
    await account_actions.act(app[POOL], app[SETTINGS], moderator, "alice", "warn",
                              "Please describe what you offer.")  # fmt: skip
    # When alice's app reads her notifications
    [note] = await alice.json(NOTIFICATIONS)
    # Then the warning is Mastodon's, about her own account, with the moderators' words
    check("Notification", note)
    assert note["type"] == "moderation_warning" and "status" not in note
    warning = note["moderation_warning"]
    assert (warning["action"], warning["text"]) == ("none", "Please describe what you offer.")
    assert warning["target_account"]["username"] == "alice"
    assert note["account"]["username"] == "alice"


async def test_notifications__a_removed_listing_is_a_warning_that_statuses_were_deleted(
    make_client,
):
    alice, mod = await people(make_client, "alice", "mod")
    uid = await listing(alice, "Spare chairs")
    app = alice.browser.app
    moderator = await accounts.set_role(app[POOL], "mod", "moderator")
    await moderation.remove_listing(app[POOL], app[SETTINGS], moderator, uid, "Not an offer.")

    [note] = await alice.json(NOTIFICATIONS)

    check("Notification", note)
    assert note["type"] == "moderation_warning"
    warning = note["moderation_warning"]
    assert (warning["action"], warning["text"]) == ("delete_statuses", "Not an offer.")


async def test_notifications__a_note_from_the_fediverse_is_a_mention_with_that_note(
    fed,  # noqa: F811  (the handler tests' fixture, imported above)
    make_client,
):
    # Given alice (on http://localhost), mentioned by bob@south.example in a public Note
    sent = mention_note(BOB, 1, "Could you lend me your ladder?")
    assert await handle(fed, activity("Create", BOB, sent)) == "done"
    client = await make_client()
    token = await token_for(client.app, "alice")
    # When her app reads her notifications
    response = await client.get(NOTIFICATIONS, headers=bearer(token))
    # Then the mention is bob's, with his Note as its status
    [note] = await response.json()
    check("Notification", note)
    assert (note["type"], note["account"]["acct"]) == ("mention", "bob@south.example")
    assert note["status"]["uri"] == sent["id"]
    assert "Could you lend me your ladder?" in note["status"]["content"]


async def test_notifications__each_new_one_is_announced_for_the_streaming_api(make_client):
    # Given a connection listening for new notifications
    alice, bob = await people(make_client, "alice", "bob")
    uid = await listing(alice, "Spare chairs")
    heard: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    conn = await connect(alice.browser.app[SETTINGS].database_url)
    stop = await listen(conn, lambda *ids: heard.put_nowait(ids))
    try:
        # When bob answers alice's listing
        await answer(bob, uid, "Two, please?")
        ids = await asyncio.wait_for(heard.get(), timeout=10)
        # Then it hears alice's id and the notification's, which renders as her app reads it
        [note] = await alice.json(NOTIFICATIONS)
        assert ids == ((await alice.account()).id, int(note["id"]))
        async with alice.browser.app[POOL].acquire() as reading:
            rendered = await notification_json(reading, alice.browser.app[SETTINGS],
                                               await alice.account(), ids[1])  # fmt: skip
        assert rendered == note
        await stop()
    finally:
        await conn.close()


def test_announced__reads_the_payload_the_trigger_sends():
    assert announced('{"id": 7, "account_id": 3}') == (3, 7)


# --- across nodes ----------------------------------------------------------------------------


async def test_notifications__a_follow_and_an_answer_from_another_node(start_nodes):
    # Given alice on north, with a listing; bob on south
    net = await network(start_nodes)
    north, south = net.north, net.south
    token = await token_for(north.app, "alice")
    # When bob follows her, then answers her listing from south
    await follows.follow(south.federation, south.url("/users/bob"), "@alice@north.test")
    await settle(north, south)
    await answers.answer_remote(south.federation, net.bob, north.url(f"/listings/{net.uid}"),
                                "Could I borrow it on Saturday?")  # fmt: skip
    await settle(north, south)
    # Then her app shows both, from bob@south.test: his follow, and his answer as a mention
    # whose status is his direct message
    _, body = await node_get(north, token, NOTIFICATIONS)
    for note in body:
        check("Notification", note)
    assert [(note["type"], note["account"]["acct"]) for note in body] == [
        ("mention", "bob@south.test"), ("follow", "bob@south.test")]  # fmt: skip
    assert "status" not in body[1]
    assert "Could I borrow it on Saturday?" in body[0]["status"]["content"]
    assert body[0]["status"]["visibility"] == "direct"
    # and the web page names the follower too
    await log_in(north.client, "alice")
    page = await (await north.client.get("/notifications")).text()
    assert "@bob@south.test followed you." in page
    # When alice reserves her drill for bob
    [row] = await north.query("SELECT id FROM conversations")
    await answers.reserve(north.federation.pool, north.settings, net.alice, row["id"])
    await settle(north, south)
    # Then bob's app on south shows her change to the listing he answered
    _, for_bob = await node_get(south, await token_for(south.app, "bob"), NOTIFICATIONS)
    [decision] = [note for note in for_bob if note["type"] == "update"]
    check("Notification", decision)
    assert decision["account"]["acct"] == "alice@north.test"
    assert decision["status"]["uri"] == north.url(f"/listings/{net.uid}")
    # When bob unfollows her, the follow's notification goes with it (as on Mastodon)
    await follows.unfollow(south.federation, south.url("/users/bob"), north.url("/users/alice"))
    await settle(north, south)
    _, body = await node_get(north, token, NOTIFICATIONS)
    assert [note["type"] for note in body] == ["mention"]


async def test_notifications__a_follow_request_until_it_is_approved(start_nodes):
    # Given alice on north, who approves her followers
    net = await network(start_nodes)
    north, south = net.north, net.south
    await north.query("UPDATE accounts SET manually_approves_followers = true")
    token = await token_for(north.app, "alice")
    # When bob asks to follow her
    await follows.follow(south.federation, south.url("/users/bob"), "@alice@north.test")
    await settle(north, south)
    # Then her app shows his request
    _, body = await node_get(north, token, NOTIFICATIONS)
    assert [(note["type"], note["account"]["acct"]) for note in body] == [
        ("follow_request", "bob@south.test")]  # fmt: skip
    check("Notification", body[0])
    # and once she approves it, the request is answered and its notification gone
    await follows.approve_follower(north.federation, north.url("/users/alice"),
                                   south.url("/users/bob"))  # fmt: skip
    _, body = await node_get(north, token, NOTIFICATIONS)
    assert body == []


# --- the grouped API (v2) ----------------------------------------------------------------------


async def test_grouped_notifications__each_notification_is_its_own_group(make_client):
    # Given an answer and a message from bob to alice
    alice, bob = await people(make_client, "alice", "bob")
    conversation = await answer(bob, await listing(alice, "Spare chairs"), "Two, please?")
    await reply(bob, conversation, "Or three.")
    # When her app reads them through the grouped API, one group a page
    response = await alice.get("/api/v2/notifications", params={"limit": "1"})
    first = await response.json()
    older = await alice.json(URL(str(response.links["next"]["url"])).path_qs)
    # Then each page holds one group, with its account and status listed beside it
    for page in (first, older):
        check("GroupedNotificationsResults", page)
        [group] = page["notification_groups"]
        assert (group["type"], group["notifications_count"]) == ("mention", 1)
        assert [status["id"] for status in page["statuses"]] == [group["status_id"]]
        assert [person["id"] for person in page["accounts"]] == group["sample_account_ids"]
    [newest], [oldest] = first["notification_groups"], older["notification_groups"]
    assert newest["status_id"] == str(await status_of_message(bob, "Or three."))
    assert oldest["status_id"] == str(await status_of_message(bob, "Two, please?"))
    # and a group is read, listed by account, and dismissed by its key
    key = newest["group_key"]
    one = await alice.json(f"/api/v2/notifications/{key}")
    assert one["notification_groups"] == first["notification_groups"]
    assert [a["username"] for a in await alice.json(f"/api/v2/notifications/{key}/accounts")] == [
        "bob"
    ]
    assert (await alice.post(f"/api/v2/notifications/{key}/dismiss")).status == 200
    assert (await alice.get(f"/api/v2/notifications/{key}")).status == 404
    remaining = await alice.json("/api/v2/notifications")
    assert [g["group_key"] for g in remaining["notification_groups"]] == [oldest["group_key"]]
    assert await alice.json("/api/v2/notifications/unread_count") == {"count": 1}
    # nobody else's group is found
    (carol,) = await people(make_client, "carol")
    assert (await carol.get(f"/api/v2/notifications/{oldest['group_key']}")).status == 404


async def test_notifications_table__a_follow_names_its_follower_and_others_keep_their_rules(
    client,
):
    # migration 0029 rebuilt notifications_about_something from what it said, plus the actor
    pool = client.app[POOL]
    await register_and_login(client, "alice")
    alice_id = await pool.fetchval("SELECT id FROM accounts WHERE username = 'alice'")
    insert = "INSERT INTO notifications (account_id, kind, actor_uri) VALUES ($1, $2, $3)"

    await pool.execute(insert, alice_id, "follow", "https://south.example/users/bob")
    for kind, actor in (("follow", None), ("follow_request", None), ("new_answer", None)):
        with pytest.raises(asyncpg.CheckViolationError):
            await pool.execute(insert, alice_id, kind, actor)
    definition = await pool.fetchval(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conname = 'notifications_about_something'"
    )
    assert "warning_id IS NOT NULL" in definition and "actor_uri IS NOT NULL" in definition


async def test_notifications__a_follow_from_the_fediverse_once_and_gone_with_a_block(
    fed,  # noqa: F811  (the handler tests' fixture, imported above)
    make_client,
):
    # Given bob@south.example following alice, and his server sending the Follow again
    # (Mastodon does, to repair a follow it thinks lost)
    follow = activity("Follow", BOB, "http://localhost/users/alice")
    assert await handle(fed, follow) == "done"
    assert await handle(fed, follow) == "done"
    client = await make_client()
    alice = await client.app[POOL].fetchrow("SELECT * FROM accounts WHERE username = 'alice'")
    token = await token_for(client.app, "alice")
    # When her app reads her notifications, there is one follow, by him
    response = await client.get(NOTIFICATIONS, headers=bearer(token))
    assert [(n["type"], n["account"]["acct"]) for n in await response.json()] == [
        ("follow", "bob@south.example")
    ]
    # When she blocks him, the follow ends and its notification goes with it
    async with client.app[POOL].acquire() as conn:
        account = await accounts_q.get_by_username(conn, alice["username"])
    await blocks.block(fed, account, BOB)
    response = await client.get(NOTIFICATIONS, headers=bearer(token))
    assert await response.json() == []
