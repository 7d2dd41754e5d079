"""A resident's profile: edited at /settings/profile, shown on their page and in their Person,
each save sent as an Update; bad input refused field by field with nothing changed; links
verified with rel="me" against real pages on loopback; remote profiles cached and sanitised.
"""

from __future__ import annotations

import asyncio
import io
import re

import orjson
import pytest
from aiohttp import web
from PIL import Image

from commonsfed.db import accounts as accounts_q
from commonsfed.db import actors as actors_q
from commonsfed.federation import relme
from commonsfed.federation.relme import verify_link
from commonsfed.services import listings, profiles
from commonsfed.services.photos import media_dir
from commonsfed.web.keys import POOL, SETTINGS
from tests.builders import LISTING_DEFAULTS, photo_bytes, post_profile
from tests.integration.remote import (
    ALICE,
    BERT,
    BOB,
    CAROL,
    GROUP,
    activity,
    add_remote_actor,
    handle,
    listing,
)

MB = 1024 * 1024
AS2 = {"Accept": "application/activity+json"}
PROFILE = {
    "display_name": "Alice Liddell",
    "bio": "I lend **ladders** and fix bikes. <script>alert(1)</script>",
    "area": "Elm Street, north end",
    "field_label_1": "Pronouns",
    "field_value_1": "she/her",
}
AVATAR_RE = re.compile(r'<img class="avatar" src="/media/([A-Za-z0-9_-]{22}\.(?:webp|jpg))"')


async def saved(client) -> dict:
    """What the database holds of alice's profile, and what else a save would write."""
    async with client.server.app[POOL].acquire() as conn:
        account = await conn.fetchrow(
            "SELECT display_name, summary, area, avatar_filename FROM accounts"
            " WHERE username = 'alice'"
        )
        fields = await conn.fetch("SELECT position, label, value FROM profile_fields ORDER BY 1")
        updates = await conn.fetchval("SELECT count(*) FROM activities WHERE type = 'Update'")
    return {"account": dict(account), "fields": [tuple(r) for r in fields], "updates": updates}


def media_files(client) -> list[str]:
    folder = media_dir(client.server.app[SETTINGS])
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def error_next_to(page: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="e-{field}"[^>]*>([^<]*)</p>', page)
    assert match, f"no message next to {field}"
    return match.group(1)


# --- saving, and where it shows -------------------------------------------------------------


async def test_profile__saved_shows_on_the_page_in_the_person_and_the_avatar_is_served(resident):
    response = await post_profile(resident, PROFILE, avatar=photo_bytes("PNG", (800, 600)))

    assert response.status == 200, await response.text()
    assert "Your profile is saved." in await response.text()

    # the profile page shows all of it, the bio as sanitised Markdown
    page = await (await resident.get("/users/alice")).text()
    assert "<h1>Alice Liddell</h1>" in page
    assert "<strong>ladders</strong>" in page and "<script>alert" not in page
    assert "Elm Street, north end" in page
    assert "<dt>Pronouns</dt>" in page and "she/her" in page
    (avatar,) = AVATAR_RE.findall(page)

    # the avatar is served like listing photos: its own type, never sniffed, a square
    image = await resident.get(f"/media/{avatar}")
    assert image.headers["Content-Type"] in ("image/webp", "image/jpeg")
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(await image.read())).size == (400, 400)

    # and the Person carries it all
    person = await (await resident.get("/users/alice", headers=AS2)).json(content_type=None)
    assert person["name"] == "Alice Liddell"
    assert "<strong>ladders</strong>" in person["summary"] and "<script" not in person["summary"]
    assert person["icon"]["url"] == f"http://localhost/media/{avatar}"
    assert person["attachment"] == [
        {"type": "PropertyValue", "name": "Pronouns", "value": "she/her"}]
    assert person["location"] == {"type": "Place", "name": "Elm Street, north end"}
    assert (await saved(resident))["account"]["avatar_filename"] == avatar


async def test_profile__a_new_avatar_replaces_the_old_file_and_removing_it_deletes_it(resident):
    await post_profile(resident, PROFILE, avatar=photo_bytes("PNG", color="red"))
    (first,) = media_files(resident)

    await post_profile(resident, PROFILE, avatar=photo_bytes("PNG", color="blue"))
    (second,) = media_files(resident)
    assert second != first and (await saved(resident))["account"]["avatar_filename"] == second

    await post_profile(resident, {**PROFILE, "remove_avatar": "on"})
    assert media_files(resident) == []
    assert (await saved(resident))["account"]["avatar_filename"] is None
    person = await (await resident.get("/users/alice", headers=AS2)).json(content_type=None)
    assert "icon" not in person


