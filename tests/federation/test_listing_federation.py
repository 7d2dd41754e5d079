"""A listing posted on one node reaches a federated neighbourhood, and so do its changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from commonsfed.db.pool import connect
from commonsfed.services import accounts, follows, listings
from tests.builders import DEFAULT_PASSWORD
from tests.nodes import settle

DRILL = {
    "purpose": "offer", "kind": "lend", "title": "Cordless drill", "category": "tools",
    "description": "With two batteries and a set of bits.", "place": "Elm Street",
    "loan_days": "7",
}


async def resident(node, name: str):
    return await accounts.register(
        node.federation.pool, node.settings, username=name, email=f"{name}@example.org",
        password=DEFAULT_PASSWORD, by_admin=True)


async def remote_listing(node, uri: str):
    conn = await connect(node.settings.database_url)
    try:
        return await conn.fetchrow(
            "SELECT is_listing, attributed_to, document FROM remote_objects WHERE uri = $1", uri)
    finally:
        await conn.close()


async def test_listing__reaches_a_federated_neighbourhood_and_so_do_its_changes(start_nodes):
    # Given south's neighbourhood follows north's
    north, south = await start_nodes(2)
    await follows.federate(south.federation, "north.test")
    await settle(north, south)
    alice = await resident(north, "alice")

    # When alice on north offers her drill to lend
    listing = await listings.create_listing(north.federation.pool, north.settings, alice,
                                            DRILL, [])
    await settle(north, south)

    # Then south has it, as a listing by alice, from north's Group announcing it
    uri = north.url(f"/listings/{listing.uid}")
    stored = await remote_listing(south, uri)
    assert stored is not None and stored["is_listing"]
    assert stored["attributed_to"] == north.url("/users/alice")
    assert "Cordless drill" in stored["document"]

    # When she reserves it, south hears of the change
    await listings.change_state(north.federation.pool, north.settings, alice, listing.uid,
                                "reserved")
    await settle(north, south)

    updated = await remote_listing(south, uri)
    document = orjson.loads(updated["document"])
    assert document["publishes"]["availableQuantity"]["hasNumericalValue"] == "0"
    assert "updated" in document


async def test_listing__posting_writes_a_create_and_a_group_announce(start_nodes):
    (north,) = await start_nodes(1)
    alice = await resident(north, "alice")

    listing = await listings.create_listing(north.federation.pool, north.settings, alice,
                                            DRILL, [])

    conn = await connect(north.settings.database_url)
    rows = await conn.fetch("SELECT type, actor_uri, public FROM activities ORDER BY id")
    await conn.close()
    assert [tuple(row) for row in rows] == [
        ("Create", north.url("/users/alice"), True),
        ("Announce", north.url("/users/neighbourhood"), True),
    ]
    assert listing.state == "open"


async def test_listing__is_served_as_its_note_to_peers_that_fetch_its_id(start_nodes):
    north, south = await start_nodes(2)
    alice = await resident(north, "alice")
    listing = await listings.create_listing(north.federation.pool, north.settings, alice,
                                            DRILL, [])
    uri = north.url(f"/listings/{listing.uid}")

    # south fetches it as a peer does: signed, asking for activity+json
    fetched = await south.federation.fetch(uri)

    document = fetched.document
    assert document["id"] == uri and document["type"] == "Note"
    assert document["attributedTo"] == north.url("/users/alice")
    assert document["publishes"]["id"] == uri + "#primary"
    assert "Cordless drill" in document["content"]
    # a browser still gets the page; an unknown listing is a 404 either way
    page = await north.client.get(f"/listings/{listing.uid}")
    assert page.content_type == "text/html" and page.headers["Vary"] == "Accept"
    missing = await north.client.get("/listings/nothing", headers={
        "Accept": "application/activity+json"})
    assert missing.status == 404


async def test_listing__expiry_goes_out_as_an_update(start_nodes):
    north, south = await start_nodes(2)
    await follows.federate(south.federation, "north.test")
    await settle(north, south)
    alice = await resident(north, "alice")
    today = datetime.now(UTC).date().isoformat()
    listing = await listings.create_listing(north.federation.pool, north.settings, alice,
                                            {**DRILL, "expires_on": today}, [])
    await settle(north, south)

    expired = await listings.expire_due(north.federation.pool, north.settings,
                                        datetime.now(UTC) + timedelta(days=1, hours=1))
    await settle(north, south)

    assert expired == 1
    stored = await remote_listing(south, north.url(f"/listings/{listing.uid}"))
    document = orjson.loads(stored["document"])
    assert document["publishes"]["vf:finished"] is True
    assert "Expired" in document["content"]
