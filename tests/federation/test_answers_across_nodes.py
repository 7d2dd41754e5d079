"""Answers across nodes: residents of south.test answer a listing of north.test through
south's pages, the author decides on north, and each change reaches the other node.

Alice lives on north; Bob and Carol on south, each with a browser (a client with its own
cookies) of their own. Both nodes are real, on loopback, with their real host names.
"""

from __future__ import annotations

import re

import aiohttp
import pytest

from commonsfed.db.pool import connect
from commonsfed.services import accounts, answers, follows, listings
from tests.builders import DEFAULT_PASSWORD, post_form, register_and_login
from tests.nodes import settle

DRILL = {
    "purpose": "offer", "kind": "lend", "title": "Cordless drill", "category": "tools",
    "description": "With two batteries and a set of bits.", "place": "Elm Street",
    "loan_days": "7",
}  # fmt: skip
CARD_RE = re.compile(r'<h2><a href="(/network/listing\?uri=[^"]+)">([^<]+)</a>')


async def browser(node, name: str) -> aiohttp.ClientSession:
    """A second (third ...) browser on `node`, logged in as a new resident `name`."""
    session = aiohttp.ClientSession(
        base_url=str(node.client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    )
    await register_and_login(session, name)
    return session


@pytest.fixture
async def network(start_nodes):
    """north and south, south's neighbourhood following north's; alice on north with her
    drill posted; bob and carol on south, each with a browser."""
    async for scene in drill_scene(start_nodes):
        yield scene


async def drill_scene(start_nodes, **changes):
    """The `network` fixture's scene, its nodes started with `changes` (start_nodes')."""
    north, south = await start_nodes(2, **changes)
    await follows.federate(south.federation, "north.test")
    await settle(north, south)
    alice = await accounts.register(
        north.federation.pool, north.settings, username="alice", email="alice@example.org",
        password=DEFAULT_PASSWORD, by_admin=True)
    drill = await listings.create_listing(north.federation.pool, north.settings, alice, DRILL, [])
    await settle(north, south)
    bob, carol = await browser(south, "bob"), await browser(south, "carol")
    yield north, south, alice, drill, bob, carol
    await bob.close()
    await carol.close()


async def find_in_network_view(client, title: str) -> str:
    page = await (await client.get("/explore?where=everywhere")).text()
    links = {text: href.replace("&amp;", "&") for href, text in CARD_RE.findall(page)}
    assert title in links, page
    return links[title]


async def answer_from_south(client, listing_page: str, message: str) -> int:
    response = await post_form(client, "/network/listing/answers", {
        "uri": listing_page.split("uri=", 1)[1].replace("%3A", ":").replace("%2F", "/"),
        "message": message,
    }, form_path=listing_page, allow_redirects=False)  # fmt: skip
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


async def north_line(north, uid: str) -> list[tuple[str, str]]:
    rows = await north.query("""
        SELECT c.respondent_actor_uri, c.state FROM conversations c
        JOIN listings l ON l.id = c.listing_id WHERE l.uid = $1 ORDER BY c.created_at, c.id
    """, uid)  # fmt: skip
    return [(row[0].rsplit("/", 1)[1], row[1]) for row in rows]


async def south_state(south, name: str) -> tuple[str, str]:
    """(the conversation's state, the listing's state as south knows it) for `name`."""
    rows = await south.query("""
        SELECT c.state, c.remote_listing_state FROM conversations c
        JOIN accounts a ON a.id = c.respondent_account_id WHERE a.username = $1
    """, name)  # fmt: skip
    assert len(rows) == 1
    return rows[0]["state"], rows[0]["remote_listing_state"]


async def notified(node, name: str) -> list[str]:
    rows = await node.query("""
        SELECT n.kind FROM notifications n JOIN accounts a ON a.id = n.account_id
        WHERE a.username = $1 ORDER BY n.id
    """, name)  # fmt: skip
    return [row[0] for row in rows]


async def conversation_ids(north, uid: str) -> dict[str, int]:
    rows = await north.query("""
        SELECT c.id, c.respondent_actor_uri FROM conversations c
        JOIN listings l ON l.id = c.listing_id WHERE l.uid = $1
    """, uid)  # fmt: skip
    return {row[1].rsplit("/", 1)[1]: row[0] for row in rows}


async def test_drill__answered_from_south_reserved_released_and_passed_down_the_line(network):
    north, south, alice, drill, bob, carol = network
    pool, settings = north.federation.pool, north.settings

    # Bob on south finds alice's drill in the network view and answers it there
    page = await find_in_network_view(bob, "Cordless drill")
    listing_page = await (await bob.get(page)).text()
    assert "from North Commons" in listing_page and "Send my answer" in listing_page
    bobs = await answer_from_south(bob, page, "Could I borrow it on Saturday?")
    await settle(north, south)

    # north has his answer, first in line, with his message; alice is told
    assert await north_line(north, drill.uid) == [("bob", "waiting")]
    messages = await north.query("SELECT body, sender_actor_uri FROM messages")
    assert [tuple(m) for m in messages] == [
        ("Could I borrow it on Saturday?", south.url("/users/bob"))]
    assert await notified(north, "alice") == ["new_answer"]

    # Carol answers too, and waits behind him
    carols = await answer_from_south(carol, await find_in_network_view(carol, "Cordless drill"),
                                     "I would need it for an afternoon next week.")
    await settle(north, south)
    assert await north_line(north, drill.uid) == [("bob", "waiting"), ("carol", "waiting")]
    on_north = await conversation_ids(north, drill.uid)

    # alice reserves it for Bob: south hears it, for his answer and for the listing
    await answers.reserve(pool, settings, alice, on_north["bob"])
    await settle(north, south)
    assert await south_state(south, "bob") == ("reserved", "reserved")
    assert await south_state(south, "carol") == ("waiting", "reserved")
    assert "reserved_for_you" in await notified(south, "bob")
    bob_page = await (await bob.get(f"/conversations/{bobs}")).text()
    assert "Your answer to @alice@north.test" in bob_page and "Reserved" in bob_page
    document = (await south.query("SELECT document FROM remote_objects WHERE uri = $1",
                            north.url(f"/listings/{drill.uid}")))[0][0]
    assert '"hasNumericalValue": "0"' in document  # nothing left to lend while reserved

    # they talk it over: alice writes from north, Bob answers from south
    await answers.reply(pool, settings, alice, on_north["bob"], "Saturday at ten works for me.")
    await settle(north, south)
    assert "Saturday at ten works for me." in await (await bob.get(f"/conversations/{bobs}")).text()
    response = await post_form(bob, f"/conversations/{bobs}/messages",
                               {"message": "See you then!"}, form_path=f"/conversations/{bobs}")
    assert response.status == 200
    await settle(north, south)
    north_messages = await answers.conversation(pool, alice, on_north["bob"])
    assert [m.body for m in north_messages.messages] == [
        "Could I borrow it on Saturday?", "Saturday at ten works for me.", "See you then!"]

    # alice releases Bob's reservation: Carol, next in line, is offered the drill
    await answers.release(pool, settings, alice, on_north["bob"])
    await settle(north, south)
    assert await north_line(north, drill.uid) == [("bob", "waiting"), ("carol", "offered")]
    assert await south_state(south, "bob") == ("waiting", "open")
    assert "reservation_released" in await notified(south, "bob")
    carol_page = await (await carol.get(f"/conversations/{carols}")).text()
    assert "you are next in line" in carol_page

    # alice reserves it for Carol, and south shows it reserved for her
    await answers.reserve(pool, settings, alice, on_north["carol"])
    await settle(north, south)
    assert await south_state(south, "carol") == ("reserved", "reserved")
    assert await south_state(south, "bob") == ("waiting", "reserved")

    # the exchange happens: completed on north, and on south with it
    await answers.complete(pool, settings, alice, on_north["carol"])
    await settle(north, south)
    assert await south_state(south, "carol") == ("completed", "completed")
    assert "completed" in await notified(south, "carol")


async def test_drill__a_closed_listing_rejects_an_answer_from_south(network):
    north, south, alice, drill, bob, _ = network
    page = await find_in_network_view(bob, "Cordless drill")
    # alice withdraws the drill, but south has not heard yet when Bob answers
    conn = await connect(north.settings.database_url)
    await conn.execute("UPDATE listings SET state = 'withdrawn' WHERE uid = $1", drill.uid)
    await conn.close()

    bobs = await answer_from_south(bob, page, "Is it still there?")
    await settle(north, south)

    assert await north_line(north, drill.uid) == []
    assert await south_state(south, "bob") == ("declined", "open")
    page = await (await bob.get(f"/conversations/{bobs}")).text()
    assert "This listing is closed to new answers." in page


async def test_drill__withdrawing_on_south_passes_the_reservation_down_north_s_line(network):
    north, south, alice, drill, bob, carol = network
    page = await find_in_network_view(bob, "Cordless drill")
    bobs = await answer_from_south(bob, page, "Could I borrow it?")
    await settle(north, south)  # so Bob is first in line
    await answer_from_south(carol, page, "Me too, please.")
    await settle(north, south)
    on_north = await conversation_ids(north, drill.uid)
    await answers.reserve(north.federation.pool, north.settings, alice, on_north["bob"])
    await settle(north, south)

    # Bob gives the drill up from south
    response = await post_form(bob, f"/conversations/{bobs}/withdraw", {},
                               form_path=f"/conversations/{bobs}", allow_redirects=False)
    assert response.status == 303
    await settle(north, south)

    # north takes him out of the line, opens the listing and offers it to Carol
    assert (await south_state(south, "bob"))[0] == "withdrawn"
    assert await north_line(north, drill.uid) == [("bob", "withdrawn"), ("carol", "offered")]
    assert (await north.query("SELECT state FROM listings"))[0][0] == "open"
    assert {"new_answer", "withdrawn", "new_message"} <= set(await notified(north, "alice"))
    rows = await north.query("SELECT body FROM messages ORDER BY id")
    assert rows[-1][0].startswith("I withdraw my answer to “Cordless drill”")
    assert await south_state(south, "carol") == ("waiting", "open")


async def test_drill__removed_on_north_is_deleted_on_south(network):
    north, south, alice, drill, bob, _ = network
    bobs = await answer_from_south(bob, await find_in_network_view(bob, "Cordless drill"),
                                   "Could I borrow it?")
    await settle(north, south)

    await listings.remove_listing(north.federation.pool, north.settings, alice, drill.uid)
    await settle(north, south)

    uri = north.url(f"/listings/{drill.uid}")
    assert await south.query("SELECT uri FROM remote_objects WHERE uri = $1", uri) == []
    assert len(await south.query("SELECT uri FROM tombstones WHERE uri = $1", uri)) == 1
    assert (await south_state(south, "bob"))[1] == "withdrawn"
    page = await (await bob.get("/explore?where=everywhere")).text()
    assert "Cordless drill" not in page
    assert "Withdrawn" in await (await bob.get(f"/conversations/{bobs}")).text()
