"""A home for residents: the welcome page after registering (with the node's rules), the
flash messages after actions (web.flash: shown once, after the redirect), and the
following feed (one node here; two nodes in tests/federation/test_following_feed.py)."""

from __future__ import annotations

import re

from commonsfed.services import account_actions, accounts
from commonsfed.web.keys import POOL, SETTINGS
from tests.builders import (
    log_in,
    post_form,
    post_listing,
    register,
    register_and_login,
)

RULES = ("Be kind to neighbours.", "Return what you borrow, on time.")


async def landed(client, response) -> tuple[str, str]:
    """Follow a POST's redirect as a browser does: (the path it landed on, the page)."""
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    page = await client.get(location)
    assert page.status == 200, await page.text()
    return location, await page.text()


def flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+" role="\w+">([^<]*)</p>', page)


async def assert_once(client, response, message: str) -> str:
    """The page after the redirect shows `message` once, and the next page not at all."""
    location, page = await landed(client, response)
    assert flashes(page) == [message], (location, flashes(page))
    again = await (await client.get(location)).text()
    assert message not in again, location
    return location


# --- the welcome -------------------------------------------------------------------------


async def test_welcome__shown_after_registering_with_the_rules_and_first_steps(make_client):
    # Given a node with rules
    client = await make_client(rules=RULES)

    # When someone registers
    response = await register(client, "nia")

    # Then they land on the welcome, greeted once, with the rules and their first steps
    assert response.status == 200 and response.url.path == "/welcome"
    page = await response.text()
    assert flashes(page) == ["Welcome to Elm Street Commons! Your account is ready."]
    assert "<li>Be kind to neighbours.</li>" in page
    assert "<li>Return what you borrow, on time.</li>" in page
    for link in ("/settings/profile", "/listings/new", "/explore"):
        assert f'href="{link}"' in page
    # and /welcome stays, without the greeting
    later = await (await client.get("/welcome")).text()
    assert "Be kind to neighbours." in later and flashes(later) == []


async def test_welcome__needs_a_login(client):
    response = await client.get("/welcome", allow_redirects=False)

    assert response.status == 303 and response.headers["Location"] == "/login?next=/welcome"


async def test_welcome__asks_to_confirm_the_address_where_the_node_requires_it(make_client):
    client = await make_client(confirm_email=True)

    page = await (await register(client, "nia")).text()

    assert "Confirm your e-mail address</strong> with the link we sent to nia@example.org" in page


async def test_welcome__an_account_approved_later_is_welcomed_at_its_first_login(make_client):
    # Given a node where an admin approves new accounts
    client = await make_client(rules=RULES, registration="approval")
    pending = await register(client, "nia")
    # Then the waiting page shows the rules already
    assert "Your account is waiting" in (text := await pending.text())
    assert "<li>Be kind to neighbours.</li>" in text
    # When an admin approves it and nia logs in for the first time
    pool = client.server.app[POOL]
    await accounts.register(pool, client.server.app[SETTINGS], username="ada",
                            email="ada@example.org", password="a long password", role="admin",
                            by_admin=True)  # fmt: skip
    await account_actions.approve(pool, await accounts.get_by_username(pool, "ada"), "nia")
    first = await log_in(client, "nia")
    # Then the welcome greets her
    assert first.url.path == "/welcome"
    assert flashes(await first.text()) == ["Welcome! You are logged in for the first time."]
    # (a first login on its way somewhere goes there: an app's authorisation, say)
    await accounts.register(pool, client.server.app[SETTINGS], username="bo",
                            email="bo@example.org", password="a long password", by_admin=True)  # fmt: skip
    other = await make_client()
    going = await post_form(other, "/login", {"username": "bo", "password": "a long password",
                                              "next": "/explore"}, allow_redirects=False)  # fmt: skip
    assert going.headers["Location"] == "/explore"
    # and a later login goes where it was going, with a plain message
    await post_form(client, "/logout", {}, form_path="/")
    again = await log_in(client, "nia")
    assert again.url.path == "/" and flashes(await again.text()) == ["You are logged in as @nia."]


# --- flash messages ----------------------------------------------------------------------


async def test_flash__each_action_shows_its_message_once(make_client):
    # Given alice, who posts, and bob, who answers
    alice, bob = await make_client(), await make_client()
    await register_and_login(alice, "alice")
    await register_and_login(bob, "bob")

    # When alice posts an offer, then edits it
    posted = await post_listing(alice, {"title": "A ladder"})
    where = await assert_once(alice, posted, "Your offer is published.")
    uid = where.rsplit("/", 1)[1]
    edited = await post_listing(
        alice, {"title": "A long ladder"}, path=f"{where}/edit", form_path=f"{where}/edit"
    )
    await assert_once(alice, edited, "Your changes are saved.")
    # and bob answers it, and writes again
    answered = await post_form(bob, f"/listings/{uid}/answers", {"message": "May I?"},
                               allow_redirects=False)  # fmt: skip
    conversation = await assert_once(
        bob, answered, "Answer sent. You will be told when they reply."
    )
    replied = await post_form(bob, f"{conversation}/messages", {"message": "Tomorrow?"},
                              form_path=conversation, allow_redirects=False)  # fmt: skip
    await assert_once(bob, replied, "Message sent.")
    # and alice withdraws her listing
    withdrawn = await post_form(alice, f"/listings/{uid}/state", {"state": "withdrawn"},
                                form_path=where, allow_redirects=False)  # fmt: skip
    await assert_once(alice, withdrawn, "Listing withdrawn.")
    # and logs out: a visitor's page says so once too
    out = await post_form(alice, "/logout", {}, form_path="/", allow_redirects=False)
    await assert_once(alice, out, "You are logged out. See you soon!")