async def test_profile__saving_without_a_new_avatar_keeps_the_old_one(resident):
    await post_profile(resident, PROFILE, avatar=photo_bytes())
    (avatar,) = media_files(resident)

    await post_profile(resident, {**PROFILE, "display_name": "Alice L."})

    assert media_files(resident) == [avatar]
    account = (await saved(resident))["account"]
    assert account["display_name"] == "Alice L." and account["avatar_filename"] == avatar


async def test_profile__the_settings_page_shows_the_saved_values(resident):
    await post_profile(resident, PROFILE)

    page = await (await resident.get("/settings/profile")).text()

    assert 'value="Alice Liddell"' in page and 'value="Elm Street, north end"' in page
    assert "I lend **ladders**" in page
    assert 'value="Pronouns"' in page and 'value="she/her"' in page
    assert '<a href="/settings/profile" aria-current="page">Profile</a>' in page


# --- bad input: a message next to the field, and nothing changes ---------------------------


BAD_INPUT = {
    "avatar_not_an_image": ({}, b"GIF89a, but then just text", "avatar", "not a photo"),
    "avatar_too_large": ({}, b"\xff\xd8" + b"\0" * (10 * MB), "avatar", "larger than 10 MB"),
    "bio_too_long": ({"bio": "x" * 501}, None, "bio", "at most 500 characters"),
    "display_name_too_long": ({"display_name": "x" * 51}, None, "display_name", "at most 50"),
    "area_too_long": ({"area": "x" * 101}, None, "area", "at most 100 characters"),
    "too_many_fields": ({"field_label_5": "Fifth", "field_value_5": "one too many"}, None,
                        "fields", "at most 4 fields"),
    "label_too_long": ({"field_label_1": "x" * 256}, None, "field_label_1", "at most 255"),
    "value_too_long": ({"field_value_2": "x" * 256, "field_label_2": "Web"}, None,
                       "field_value_2", "at most 255"),
    "label_without_value": ({"field_label_3": "Web"}, None, "field_value_3", "Give this field a value"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_INPUT.values(), ids=BAD_INPUT.keys())
async def test_profile__bad_input_gets_a_message_next_to_its_field_and_changes_nothing(
    resident, case
):
    # Given a saved profile with an avatar
    await post_profile(resident, PROFILE, avatar=photo_bytes())
    before, files = await saved(resident), media_files(resident)
    changes, avatar, field, message = case

    # When the form comes with one bad value, and a good new display name beside it
    response = await post_profile(
        resident, {**PROFILE, "display_name": "Someone else", **changes}, avatar=avatar
    )

    # Then the form comes back with the message at that field, and the typed values
    page = await response.text()
    assert response.status == 422
    assert message in error_next_to(page, field)
    assert "Your profile was not changed" in page and 'value="she/her"' in page
    # and nothing changed: no row, no file, no Update
    assert await saved(resident) == before and media_files(resident) == files


async def test_profile__a_body_past_its_cap_gets_the_form_back_with_a_message(
    resident, monkeypatch
):
    from commonsfed.web import profile as web_profile

    monkeypatch.setattr(web_profile, "MAX_PROFILE_BODY", 2 * MB)
    before = await saved(resident)

    response = await post_profile(resident, PROFILE, avatar=b"\0" * (3 * MB))

    assert response.status == 413
    assert "much too large" in error_next_to(await response.text(), "avatar")
    assert await saved(resident) == before and media_files(resident) == []


async def test_profile__a_form_without_its_csrf_token_is_refused(resident):
    before = await saved(resident)

    response = await post_profile(resident, PROFILE, avatar=photo_bytes(), csrf=False)

    assert response.status == 403
    assert await saved(resident) == before and media_files(resident) == []


async def test_profile__the_settings_page_needs_a_login(client):
    response = await client.get("/settings/profile", allow_redirects=False)

    assert response.status == 303 and response.headers["Location"].startswith("/login")


# --- the Update of the Person, and whom it goes to -----------------------------------------


DAVE = "https://west.example/users/dave"  # the author of a remote listing alice answered


async def test_update_profile__one_update_to_followers_the_neighbourhoods_and_conversations(
    fed, db
):
    # Given bob follows alice, carol follows the neighbourhood, bert answered alice's listing
    # and alice answered a listing of dave's (bert and dave follow no one here)
    await add_remote_actor(db, DAVE)
    await db.execute("INSERT INTO follows (follower_uri, followed_uri, state) VALUES"
                     " ($1, $2, 'accepted'), ($3, $4, 'accepted')", BOB, ALICE, CAROL, GROUP)
    alice = await accounts_q.get_by_username(db, "alice")
    drill = await listings.create_listing(fed.pool, fed.settings, alice, LISTING_DEFAULTS, [])
    await db.execute("INSERT INTO conversations (listing_id, respondent_actor_uri)"
                     " VALUES ($1, $2)", drill.id, BERT)
    await db.execute("INSERT INTO conversations (respondent_account_id, remote_listing_uri,"
                     " remote_author_uri) VALUES ($1, $2, $3)",
                     alice.id, "https://west.example/notes/ladder", DAVE)  # fmt: skip

    # When she saves her profile
    await profiles.update_profile(fed, alice, PROFILE, None)

    # Then one Update of her Person goes out, once to each inbox
    (row,) = await db.fetch("SELECT uri, document FROM activities WHERE type = 'Update'")
    update = orjson.loads(row["document"])
    assert update["actor"] == ALICE and update["object"]["id"] == ALICE
    assert update["object"]["name"] == "Alice Liddell"
    assert update["cc"] == [f"{ALICE}/followers", f"{GROUP}/followers"]
    assert "bcc" not in update  # who is blind-copied is never shown
    inboxes = await db.fetch("SELECT inbox FROM deliveries WHERE activity_uri = $1"
                             " ORDER BY inbox", row["uri"])  # fmt: skip
    assert [r["inbox"] for r in inboxes] == [
        "https://east.example/inbox", "https://south.example/inbox", "https://west.example/inbox"]


async def test_update_profile__no_one_to_tell_still_records_the_update(fed, db):
    alice = await accounts_q.get_by_username(db, "alice")

    await profiles.update_profile(fed, alice, {"display_name": "Alice"}, None)

    assert await db.fetchval("SELECT count(*) FROM activities WHERE type = 'Update'") == 1
    assert await db.fetchval("SELECT count(*) FROM deliveries") == 0


# --- links verified with rel="me" ------------------------------------------------------------


@pytest.fixture
async def homepages(aiohttp_server):
    """A web server on loopback with pages that do, or do not, link back to alice."""
    hits: dict[str, int] = {}
    back = '<a rel="me" href="http://localhost/users/alice">my neighbourhood</a>'
    pages = {
        "/home": (f"<html><body><p>Alice's page.</p>{back}</body></html>", "text/html"),
        "/no-link": ('<a href="http://localhost/users/alice">no rel</a>', "text/html"),
        "/json": (back, "application/json"),
        "/big": ("<p>" + "x" * (2 * MB) + "</p>" + back, "text/html"),
    }

    async def page(request: web.Request) -> web.StreamResponse:
        hits[request.path] = hits.get(request.path, 0) + 1
        if request.path == "/moved":
            raise web.HTTPFound("/home")
        if request.path == "/slow":
            await asyncio.Event().wait()  # never answers
        body, kind = pages[request.path]
        return web.Response(text=body, content_type=kind)

    app = web.Application()
    app.router.add_get("/{name}", page)
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}", hits


