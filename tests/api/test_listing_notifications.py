"""The listing page's notifications in the client API: a listing that closed while the
resident waited in line, and a pledge towards the organiser's group purchase, are both
Mastodon `update`s of the listing's status, by who acted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from commonsfed.services import listings
from commonsfed.web.keys import POOL, SETTINGS
from tests.api.scenes import answer, listing, people, status_of_listing
from tests.api.schema import check

NOTIFICATIONS = "/api/v1/notifications"


async def test_notifications__a_closed_listing_is_an_update_by_its_author(make_client):
    # Given bob waiting in line for alice's listing
    alice, bob = await people(make_client, "alice", "bob")
    uid = await listing(alice, "Spare chairs")
    await answer(bob, uid, "Two, please?")
    # When alice withdraws it
    app = alice.browser.app
    await listings.change_state(app[POOL], app[SETTINGS], await alice.account(), uid, "withdrawn")
    # Then bob's app shows alice's change to the listing he answered
    [note] = await bob.json(NOTIFICATIONS)
    check("Notification", note)
    assert (note["type"], note["account"]["username"]) == ("update", "alice")
    assert note["status"]["id"] == str(await status_of_listing(alice, uid))


async def test_notifications__a_pledge_is_an_update_by_the_neighbour_who_pledged(make_client):
    alice, bob = await people(make_client, "alice", "bob")
    app = alice.browser.app
    deadline = (datetime.now(UTC).date() + timedelta(days=9)).isoformat()
    oil = await listings.create_listing(app[POOL], app[SETTINGS], await alice.account(), {
        "purpose": "request", "kind": "group_purchase", "title": "Olive oil", "category": "food",
        "place": "Elm Street", "target_quantity": "20", "unit": "litres", "deadline": deadline,
    }, [])  # fmt: skip

    await listings.pledge(app[POOL], app[SETTINGS], await bob.account(), oil.uid, "3")

    [note] = await alice.json(NOTIFICATIONS)
    check("Notification", note)
    assert (note["type"], note["account"]["username"]) == ("update", "bob")
    assert note["status"]["id"] == str(await status_of_listing(alice, oil.uid))


async def test_notifications__a_match_is_a_status_by_the_author_of_the_new_listing(make_client):
    # Given alice, who asks for a ladder
    alice, bob = await people(make_client, "alice", "bob")
    app = alice.browser.app
    wanted = {"kind": "give", "category": "tools", "place": "Elm Street",
              "description": "To clean the gutters."}  # fmt: skip
    await listings.create_listing(app[POOL], app[SETTINGS], await alice.account(),
                                  {**wanted, "purpose": "request", "title": "Ladder"}, [])  # fmt: skip
    # When bob offers one
    ladder = await listings.create_listing(app[POOL], app[SETTINGS], await bob.account(),
                                           {**wanted, "purpose": "offer",
                                            "title": "Ladder, three metres"}, [])  # fmt: skip
    # Then alice's app shows bob's new listing, as Mastodon shows a status someone posted
    [note] = await alice.json(NOTIFICATIONS)
    check("Notification", note)
    assert (note["type"], note["account"]["username"]) == ("status", "bob")
    assert note["status"]["id"] == str(await status_of_listing(alice, ladder.uid))
    assert await alice.json(NOTIFICATIONS + "?types[]=mention") == []