async def test_flash__an_admin_adds_a_place_and_a_category(make_client):
    admin = await make_client()
    await register_and_login(admin, "ada")
    await accounts.set_role(admin.server.app[POOL], "ada", "admin")

    place = await post_form(
        admin, "/admin/places",
        {"name": "The bakery corner", "latitude": "52.37", "longitude": "4.89"},
        allow_redirects=False,
    )  # fmt: skip
    await assert_once(admin, place, "Place added. Residents can pick it now.")
    category = await post_form(admin, "/admin/categories",
                               {"slug": "bees", "name": "Bees and honey"}, allow_redirects=False)  # fmt: skip
    await assert_once(admin, category, "Category added.")


async def test_flash__waits_for_a_page_past_requests_that_are_not_pages(resident):
    # Given an action whose message waits in the session
    posted = await post_listing(resident, {"title": "A ladder"})
    assert posted.status == 303
    # When the browser fetches a stylesheet, a feed and the health check first
    for path in ("/static/style.css", "/feed.atom", "/healthz"):
        await resident.get(path)
    # Then the page still shows the message
    page = await (await resident.get(posted.headers["Location"])).text()
    assert flashes(page) == ["Your offer is published."]


async def test_flash__text_is_escaped_and_errors_interrupt(resident):
    # Given a message with markup in it, of the error kind (what a handler may one day say
    # of something a person typed)
    from aiohttp import web

    from commonsfed.web.flash import flash

    async def handler(request):
        await flash(request, "<b>Not saved</b>", "error")
        raise web.HTTPSeeOther("/")

    resident.server.app.router._frozen = False  # a route of the test's own
    resident.server.app.router.add_post("/test-flash", handler)

    response = await post_form(resident, "/test-flash", {}, form_path="/", allow_redirects=False)
    page = await (await resident.get(response.headers["Location"])).text()

    assert '<p class="flash flash-error" role="alert">&lt;b&gt;Not saved&lt;/b&gt;</p>' in page


# --- the following feed, on one node ----------------------------------------------------


async def test_following__empty_says_how_to_follow(resident):
    page = await (await resident.get("/following")).text()

    assert "Follow neighbours to see their listings here." in page
    assert 'href="/explore"' in page and 'aria-current="page"' in page


async def test_following__followed_residents_listings_not_others_nor_own(make_client):
    # Given alice, who follows carol here and not dave
    alice = await make_client()
    await register_and_login(alice, "alice")
    for name in ("carol", "dave"):
        await register_and_login(await make_client(), name)
    await alice.server.app[POOL].execute(
        "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, 'accepted')",
        "http://localhost/users/alice", "http://localhost/users/carol",
    )  # fmt: skip
    carol = await make_client()
    await log_in(carol, "carol")
    dave = await make_client()
    await log_in(dave, "dave")
    await post_listing(carol, {"title": "Jam of carol"})
    await post_listing(dave, {"title": "Bike of dave"})
    await post_listing(alice, {"title": "Ladder of alice"})

    page = await (await alice.get("/following")).text()

    assert "Jam of carol" in page
    assert "Bike of dave" not in page and "Ladder of alice" not in page
    assert 'class="listing-card kind-give state-open"' in page


async def test_following__pages_newest_first(make_client, monkeypatch):
    from commonsfed.services import home

    monkeypatch.setattr(home, "PAGE_SIZE", 2)
    alice = await make_client()
    await register_and_login(alice, "alice")
    carol = await make_client()
    await register_and_login(carol, "carol")
    await alice.server.app[POOL].execute(
        "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, 'accepted')",
        "http://localhost/users/alice", "http://localhost/users/carol",
    )  # fmt: skip
    for title in ("First", "Second", "Third"):
        await post_listing(carol, {"title": f"{title} of carol"})

    page = await (await alice.get("/following")).text()
    older = re.search(r'<a rel="next" href="([^"]+)"', page)

    assert page.index("Third of carol") < page.index("Second of carol")
    assert "First of carol" not in page and older
    rest = await (await alice.get(older.group(1).replace("&amp;", "&"))).text()
    assert "First of carol" in rest and "Second of carol" not in rest
    assert (await alice.get("/following?before=x1")).status == 400


async def test_following__follow_a_resident_from_their_profile(make_client):
    # Given alice and carol, who has a listing
    alice, carol = await make_client(), await make_client()
    await register_and_login(alice, "alice")
    await register_and_login(carol, "carol")
    await post_listing(carol, {"title": "Jam of carol"})
    own = await (await alice.get("/users/alice")).text()
    assert "/users/alice/follow" not in own  # nobody follows themselves

    # When alice follows carol from carol's profile
    followed = await post_form(alice, "/users/carol/follow", {}, form_path="/users/carol",
                               allow_redirects=False)  # fmt: skip

    # Then the profile says so once, and offers to unfollow; her feed has carol's listing
    where = await assert_once(
        alice, followed, "You follow @carol: their listings show under Following."
    )
    assert where == "/users/carol"
    assert 'action="/users/carol/unfollow"' in await (await alice.get(where)).text()
    assert "Jam of carol" in await (await alice.get("/following")).text()
    # and unfollowing takes it away again
    gone = await post_form(alice, "/users/carol/unfollow", {}, form_path="/users/carol",
                           allow_redirects=False)  # fmt: skip
    await assert_once(alice, gone, "You no longer follow @carol.")
    assert "Jam of carol" not in await (await alice.get("/following")).text()
    # and nobody is followed who is not here
    missing = await post_form(alice, "/users/nobody/follow", {}, form_path="/users/carol")
    assert missing.status == 404