async def test_rel_me__links_whose_page_links_back_are_verified_and_marked(resident, homepages):
    base, hits = homepages
    links = {"Home": "/home", "Moved": "/moved", "Plain": "/no-link", "Big": "/big"}
    fields = {}
    for number, (label, path) in enumerate(links.items(), start=1):
        fields |= {f"field_label_{number}": label, f"field_value_{number}": base + path}

    response = await post_profile(resident, {"display_name": "Alice", **fields})

    assert response.status == 200, await response.text()
    async with resident.server.app[POOL].acquire() as conn:
        rows = await conn.fetch("SELECT label, verified_at IS NOT NULL AS ok FROM profile_fields"
                                " ORDER BY position")  # fmt: skip
    assert {row["label"]: row["ok"] for row in rows} == {
        "Home": True, "Moved": True, "Plain": False, "Big": False}
    page = await (await resident.get("/users/alice")).text()
    assert page.count("✓ verified") == 2
    assert f'<a href="{base}/home" rel="me nofollow noopener noreferrer"' in page
    person = await (await resident.get("/users/alice", headers=AS2)).json(content_type=None)
    assert 'rel="me nofollow noopener noreferrer"' in person["attachment"][0]["value"]

    # Saving again checks only what is not verified yet (as Mastodon does)
    await post_profile(resident, {"display_name": "Alice", **fields})
    # (/home was read twice the first time: for itself, and at the end of /moved)
    assert hits["/home"] == 2 and hits["/moved"] == 1 and hits["/no-link"] == 2


