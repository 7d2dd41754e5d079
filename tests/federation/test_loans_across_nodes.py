"""The loan calendar across nodes: residents of south.test book days of alice's drill on
north.test with an FEP-0837 Offer carrying `startTime` and `endTime`. north checks the days
against its calendar: a clash gets a Reject that says why, and books nothing. The drill's
booked days travel with its Note and Updates, so south shows its calendar and refuses days
it shows taken before sending anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from commonsfed.ap.loan_days import booked_from_ap
from commonsfed.db import accounts as accounts_q
from commonsfed.services import account_deletion, accounts, answers, listings, loans
from tests.builders import DEFAULT_PASSWORD, post_form
from tests.federation.test_answers_across_nodes import (
    drill_scene,
    find_in_network_view,
    notified,
    south_state,
)
from tests.nodes import settle

TODAY = datetime.now(UTC).date()


def day(n: int):
    return TODAY + timedelta(days=n)


async def resident(node, name: str):
    rows = await node.query("SELECT id FROM accounts WHERE username = $1", name)
    async with node.federation.pool.acquire() as conn:
        return await accounts_q.get_account(conn, rows[0]["id"])


async def north_bookings(north) -> list[tuple]:
    rows = await north.query("""
        SELECT borrower_actor_uri, pickup_on, return_on, state FROM bookings ORDER BY id
    """)  # fmt: skip
    return [(row[0].rsplit("/", 1)[1], row[1], row[2], row[3]) for row in rows]


async def test_drill__booked_from_south_confirmed_and_an_overlap_refused(network):
    north, south, alice, drill, bobs_browser, _ = network
    carol = await resident(south, "carol")
    drill_uri = north.url(f"/listings/{drill.uid}")
    page = await find_in_network_view(bobs_browser, "Cordless drill")
    assert "Pickup day" in await (await bobs_browser.get(page)).text()

    # When bob on south asks for days of alice's drill on north: first in the wrong order
    # (south's form says so and sends nothing), then days 2 to 4
    asked = {"uri": drill_uri, "message": "For the shelves, please."}
    for first, last, status in ((4, 2, 422), (2, 4, 303)):
        days = {"pickup_on": day(first).isoformat(), "return_on": day(last).isoformat()}
        response = await post_form(
            bobs_browser, "/network/listing/answers", asked | days, form_path=page,
            allow_redirects=False,
        )  # fmt: skip
        assert response.status == status
        if status == 422:
            assert "The return day cannot be before the pickup day." in await response.text()
            assert await south.query("SELECT 1 FROM conversations") == []
    await settle(north, south)

    # Then north books them, asked, and alice is told
    assert await north_bookings(north) == [("bob", day(2), day(4), "asked")]
    assert "loan_asked" in await notified(north, "alice")

    # When alice confirms on north, bob's node hears the Accept
    [booking] = await north.query("SELECT id FROM bookings")
    await loans.decide(north.federation.pool, north.settings, alice, booking["id"], "confirm")
    await settle(north, south)
    assert (await south_state(south, "bob"))[0] == "reserved"
    assert "reserved_for_you" in await notified(south, "bob")

    # When carol on south asks for days that overlap bob's
    await answers.answer_remote(
        south.federation, carol, drill_uri, "Could I have it too?", days=(day(4), day(5))
    )
    await settle(north, south)

    # Then north refuses with a Reject that says why, and books nothing for her
    assert await north_bookings(north) == [("bob", day(2), day(4), "confirmed")]
    assert (await south_state(south, "carol"))[0] == "declined"
    said = await south.query("SELECT body FROM messages ORDER BY id DESC LIMIT 1")
    assert f"overlap a booking from {day(2)} to {day(4)}" in said[0]["body"]
    assert "declined" in await notified(south, "carol")

    # The day before pickup, north's job reminds bob with a message into his conversation
    noon = datetime.combine(day(1), datetime.min.time(), UTC) + timedelta(hours=12)
    assert await loans.run_reminders(north.federation.pool, north.settings, noon) == 1
    await settle(north, south)
    [bobs] = await south.query("""
        SELECT m.body FROM messages m JOIN conversations c ON c.id = m.conversation_id
        JOIN accounts a ON a.id = c.respondent_account_id WHERE a.username = 'bob'
        ORDER BY m.id DESC LIMIT 1
    """)  # fmt: skip
    assert bobs["body"] == f"Reminder: you pick up “Cordless drill” on {day(2)}."


async def test_drill__a_booking_from_south_with_days_in_the_wrong_order_is_refused(network):
    north, south, _, drill, _, _ = network
    bob = await resident(south, "bob")

    await answers.answer_remote(
        south.federation, bob, north.url(f"/listings/{drill.uid}"), "Hi", days=(day(5), day(3))
    )
    await settle(north, south)

    assert await north_bookings(north) == []
    assert (await south_state(south, "bob"))[0] == "declined"
    said = await south.query("SELECT body FROM messages ORDER BY id DESC LIMIT 1")
    assert "The return day cannot be before the pickup day." in said[0]["body"]


async def test_drill__a_borrower_who_deletes_their_account_frees_the_days_on_both_nodes(network):
    # Given bob on south with days 2 to 4 of alice's drill on north, and her own neighbour
    # dan with days 6 to 7
    north, south, alice, drill, _, _ = network
    bob = await resident(south, "bob")
    dan = await accounts.register(
        north.federation.pool, north.settings, username="dan", email="dan@example.org",
        password=DEFAULT_PASSWORD, by_admin=True,
    )  # fmt: skip
    drill_uri = north.url(f"/listings/{drill.uid}")
    await answers.answer_remote(south.federation, bob, drill_uri, "Hi", days=(day(2), day(4)))
    await settle(north, south)
    form = {"pickup_on": day(6).isoformat(), "return_on": day(7).isoformat()}
    await loans.ask(north.federation.pool, north.settings, dan, drill.uid, form)
    await settle(north, south)
    assert await booked_on(south, drill_uri) == [(day(2), day(4)), (day(6), day(7))]

    # When both delete their accounts
    await account_deletion.delete_account(
        south.federation.pool, south.settings, bob, password=DEFAULT_PASSWORD, address="::1"
    )
    await account_deletion.delete_account(
        north.federation.pool, north.settings, dan, password=DEFAULT_PASSWORD, address="::1"
    )
    await settle(north, south)

    # Then neither holds the drill's calendar any more
    assert await north_bookings(north) == [("bob", day(2), day(4), "cancelled")]
    calendar = await loans.calendar(north.federation.pool, north.settings, drill, None)
    assert calendar.bookings == []
    assert await booked_on(south, drill_uri) == []  # north's Updates said so


async def booked_on(node, uri: str) -> list:
    """The booked days of a remote listing as the node last heard them."""
    [row] = await node.query("SELECT document FROM remote_objects WHERE uri = $1", uri)
    return booked_from_ap(orjson.loads(row["document"]))


def day_state(page: str, when) -> str:
    """What the calendar on a page says of a day: booked, asked for, free."""
    cell = page.split(f'<time datetime="{when.isoformat()}">', 1)[1]
    return cell.split('<span class="day-state">', 1)[1].split("</span>", 1)[0]


async def test_drill__its_booked_days_show_on_south_which_refuses_days_taken(network):
    # Given dan, alice's neighbour on north, who asked for days 2 to 4 of her drill
    north, south, alice, drill, bobs_browser, _ = network
    dan = await accounts.register(
        north.federation.pool, north.settings, username="dan", email="dan@example.org",
        password=DEFAULT_PASSWORD, by_admin=True,
    )  # fmt: skip
    form = {"pickup_on": day(2).isoformat(), "return_on": day(4).isoformat()}
    booking = await loans.ask(north.federation.pool, north.settings, dan, drill.uid, form)
    await settle(north, south)

    # When bob on south opens the drill: its calendar shows those days taken
    page = await find_in_network_view(bobs_browser, "Cordless drill")
    text = await (await bobs_browser.get(page)).text()
    assert [day_state(text, day(n)) for n in (1, 2, 4, 5)] == ["free", "booked", "booked", "free"]
    assert await booked_on(south, north.url(f"/listings/{drill.uid}")) == [(day(2), day(4))]

    # and asking for days 3 to 5 is refused on south, and nothing is sent
    asked = {"uri": north.url(f"/listings/{drill.uid}"), "message": "Could I?",
             "pickup_on": day(3).isoformat(), "return_on": day(5).isoformat()}  # fmt: skip
    refused = await post_form(bobs_browser, "/network/listing/answers", asked, form_path=page)
    assert refused.status == 422
    assert (f"Those days overlap a booking from {day(2).isoformat()} to {day(4).isoformat()}"
            in await refused.text())  # fmt: skip
    assert await south.query("SELECT 1 FROM conversations") == []

    # When dan cancels, north's Update frees the days on south, and bob books them
    await loans.decide(north.federation.pool, north.settings, dan, booking.id, "cancel")
    await settle(north, south)
    text = await (await bobs_browser.get(page)).text()
    assert day_state(text, day(3)) == "free"
    sent = await post_form(bobs_browser, "/network/listing/answers", asked, form_path=page,
                           allow_redirects=False)  # fmt: skip
    assert sent.status == 303
    await settle(north, south)
    rows = await north.query("SELECT pickup_on, return_on, state FROM bookings ORDER BY id")
    assert [tuple(row) for row in rows] == [(day(2), day(4), "cancelled"),
                                            (day(3), day(5), "asked")]  # fmt: skip


async def test_drill__a_french_node_says_why_in_french(start_nodes):
    # Given alice's drill on a node whose language is French
    async for scene in drill_scene(start_nodes, **{"north.test": {"language": "fr"}}):
        north, south, _, drill, _, _ = scene
        bob = await resident(south, "bob")
        drill_uri = north.url(f"/listings/{drill.uid}")

        # When bob on south asks for days in the wrong order
        await answers.answer_remote(south.federation, bob, drill_uri, "Hi", days=(day(5), day(3)))
        await settle(north, south)

        # Then north's Reject says why in its own language
        said = await south.query("SELECT body FROM messages ORDER BY id DESC LIMIT 1")
        assert "Le jour de retour ne peut pas précéder le jour de retrait." in said[0]["body"]

        # and so does its refusal of carol's answer to the drill, withdrawn before it came
        # (the Update that says so held up on the way)
        carol = await resident(south, "carol")
        alice = await resident(north, "alice")
        await listings.change_state(north.federation.pool, north.settings, alice, drill.uid,
                                    "withdrawn")  # fmt: skip
        await north.query("UPDATE deliveries SET next_try_at = now() + interval '1 hour' WHERE "
                          "activity_uri IN (SELECT uri FROM activities WHERE type = 'Update')")  # fmt: skip
        await answers.answer_remote(south.federation, carol, drill_uri, "Is it free?")
        await settle(north, south)
        said = await south.query("SELECT body FROM messages ORDER BY id")
        assert said[-1]["body"] == "Cette annonce n’accepte plus de nouvelles réponses.", said


async def test_drill__bob_on_south_books_again_after_a_loan_and_after_a_clash(network):
    # Given bob on south, whose days 2 to 4 of alice's drill north confirmed
    north, south, alice, drill, bobs_browser, _ = network
    drill_uri = north.url(f"/listings/{drill.uid}")
    page = await find_in_network_view(bobs_browser, "Cordless drill")
    asked = {"uri": drill_uri, "message": "For the shelves, please.",
             "pickup_on": day(2).isoformat(), "return_on": day(4).isoformat()}  # fmt: skip
    await post_form(bobs_browser, "/network/listing/answers", asked, form_path=page)
    await settle(north, south)
    [first] = await north.query("SELECT id FROM bookings")
    await loans.decide(north.federation.pool, north.settings, alice, first["id"], "confirm")
    await settle(north, south)

    # When he asks for days 3 to 5: they clash with his own loan
    text = await (await bobs_browser.get(page)).text()
    assert "Ask for other days" in text and "You answered this listing" in text
    await answers.answer_remote(south.federation, await resident(south, "bob"), drill_uri,
                                "Sooner?", days=(day(3), day(5)))  # fmt: skip
    await settle(north, south)
    # Then north refuses them, south says why in his conversation, and his loan stands
    said = await south.query("SELECT body FROM messages ORDER BY id DESC LIMIT 1")
    assert said[0]["body"].startswith("Those days overlap a booking from")
    assert (await south_state(south, "bob"))[0] == "reserved"

    # When he asks for days 5 to 6 from the page, and alice confirms them
    later = asked | {"message": "And later?", "pickup_on": day(5).isoformat(),
                     "return_on": day(6).isoformat()}  # fmt: skip
    sent = await post_form(bobs_browser, "/network/listing/answers", later, form_path=page,
                           allow_redirects=False)  # fmt: skip
    assert sent.status == 303
    await settle(north, south)
    assert await north_bookings(north) == [("bob", day(2), day(4), "confirmed"),
                                           ("bob", day(5), day(6), "asked")]  # fmt: skip
    [second] = await north.query("SELECT id FROM bookings WHERE pickup_on = $1", day(5))
    await loans.decide(north.federation.pool, north.settings, alice, second["id"], "confirm")
    await settle(north, south)

    # Then south takes the Accept of his later Offer: one conversation, told twice
    assert len(await south.query("SELECT id FROM conversations")) == 1
    assert (await notified(south, "bob")).count("reserved_for_you") == 2
    assert len(await south.query("SELECT offer_id FROM conversation_offers")) == 2

