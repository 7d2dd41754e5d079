"""The listing page on a real PostgreSQL: the photo gallery, dates in the reader's language
and the node's time zone, the author's view (answers first, one set of actions), states
that stay right for everyone still in line when a listing closes, and a group purchase's
pledgers for its organiser.

Alice posts; Bob, Carol and Dan answer or pledge, each with a browser of their own.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from commonsfed.services import accounts, listings
from commonsfed.web.keys import POOL, SETTINGS
from tests.builders import photo_bytes, post_form, post_listing, register_and_login

SOUP = {
    "purpose": "offer", "kind": "give", "title": "Pumpkin soup", "category": "food",
    "description": "Three litres, made this morning.", "place": "Elm Street",
}  # fmt: skip


@pytest.fixture
def pool(alice):
    return alice.server.app[POOL]


async def new_listing(client, photos=(), **fields) -> str:
    response = await post_listing(client, {**SOUP, **fields}, photos)
    assert response.status == 303, await response.text()
    return response.headers["Location"].rsplit("/", 1)[1]


async def answered(client, uid: str, message: str = "Yes please!") -> int:
    response = await post_form(client, f"/listings/{uid}/answers", {"message": message},
                               form_path=f"/listings/{uid}", allow_redirects=False)  # fmt: skip
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


async def post(client, path: str, form_path: str, **data):
    response = await post_form(client, path, data, form_path=form_path, allow_redirects=False)
    assert response.status == 303, await response.text()


async def page(client, path: str) -> str:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return await response.text()


async def notified(pool, username: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT n.kind FROM notifications n JOIN accounts a ON a.id = n.account_id"
        " WHERE a.username = $1 ORDER BY n.id",
        username,
    )
    return [row["kind"] for row in rows]


def buttons(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", b).strip()
        for b in re.findall(r"<button[^>]*>(.*?)</button>", html, re.S)
    ]


# --- the gallery ---------------------------------------------------------------------------


async def test_listing_page__gallery_shows_the_chosen_photo_large_without_javascript(alice):
    photos = [(f"photo_{n}", f"p{n}.jpg", photo_bytes(size=(640 + n, 480), color=color))
              for n, color in ((1, "green"), (2, "red"), (3, "blue"))]  # fmt: skip
    alts = {"alt_1": "A pot of soup", "alt_2": "The soup in a bowl", "alt_3": "The recipe"}
    uid = await new_listing(alice, photos, **alts)

    first = await page(alice, f"/listings/{uid}")
    second = await page(alice, f"/listings/{uid}?photo=2")
    nonsense = await page(alice, f"/listings/{uid}?photo=banana")

    main = re.compile(
        r'<img src="(/media/[^"]+)" alt="([^"]*)" width="(\d+)" height="480" data-gallery="main">'
    )
    assert main.search(first).group(2, 3) == ("A pot of soup", "641")  # its natural size
    assert main.search(second).group(2, 3) == ("The soup in a bowl", "642")
    assert main.search(nonsense).group(2) == "A pot of soup"
    assert "Photo 2 of 3" in second
    # each thumbnail links to the page with its photo large, and has its alt text
    for n in (1, 2, 3):
        assert f'href="/listings/{uid}?photo={n}#gallery"' in second
    for alt in alts.values():
        assert f'alt="{alt}"' in second
    current = re.search(r'<a href="([^"]+)"[^>]*aria-current="true"', second)
    assert current.group(1) == f"/listings/{uid}?photo=2#gallery"
    assert '<script src="/static/gallery.js' in second  # a nicety on top, never needed


async def test_listing_page__one_photo_has_no_thumbnails_and_no_script(alice):
    uid = await new_listing(alice, [("photo_1", "p.jpg", photo_bytes())], alt_1="A pot of soup")

    html = await page(alice, f"/listings/{uid}")

    assert 'data-gallery="main"' in html and 'class="thumbs"' not in html
    assert "gallery.js" not in html


# --- dates ---------------------------------------------------------------------------------


async def test_listing_page__dates_in_words_in_the_node_time_zone(make_client):
    # Given a node in Auckland, where a ride leaves at 08:15 on 3 January 2031
    client = await make_client(timezone="Pacific/Auckland")
    await register_and_login(client, "alice")
    uid = await new_listing(
        client,
        kind="ride",
        title="A seat to the coast",
        origin="Elm Street",
        destination="The beach",
        seats="3",
        departure="2031-01-03T08:15",
    )

    # When its page is read
    html = await page(client, f"/listings/{uid}")

    # Then the departure is in words, in Auckland's time (UTC is still on 2 January)
    assert 'datetime="2031-01-02T19:15:00+00:00"' in html
    assert "Friday, January 3, 2031, 08:15" in html


# --- the author's view ---------------------------------------------------------------------


async def test_listing_page__author_sees_answers_first_and_one_set_of_actions(alice, bob):
    uid = await new_listing(alice)
    alone = await page(alice, f"/listings/{uid}")
    # with nobody in line, the listing's own buttons are all there
    assert {"Mark reserved", "Mark completed", "Withdraw"} <= set(buttons(alone))

    await answered(bob, uid, "Could I have a litre?")
    html = await page(alice, f"/listings/{uid}")

    # the answers come before the management and before the listing's own text
    assert (
        html.index('id="answers-h"') < html.index('id="manage-h"') < html.index("made this morning")
    )
    # reserving and completing are on bob's answer only: no second button for the same
    assert buttons(html).count("Mark completed") == 1
    assert "Mark reserved" not in buttons(html) and "Reserve for them" in buttons(html)
    assert "Withdraw" in buttons(html) and "Answer privately" not in html
    # bob sees the listing first and his own answer, none of the author's buttons
    his = await page(bob, f"/listings/{uid}")
    assert 'id="manage-h"' not in his and "Reserve for them" not in his
    assert his.index("made this morning") < his.index('id="answers-h"')
    assert "You answered this listing" in his


async def test_listing_page__a_held_reservation_is_released_on_its_answer_only(alice, bob):
    uid = await new_listing(alice)
    bobs = await answered(bob, uid)
    await post(alice, f"/conversations/{bobs}/reserve", f"/listings/{uid}")

    html = await page(alice, f"/listings/{uid}")

    assert "Release" in buttons(html) and "Open it again" not in buttons(html)


# --- a listing closes: everyone still in line sees it and is told --------------------------


async def test_complete__everyone_else_in_line_is_told_and_sees_it_closed(
    alice, bob, carol, dan, pool
):
    # Given three answers; bob holds the reservation, carol waits, dan was declined
    uid = await new_listing(alice)
    bobs, carols, dans = [await answered(c, uid) for c in (bob, carol, dan)]
    await post(alice, f"/conversations/{bobs}/reserve", f"/listings/{uid}")
    await post(alice, f"/conversations/{dans}/decline", f"/listings/{uid}")

    # When alice completes it with bob
    await post(alice, f"/conversations/{bobs}/complete", f"/listings/{uid}")

    # Then carol is told it closed; bob hears of his completion only; dan nothing more
    assert await notified(pool, "carol") == ["listing_closed"]
    assert await notified(pool, "bob") == ["reserved_for_you", "completed"]
    assert await notified(pool, "dan") == ["declined"]
    # and carol's pages say it is closed, with no place in line and nothing to withdraw
    listing_page = await page(carol, f"/listings/{uid}")
    assert (
        "It is <strong>completed</strong> now, so your answer is no longer in line" in listing_page
    )
    assert "in line." not in listing_page.replace("no longer in line.", "")
    conversation = await page(carol, f"/conversations/{carols}")
    assert ">Closed</span>" in conversation and "no longer in line" in conversation
    assert "Number 1 in line" not in conversation and "Withdraw my answer" not in conversation
    notes = await page(carol, "/notifications")
    assert "“Pumpkin soup” is closed now" in notes


async def test_withdraw_listing__the_reserved_and_the_waiting_are_told(alice, bob, carol, pool):
    uid = await new_listing(alice)
    bobs = await answered(bob, uid)
    await answered(carol, uid)
    await post(alice, f"/conversations/{bobs}/reserve", f"/listings/{uid}")

    await post(alice, f"/listings/{uid}/state", f"/listings/{uid}", state="withdrawn")

    assert await notified(pool, "bob") == ["reserved_for_you", "listing_closed"]
    assert await notified(pool, "carol") == ["listing_closed"]
    his = await page(bob, f"/conversations/{bobs}")
    assert ">Closed</span>" in his and "This listing is withdrawn" in his
    # the author's line shows them closed too
    line = await page(alice, f"/listings/{uid}")
    assert line.count('<span class="tag state">Closed</span>') == 2


async def test_listing_closed__mailed_to_who_chose_mail_for_decisions(alice, bob, pool):
    uid = await new_listing(alice)
    await answered(bob, uid)
    await pool.execute(
        "UPDATE accounts SET email_confirmed_at = now(), mail_notifications = '{decision}'"
        " WHERE username = 'bob'"
    )

    await post(alice, f"/listings/{uid}/state", f"/listings/{uid}", state="withdrawn")

    mails = await pool.fetch(
        "SELECT recipient, context FROM outgoing_mail WHERE template = 'notification'"
    )
    assert [(m["recipient"], '"listing_closed"' in m["context"]) for m in mails] == [
        ("bob@example.org", True)
    ]


async def test_expiry__who_waited_in_line_is_told(alice, bob, pool):
    uid = await new_listing(alice)
    await answered(bob, uid)
    settings = alice.server.app[SETTINGS]

    assert await listings.expire_due(pool, settings, datetime.now(UTC) + timedelta(days=400)) == 1

    assert await notified(pool, "bob") == ["listing_closed"]
    assert "It is <strong>expired</strong> now" in await page(bob, f"/listings/{uid}")


# --- group purchases -----------------------------------------------------------------------


GROUP = {"kind": "group_purchase", "title": "Olive oil from Crete", "target_quantity": "20",
         "unit": "litres", "category": "food"}  # fmt: skip


async def test_group_purchase__organiser_sees_pledgers_and_is_told_of_each(alice, bob, carol, pool):
    deadline = (datetime.now(UTC).date() + timedelta(days=9)).isoformat()
    uid = await new_listing(alice, deadline=deadline, **GROUP)

    await post(bob, f"/listings/{uid}/pledge", f"/listings/{uid}", quantity="4")
    await post(bob, f"/listings/{uid}/pledge", f"/listings/{uid}", quantity="5")  # changed
    await post(carol, f"/listings/{uid}/pledge", f"/listings/{uid}", quantity="3")

    # alice, the organiser, has one notice per neighbour who pledged, and sees who and how much
    assert await notified(pool, "alice") == ["new_pledge", "new_pledge"]
    html = await page(alice, f"/listings/{uid}")
    rows = re.findall(r'<tr><td><a href="/users/(\w+)">@\w+</a></td><td>(\d+)</td>', html)
    assert rows == [("bob", "5"), ("carol", "3")]
    assert "8 of 20" in html
    notes = await page(alice, "/notifications")
    assert "@bob pledged towards your group purchase “Olive oil from Crete”" in notes
    # a neighbour sees the total, never who else pledged
    his = await page(bob, f"/listings/{uid}")
    assert 'id="pledgers-h"' not in his and "@carol" not in his
    assert "8 litres" in his


async def test_listing_page__an_admin_manages_and_may_still_remove_as_a_moderator(
    alice, make_resident
):
    uid = await new_listing(alice)
    ada = await make_resident("ada")
    await accounts.set_role(ada.server.app[POOL], "ada", "admin")

    html = await page(ada, f"/listings/{uid}")

    assert 'id="manage-h"' in html and "Remove this listing as a moderator" in html