async def test_rel_me__a_page_that_is_not_html_does_not_verify(fed, homepages):
    base, _ = homepages

    assert not await verify_link(fed, f"{base}/json", ALICE)
    assert await verify_link(fed, f"{base}/home", ALICE)


async def test_rel_me__a_page_that_does_not_answer_in_time_does_not_verify(
    fed, homepages, monkeypatch
):
    base, hits = homepages
    monkeypatch.setattr(relme, "VERIFY_SECONDS", 0.2)

    assert not await verify_link(fed, f"{base}/slow", ALICE)
    assert hits["/slow"] == 1


async def test_rel_me__outside_dev_mode_plain_http_and_internal_addresses_are_never_fetched(
    make_fed, homepages
):
    base, hits = homepages
    public = await make_fed(dev=False, resolve={})

    https = base.replace("http://", "https://")
    assert not await verify_link(public, f"{base}/home", ALICE)
    assert not await verify_link(public, f"{https}/home", ALICE)
    assert not await verify_link(public, "https://localhost/home", ALICE)
    assert hits == {}  # not a byte reached the loopback server


# --- remote profiles -------------------------------------------------------------------------


HOSTILE_BOB = {
    "id": BOB, "type": "Person", "preferredUsername": "bob", "name": "Bob the Builder",
    "summary": '<p>Hi!</p><script>alert(1)</script><img src="x" onerror="alert(1)">',
    "icon": {"type": "Image", "url": "https://cdn.example/bob.png"},
    "attachment": [{"type": "PropertyValue", "name": "Site",
                    "value": '<a href="javascript:alert(1)">click</a> <b>bold</b>'}],
    "location": {"type": "Place", "name": "Harbour side"},
    "inbox": f"{BOB}/inbox", "endpoints": {"sharedInbox": "https://south.example/inbox"},
    "publicKey": {"id": f"{BOB}#main-key", "owner": BOB, "publicKeyPem": "-----BEGIN PUBLIC KEY-----"},
}  # fmt: skip


async def test_remote_update__refreshes_the_cached_profile(fed, db):
    assert await handle(fed, activity("Update", BOB, HOSTILE_BOB)) == "done"

    cached = await actors_q.get_remote_profile(db, BOB)
    assert cached.name == "Bob the Builder" and cached.summary.startswith("<p>Hi!</p>")
    assert cached.profile.icon_url == "https://cdn.example/bob.png"
    assert cached.profile.area == "Harbour side"
    assert [(f.name, f.value) for f in cached.profile.fields] == [
        ("Site", '<a href="javascript:alert(1)">click</a> <b>bold</b>')]


async def test_remote_listing_page__shows_its_authors_profile_sanitised(fed, client):
    uri = "https://south.example/notes/ladder"
    assert await handle(fed, activity("Create", BOB, listing(uri, BOB))) == "done"
    assert await handle(fed, activity("Update", BOB, HOSTILE_BOB)) == "done"

    page = await (await client.get("/network/listing", params={"uri": uri})).text()

    card = page[page.index('<section class="person-card">'):]
    card = card[: card.index("</section>")]
    assert "Bob the Builder" in card and "@bob@south.example" in card
    assert "<p>Hi!</p>" in card and 'src="https://cdn.example/bob.png"' in card
    assert "Harbour side" in card and "<dt>Site</dt>" in card and "click" in card
    assert "<script" not in card and "onerror" not in card and "javascript:" not in card
    assert 'src="x"' not in card
