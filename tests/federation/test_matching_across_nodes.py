"""A listing from a federated neighbourhood meets the saved searches and the open listings
of the other side here: two real nodes, the scheduled jobs driven by tick()."""

from __future__ import annotations

from commonsfed.db import blocks as blocks_q
from commonsfed.services import accounts, follows, listings, matching, saved_searches
from commonsfed.services.jobs import ScheduledJobs
from tests.builders import DEFAULT_PASSWORD, log_in
from tests.nodes import settle

DRILL = {
    "purpose": "offer", "kind": "give", "title": "Cordless drill", "category": "tools",
    "description": "With two batteries.", "place": "Elm Street",
}  # fmt: skip


async def resident(node, name: str):
    return await accounts.register(
        node.federation.pool, node.settings, username=name, email=f"{name}@example.org",
        password=DEFAULT_PASSWORD, by_admin=True)  # fmt: skip


async def test_remote_listing__tells_saved_searches_and_matching_requests_here(start_nodes):
    # Given south follows north; on south, bob saved a search for drills offered, erin asks
    # for one; carol saved a search for bikes
    north, south = await start_nodes(2)
    await follows.federate(south.federation, "north.test")
    await settle(north, south)
    alice = await resident(north, "alice")
    bob, erin, carol = [await resident(south, name) for name in ("bob", "erin", "carol")]
    pool = south.federation.pool
    await saved_searches.save(pool, bob, {"q": "drill", "purpose": "offer"})
    await saved_searches.save(pool, carol, {"q": "bike"})
    # dave saved the same search as bob, but hides north.test
    dave = await resident(south, "dave")
    await saved_searches.save(pool, dave, {"q": "drill", "purpose": "offer"})
    async with pool.acquire() as conn:
        await blocks_q.hide_domain(conn, dave.id, "north.test")
    asked = await listings.create_listing(
        pool, south.settings, erin,
        {**DRILL, "purpose": "request", "title": "Drill for a shelf"}, [])  # fmt: skip

    # When alice on north offers her drill, it reaches south, and south's jobs tick
    offered = await listings.create_listing(north.federation.pool, north.settings, alice, DRILL, [])
    await settle(north, south)
    assert await ScheduledJobs(pool, south.settings).tick()

    # Then bob (saved search) and erin (her request) are told; carol and dave are not
    uri = north.url(f"/listings/{offered.uid}")
    rows = await south.query(
        "SELECT a.username, n.kind, n.object_uri, n.body FROM notifications n"
        " JOIN accounts a ON a.id = n.account_id WHERE n.kind LIKE '%match' ORDER BY a.username"
    )
    assert [tuple(row) for row in rows] == [
        ("bob", "saved_search_match", uri, "Cordless drill"),
        ("erin", "listing_match", uri, "Cordless drill"),
    ]
    # erin's request shows the remote offer; the queue is empty again
    [match] = await matching.matches_for(pool, asked.id)
    assert (match.title, match.remote) == ("Cordless drill", True)
    assert await south.query("SELECT * FROM remote_match_queue") == []
    # and a request posted on south afterwards finds the remote offer among its matches
    later = await listings.create_listing(
        pool, south.settings, carol,
        {**DRILL, "purpose": "request", "title": "Any drill to borrow?"}, [])  # fmt: skip
    assert [(m.title, m.path) for m in await matching.matches_for(pool, later.id)] == [
        ("Cordless drill", matching.remote_path(uri))
    ]
    # and bob's notifications page links to the listing's page on south
    await log_in(south.client, "bob")
    page = await (await south.client.get("/notifications")).text()
    assert "“Cordless drill” is new and matches one of your saved searches." in page
    assert "/network/listing?uri=" in page
