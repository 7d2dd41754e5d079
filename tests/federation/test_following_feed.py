"""The following feed across two nodes: a resident on south hears the people on north they
follow, then every listing of north once they follow north's neighbourhood, and never the
listings of people they do not follow."""

from __future__ import annotations

from commonsfed.services import accounts, follows, listings
from commonsfed.web.keys import POOL, SETTINGS
from tests.builders import LISTING_DEFAULTS, log_in, register
from tests.nodes import settle


async def post(node, username: str, title: str) -> None:
    pool, settings = node.app[POOL], node.app[SETTINGS]
    author = await accounts.get_by_username(pool, username)
    await listings.create_listing(pool, settings, author, {**LISTING_DEFAULTS, "title": title}, [])


async def test_following_feed__followed_people_and_a_followed_neighbourhood(start_nodes):
    # Given north (alice, dave) and south (bob, carol, erin), south joined to north
    north, south = await start_nodes(2)
    for node, names in ((north, ("alice", "dave")), (south, ("bob", "carol", "erin"))):
        for name in names:
            assert (await register(node.client, name)).status == 200
    await follows.federate(south.federation, "north.test")
    # and bob follows alice on north, and carol here
    await follows.follow(south.federation, south.url("/users/bob"), "@alice@north.test")
    await south.app[POOL].execute(
        "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, 'accepted')",
        south.url("/users/bob"), south.url("/users/carol"),
    )  # fmt: skip
    await settle(north, south)
    await post(north, "alice", "Ladder of alice")
    await post(north, "dave", "Bike of dave")
    await settle(north, south)  # the feed orders by arrival here, as timelines do
    await post(south, "carol", "Jam of carol")
    await post(south, "erin", "Tent of erin")
    await post(south, "bob", "Drill of bob")
    await settle(north, south)
    await log_in(south.client, "bob")

    # When bob reads his following feed
    page = await (await south.client.get("/following")).text()

    # Then alice's (a followed person on north) and carol's are there, newest first, with
    # north's listing shown as one of the network's
    assert "Ladder of alice" in page and "Jam of carol" in page
    assert page.index("Jam of carol") < page.index("Ladder of alice")
    assert "/network/listing?uri=" in page and 'class="origin"' in page
    # and not dave's, erin's nor his own
    for other in ("Bike of dave", "Tent of erin", "Drill of bob"):
        assert other not in page

    # When bob follows north's neighbourhood
    await follows.follow(south.federation, south.url("/users/bob"), "@neighbourhood@north.test")
    await settle(north, south)
    page = await (await south.client.get("/following")).text()

    # Then every listing of north is in his feed, and still nobody else's from south
    assert "Ladder of alice" in page and "Bike of dave" in page and "Jam of carol" in page
    assert "Tent of erin" not in page and "Drill of bob" not in page
