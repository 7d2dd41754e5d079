"""A resident follows, sees and unfollows people on other nodes from the /follows page."""

from __future__ import annotations

from commonsfed.db.pool import connect
from tests.builders import post_form, register
from tests.nodes import settle


async def set_locked(node, username: str) -> None:
    conn = await connect(node.settings.database_url)
    await conn.execute(
        "UPDATE accounts SET manually_approves_followers = true WHERE username = $1", username)
    await conn.close()


async def test_follows_page__needs_a_login(start_nodes):
    (north,) = await start_nodes(1)

    response = await north.client.get("/follows", allow_redirects=False)

    assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_follows_page__follow_then_unfollow(start_nodes):
    north, south = await start_nodes(2)
    await register(south.client, "bob")
    await register(north.client, "alice")

    asked = await post_form(north.client, "/follows", {"handle": "@bob@south.test"})
    await settle(north, south)
    page = await (await north.client.get("/follows")).text()

    assert "Asked to follow @bob@south.test." in await asked.text()
    assert "@bob@south.test" in page and "waiting for them to accept" not in page

    await post_form(north.client, "/follows/unfollow", {"uri": south.url("/users/bob")},
                    "/follows")
    await settle(north, south)

    assert "You do not follow anyone yet." in await (await north.client.get("/follows")).text()


async def test_follows_page__unknown_handle_is_shown_next_to_the_field(start_nodes):
    north, _ = await start_nodes(2)
    await register(north.client, "alice")

    response = await post_form(north.client, "/follows", {"handle": "@nobody@south.test"})

    assert response.status == 422
    page = await response.text()
    assert 'id="e-handle"' in page and "Could not find @nobody@south.test" in page


async def test_follows_page__empty_handle_and_own_node_are_refused(start_nodes):
    (north,) = await start_nodes(1)
    await register(north.client, "alice")

    empty = await post_form(north.client, "/follows", {"handle": "  "})

    assert empty.status == 422 and "Enter a handle to follow." in await empty.text()


async def test_follows_page__a_locked_resident_approves_a_request(start_nodes):
    north, south = await start_nodes(2)
    await register(south.client, "bob")
    await set_locked(south, "bob")
    await register(north.client, "alice")
    await post_form(north.client, "/follows", {"handle": "@bob@south.test"})
    await settle(north, south)
    pending = await (await north.client.get("/follows")).text()

    requests = await (await south.client.get("/follows")).text()
    await post_form(south.client, "/follows/approve", {"uri": north.url("/users/alice")},
                    "/follows")
    await settle(north, south)

    assert "waiting for them to accept" in pending
    assert "Asking to follow you" in requests and "@alice@north.test" in requests
    followed = await (await north.client.get("/follows")).text()
    assert "waiting for them to accept" not in followed and "@bob@south.test" in followed


async def test_follows_page__a_locked_resident_declines_a_request(start_nodes):
    north, south = await start_nodes(2)
    await register(south.client, "bob")
    await set_locked(south, "bob")
    await register(north.client, "alice")
    await post_form(north.client, "/follows", {"handle": "@bob@south.test"})
    await settle(north, south)

    await post_form(south.client, "/follows/reject", {"uri": north.url("/users/alice")},
                    "/follows")
    await settle(north, south)

    assert "You do not follow anyone yet." in await (await north.client.get("/follows")).text()
    assert "No one follows you yet." in await (await south.client.get("/follows")).text()


async def test_follows_page__approving_someone_who_did_not_ask_is_refused(start_nodes):
    (north,) = await start_nodes(1)
    await register(north.client, "alice")

    response = await post_form(north.client, "/follows/approve",
                               {"uri": "http://south.test/users/mallory"}, "/follows")

    assert response.status == 400 and "no such follow request" in await response.text()
