"""The streaming API over a real WebSocket: new listings arrive within a second, each stream
gets only its own, the user stream is the home timeline, tokens are checked before the
upgrade, a socket that falls behind is dropped, and events cross from one process to
another through PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import WSMsgType

from commonsfed.api.streaming import HUB
from commonsfed.services import accounts, api_notifications, listings, streaming
from commonsfed.services.streaming import Event
from commonsfed.web.keys import POOL, SETTINGS
from tests.api.conftest import bearer, token_for
from tests.api.schema import check
from tests.api.test_timelines import post
from tests.builders import post_form, register, register_and_login

STREAM = "/api/v1/streaming"


async def next_event(ws, within: float = 1.0) -> dict:
    """The next message on `ws`, which must come within `within` seconds."""
    message = await asyncio.wait_for(ws.receive(), within)
    assert message.type == WSMsgType.TEXT, message
    return json.loads(message.data)


def status_of(event: dict) -> dict:
    assert event["event"] == "update"
    status = json.loads(event["payload"])
    check("Status", status)
    return status


async def test_public_local__a_new_listing_arrives_within_a_second(client):
    # Given an app listening to this neighbourhood's stream
    await register(client, "alice")
    async with client.ws_connect(f"{STREAM}?stream=public:local") as ws:
        # When alice posts a listing
        status_id = await post(client.app, "alice", "Garden shears", "tools")
        # Then it arrives over the socket within a second, as Mastodon sends it
        event = await next_event(ws, 1.0)
        assert event["stream"] == ["public:local"]
        status = status_of(event)
        assert status["id"] == str(status_id)
        assert "Garden shears" in status["content"]


async def test_hashtag__a_stream_gets_only_its_tag(client):
    await register(client, "alice")
    async with client.ws_connect(f"{STREAM}?stream=hashtag&tag=tools") as ws:
        await post(client.app, "alice", "Apple pie", "food")
        tools = await post(client.app, "alice", "Garden shears", "tools")
        event = await next_event(ws)
        assert event["stream"] == ["hashtag", "tools"]
        assert status_of(event)["id"] == str(tools)


async def test_user__the_home_timeline_live_with_a_token(client):
    # Given alice, who follows carol and not dave, listening to her user stream
    for name in ("alice", "carol", "dave"):
        await register(client, name)
    await client.app[POOL].execute(
        "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, 'accepted')",
        "http://localhost/users/alice", "http://localhost/users/carol",
    )  # fmt: skip
    token = await token_for(client.app, "alice", scopes="read")
    async with client.ws_connect(f"{STREAM}?stream=user", headers=bearer(token)) as ws:
        # When dave posts, then carol
        await post(client.app, "dave", "Bike pump")
        carols = await post(client.app, "carol", "Rhubarb jam")
        # Then only carol's arrives
        event = await next_event(ws)
        assert event["stream"] == ["user"]
        assert status_of(event)["id"] == str(carols)


async def test_user__the_token_may_come_as_the_websocket_protocol(client):
    await register(client, "alice")
    token = await token_for(client.app, "alice")
    async with client.ws_connect(f"{STREAM}?stream=user", protocols=(token,)) as ws:
        assert ws.protocol == token  # browsers close a socket whose protocol is not echoed
        mine = await post(client.app, "alice", "Sourdough starter")
        assert status_of(await next_event(ws))["id"] == str(mine)


async def test_user__needs_a_token(client):
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(f"{STREAM}?stream=user")
    assert refused.value.status == 401


async def test_bad_token__is_refused_before_the_upgrade(client, alice_token):
    for kwargs in (
        {"headers": bearer(alice_token + "x")},
        {"params": {"access_token": alice_token + "x"}},
        {"protocols": (alice_token + "x",)},
    ):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(f"{STREAM}?stream=public", **kwargs)
        assert refused.value.status == 401, kwargs


async def test_unknown_stream__is_400(client):
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(f"{STREAM}?stream=everything")
    assert refused.value.status == 400


async def test_subscribe_and_unsubscribe__on_the_open_socket(client):
    await register(client, "alice")
    async with client.ws_connect(STREAM) as ws:
        # subscribed to the tools and the food hashtags
        await ws.send_json({"type": "subscribe", "stream": "hashtag", "tag": "tools"})
        await ws.send_json({"type": "subscribe", "stream": "hashtag", "tag": "food"})
        # (the answer to a bad message proves the server has read those before it)
        await ws.send_json({"type": "subscribe", "stream": "nonsense"})
        assert (await next_event(ws))["status"] == 400
        shears = await post(client.app, "alice", "Garden shears", "tools")
        event = await next_event(ws)
        assert (event["stream"], status_of(event)["id"]) == (["hashtag", "tools"], str(shears))
        # When it unsubscribes from tools
        await ws.send_json({"type": "unsubscribe", "stream": "hashtag", "tag": "tools"})
        await ws.send_json({"type": "subscribe", "stream": "nonsense"})
        assert (await next_event(ws))["status"] == 400
        await post(client.app, "alice", "Hedge trimmer", "tools")
        pie = await post(client.app, "alice", "Apple pie", "food")
        # Then the next event is the food listing: the tools one never came
        event = await next_event(ws)
        assert (event["stream"], status_of(event)["id"]) == (["hashtag", "food"], str(pie))


async def test_delete__a_removed_listing_is_a_delete_event(client):
    await register(client, "alice")
    status_id = await post(client.app, "alice", "Garden shears")
    pool = client.app[POOL]
    uid = await pool.fetchval("SELECT uid FROM listings WHERE status_id = $1", status_id)
    async with client.ws_connect(f"{STREAM}?stream=public") as ws:
        author = await accounts.get_by_username(pool, "alice")
        await listings.remove_listing(pool, client.app[SETTINGS], author, uid)
        event = await next_event(ws)
        assert event == {"stream": ["public"], "event": "delete", "payload": str(status_id)}


async def test_status_update__an_edited_listing_is_a_status_update_event(client):
    # Given an app listening to the public stream, and alice's listing
    await register(client, "alice")
    status_id = await post(client.app, "alice", "Garden shears")
    pool = client.app[POOL]
    uid = await pool.fetchval("SELECT uid FROM listings WHERE status_id = $1", status_id)
    async with client.ws_connect(f"{STREAM}?stream=public") as ws:
        # When she edits its title
        author = await accounts.get_by_username(pool, "alice")
        listing = await listings.get_listing(pool, uid)
        form = {"title": "Sharp garden shears", "description": listing.description,
                "category": listing.category, "place": listing.place}  # fmt: skip
        await listings.update_listing(pool, client.app[SETTINGS], author, uid, form, [])

        # Then the socket gets the edited status, as Mastodon's status.update
        event = await next_event(ws)
        assert (event["stream"], event["event"]) == (["public"], "status.update")
        status = json.loads(event["payload"])
        check("Status", status)
        assert status["id"] == str(status_id) and "Sharp garden shears" in status["content"]
        assert status["edited_at"] is not None


async def test_blocks__a_muted_authors_listing_never_reaches_the_socket(client):
    for name in ("alice", "carol", "dave"):
        await register(client, name)
    pool = client.app[POOL]
    await pool.execute(
        "INSERT INTO resident_blocks (account_id, target_account_id, kind) "
        "SELECT a.id, c.id, 'mute' FROM accounts a, accounts c "
        "WHERE a.username = 'alice' AND c.username = 'carol'"
    )
    token = await token_for(client.app, "alice")
    async with client.ws_connect(f"{STREAM}?stream=public", headers=bearer(token)) as ws:
        await post(client.app, "carol", "Rhubarb jam")
        daves = await post(client.app, "dave", "Bike pump")
        assert status_of(await next_event(ws))["id"] == str(daves)


async def test_another_process__hears_what_one_process_stored(make_client):
    # Given two serve processes of one node (two apps on one database), a socket on the second
    first, second = await make_client(), await make_client()
    await register(first, "alice")
    async with second.ws_connect(f"{STREAM}?stream=public:local") as ws:
        # When a listing is made through the first
        status_id = await post(first.app, "alice", "Garden shears")
        # Then the second's socket hears of it
        assert status_of(await next_event(ws))["id"] == str(status_id)


async def test_slow_socket__is_closed_and_the_others_carry_on(client, monkeypatch):
    await register(client, "alice")
    monkeypatch.setattr(streaming, "QUEUE_SIZE", 3)
    async with (
        client.ws_connect(f"{STREAM}?stream=public") as slow,
        client.ws_connect(f"{STREAM}?stream=public:local") as other,
    ):
        # When more events come at once than the first socket's queue holds (the hub hands
        # them over in one go, so its sender cannot have taken any)
        hub = client.app[HUB]
        [slow_one] = [s for s in hub.subscribers if ("public", "") in s.streams]
        for number in range(5):
            slow_one.offer(Event("delete", number, "local"))
        # Then it is closed with "try again later"
        message = await asyncio.wait_for(slow.receive(), 1.0)
        while message.type == WSMsgType.TEXT:  # what it had queued before the close
            message = await asyncio.wait_for(slow.receive(), 1.0)
        assert message.type == WSMsgType.CLOSE
        assert message.data == 1013
        # and the other socket still gets what comes
        status_id = await post(client.app, "alice", "Garden shears")
        assert status_of(await next_event(other))["id"] == str(status_id)


async def test_shutdown__closes_the_sockets_cleanly(client):
    ws = await client.ws_connect(f"{STREAM}?stream=public")
    await client.server.close()
    message = await asyncio.wait_for(ws.receive(), 2.0)
    assert (message.type, message.data) == (WSMsgType.CLOSE, 1001)
    await ws.close()


async def test_health__is_ok(client):
    response = await client.get(f"{STREAM}/health")
    assert (response.status, await response.text()) == (200, "OK")


async def test_event_stream__the_older_server_sent_events_path(client):
    await register(client, "alice")
    response = await client.get(f"{STREAM}/hashtag/local", params={"tag": "tools"})
    assert response.status == 200
    assert response.content_type == "text/event-stream"
    await post(client.app, "alice", "Apple pie", "food")
    shears = await post(client.app, "alice", "Garden shears", "tools")
    # (Mastodon's streaming server opens with a comment too, which clients skip)
    assert await asyncio.wait_for(response.content.readline(), 1.0) == b":)\n"
    assert await asyncio.wait_for(response.content.readline(), 1.0) == b"\n"
    event = await asyncio.wait_for(response.content.readline(), 1.0)
    data = await asyncio.wait_for(response.content.readline(), 1.0)
    assert event == b"event: update\n"
    status = json.loads(data.removeprefix(b"data: "))
    check("Status", status)
    assert status["id"] == str(shears)
    response.close()


async def test_event_stream__user_needs_a_token(client):
    response = await client.get(f"{STREAM}/user")
    assert response.status == 401


async def test_notification__reaches_only_its_residents_user_stream(client):
    # Given alice listening to her user stream, and carol, who follows bob, then alice
    for name in ("alice", "bob", "carol"):
        await register(client, name)
    token = await token_for(client.app, "alice")
    async with client.ws_connect(f"{STREAM}?stream=user", headers=bearer(token)) as ws:
        for followed in ("bob", "alice"):
            async with client.app[POOL].acquire() as conn, conn.transaction():
                await api_notifications.follow_received(
                    conn, followed, "http://localhost/users/carol", pending=False
                )
        # Then alice's socket hears of hers alone, as Mastodon sends it
        event = await next_event(ws)
        assert (event["stream"], event["event"]) == (["user"], "notification")
        notification = json.loads(event["payload"])
        check("Notification", notification)
        assert (notification["type"], notification["account"]["username"]) == ("follow", "carol")


async def test_direct__a_message_is_a_conversation_event(make_client):
    # Given alice's listing and her direct stream
    alice, bob = await make_client(), await make_client()
    await register_and_login(alice, "alice")
    await register_and_login(bob, "bob")
    await post(alice.app, "alice", "Garden shears")
    uid = await alice.app[POOL].fetchval("SELECT uid FROM listings")
    token = await token_for(alice.app, "alice")
    async with alice.ws_connect(f"{STREAM}?stream=direct", headers=bearer(token)) as ws:
        # When bob answers it on the web
        response = await post_form(
            bob,
            f"/listings/{uid}/answers",
            {"message": "May I?"},
            form_path=f"/listings/{uid}/answers",
            allow_redirects=False,
        )
        assert response.status == 303
        # Then alice's apps hear of the conversation, with bob's message last
        event = await next_event(ws)
        assert (event["stream"], event["event"]) == (["direct"], "conversation")
        conversation = json.loads(event["payload"])
        check("Conversation", conversation)
        assert "May I?" in conversation["last_status"]["content"]
