"""The listing pages through real HTTP: forms, messages next to fields, nothing stored on
bad input, who may change what, and how photos are served."""

from __future__ import annotations

import re

import aiohttp
import pytest

from commonsfed.services.photos import media_dir
from commonsfed.web.keys import POOL
from commonsfed.web.sessions import CSRF_FIELD
from tests.builders import csrf_from, photo_bytes, post_form, post_listing, register_and_login

MB = 1024 * 1024


async def stored(client) -> dict[str, int]:
    async with client.server.app[POOL].acquire() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM listings) AS listings,"
            " (SELECT count(*) FROM listing_photos) AS photos,"
            " (SELECT count(*) FROM listing_events) AS events"
        )
    return dict(row)


NOTHING = {"listings": 0, "photos": 0, "events": 0}


def media_files(settings) -> list:
    """The photos stored, without their renditions (services.photos)."""
    folder = media_dir(settings)
    return [p for p in folder.iterdir() if len(p.stem) == 22] if folder.exists() else []


def error_next_to(page: str, field: str) -> str:
    """The message shown under a field (the element the field's aria-describedby names)."""
    match = re.search(rf'<p class="error" id="e-{field}"[^>]*>([^<]*)</p>', page)
    assert match, f"no message next to {field}"
    return match.group(1)


async def create(client, fields=None, photos=()) -> str:
    response = await post_listing(client, fields, photos)
    assert response.status == 303, await response.text()
    return response.headers["Location"]


@pytest.fixture
async def bob(make_client):
    other = await make_client()
    await register_and_login(other, "bob")
    return other


# --- the new-listing pages -----------------------------------------------------------------


async def test_new_listing__asks_to_log_in_first(client):
    response = await client.get("/listings/new", allow_redirects=False)

    assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_new_listing__first_asks_purpose_and_kind(resident):
    page = await (await resident.get("/listings/new")).text()

    assert 'name="purpose"' in page and 'value="group_purchase"' in page
    assert 'name="title"' not in page


async def test_new_listing__choose_another_kind_goes_back_to_step_one(resident):
    page = await (await resident.get("/listings/new?purpose=request&kind=ride&change=1")).text()

    assert 'name="title"' not in page
    assert re.search(r'value="ride" required\s+checked', page)


async def test_new_listing__the_form_shows_only_the_chosen_kinds_fields(resident):
    lend = await (await resident.get("/listings/new?purpose=offer&kind=lend")).text()
    ride = await (await resident.get("/listings/new?purpose=request&kind=ride")).text()

    assert 'name="loan_days"' in lend and 'name="seats"' not in lend
    assert 'name="seats"' in ride and 'name="loan_days"' not in ride
    assert 'name="quantity"' in lend and 'name="quantity"' not in ride
    assert 'enctype="multipart/form-data"' in lend and f'name="{CSRF_FIELD}"' in lend


async def test_new_listing__is_published_and_shown(resident, settings):
    location = await create(
        resident,
        {
            "title": "Cordless drill",
            "kind": "lend",
            "loan_days": "7",
            "description": "Two **batteries**. <script>alert(1)</script>",
            "alt_1": "A red drill",
        },
        [("photo_1", "drill.jpg", photo_bytes())],
    )

    page = await (await resident.get(location)).text()
    assert "Cordless drill" in page and "<strong>batteries</strong>" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert re.search(r'<img src="/media/[A-Za-z0-9_-]{22}\.(webp|jpg)" alt="A red drill"', page)
    assert "7 days" in page and "Mark reserved" in page
    assert len(media_files(settings)) == 1


# --- bad input: a message next to the field, nothing stored ---------------------------------


async def test_new_listing__missing_fields_get_messages_and_keep_values(resident, settings):
    response = await post_listing(
        resident, {"kind": "ride", "title": "", "place": "", "origin": "Elm Street"}
    )

    page = await response.text()
    assert response.status == 422
    assert error_next_to(page, "title") == "Give your listing a title."
    assert error_next_to(page, "place") == "Say where: a street, a corner or a landmark."
    assert error_next_to(page, "destination") == "Say where the ride goes."
    assert error_next_to(page, "seats") == "Say how many seats are free."
    assert 'value="Elm Street"' in page  # what was typed stays
    assert await stored(resident) == NOTHING


async def test_new_listing__quantity_minus_one(resident):
    response = await post_listing(resident, {"quantity": "-1"})

    assert response.status == 422
    assert error_next_to(await response.text(), "quantity") == "Enter a whole number of 1 or more."
    assert await stored(resident) == NOTHING


async def test_new_listing__a_date_in_the_past(resident):
    response = await post_listing(resident, {"expires_on": "2001-01-01"})

    assert response.status == 422
    assert error_next_to(await response.text(), "expires_on") == "Choose a date in the future."
    assert await stored(resident) == NOTHING


async def test_new_listing__a_30_mb_photo_gets_a_message_not_a_bare_413(resident, settings):
    huge = photo_bytes() + b"\0" * (30 * MB)

    response = await post_listing(resident, {"alt_1": "Apples"}, [("photo_1", "big.jpg", huge)])

    page = await response.text()
    assert response.status == 422
    assert "larger than 10 MB" in error_next_to(page, "photo_1")
    assert 'value="A bag of apples"' in page  # the form came back, with its values
    assert await stored(resident) == NOTHING and media_files(settings) == []


async def test_new_listing__a_streamed_body_beyond_every_limit_gets_the_form_back(
    resident, monkeypatch
):
    from commonsfed.web import listings as web_listings

    monkeypatch.setattr(web_listings, "MAX_FORM_BODY", 2 * MB)
    page = await (await resident.get("/listings/new?purpose=offer&kind=give")).text()

    async def endless_photo():  # no length known up front: sent chunked
        for _ in range(6):
            yield b"\0" * MB

    data = aiohttp.FormData()
    for name, value in {
        CSRF_FIELD: csrf_from(page),
        "purpose": "offer",
        "kind": "give",
        "title": "Apples",
        "alt_1": "x",
    }.items():
        data.add_field(name, value)
    data.add_field("photo_1", endless_photo(), filename="a.jpg")
    response = await resident.post("/listings/new", data=data)

    page = await response.text()
    assert response.status == 413
    assert "too large together" in error_next_to(page, "photos")
    assert 'value="Apples"' in page
    assert await stored(resident) == NOTHING


async def test_new_listing__a_declared_body_beyond_every_limit_gets_a_page_not_a_bare_413(
    resident, monkeypatch
):
    from commonsfed.web import listings as web_listings

    monkeypatch.setattr(web_listings, "MAX_FORM_BODY", 2 * MB)
    response = await post_listing(
        resident, {"alt_1": "x"}, [("photo_1", "a.jpg", b"\0" * (3 * MB))]
    )

    assert response.status == 413
    assert "too large together" in await response.text()
    assert await stored(resident) == NOTHING


async def test_new_listing__a_file_that_is_not_an_image(resident, settings):
    response = await post_listing(
        resident,
        {"alt_1": "A letter"},
        [("photo_1", "letter.jpg", b"Dear neighbour, hello.\n" * 50)],
    )

    assert response.status == 422
    assert error_next_to(await response.text(), "photo_1") == (
        "This file is not a photo (JPEG, PNG, WebP or GIF)."
    )
    assert await stored(resident) == NOTHING and media_files(settings) == []


async def test_new_listing__a_photo_without_alt_text(resident, settings):
    response = await post_listing(resident, {}, [("photo_1", "a.jpg", photo_bytes())])

    assert response.status == 422
    assert "Describe this photo" in error_next_to(await response.text(), "alt_1")
    assert await stored(resident) == NOTHING and media_files(settings) == []


async def test_new_listing__more_than_four_photos(resident, settings):
    fields = {f"alt_{n}": f"Photo {n}" for n in range(1, 6)}
    photos = [(f"photo_{n}", f"{n}.jpg", photo_bytes()) for n in range(1, 6)]

    response = await post_listing(resident, fields, photos)

    assert response.status == 422
    assert "at most 4 photos" in error_next_to(await response.text(), "photos")
    assert await stored(resident) == NOTHING and media_files(settings) == []


async def test_new_listing__multipart_without_csrf_token_is_refused(resident):
    data = aiohttp.FormData(default_to_multipart=True)
    for name, value in {
        "purpose": "offer",
        "kind": "give",
        "title": "x",
        "category": "food",
        "place": "here",
    }.items():
        data.add_field(name, value)

    response = await resident.post("/listings/new", data=data, allow_redirects=False)

    assert response.status == 403
    assert await stored(resident) == NOTHING


async def test_new_listing__a_url_encoded_form_without_photos_works_too(resident):
    response = await post_form(
        resident,
        "/listings/new",
        {
            "purpose": "offer",
            "kind": "give",
            "title": "Chairs",
            "category": "household",
            "place": "Oak Lane",
        },
        form_path="/listings/new?purpose=offer&kind=give",
        allow_redirects=False,
    )

    assert response.status == 303
    assert (await stored(resident))["listings"] == 1


# --- life cycle through the pages ----------------------------------------------------------


async def change(client, location: str, state: str):
    return await post_form(
        client, f"{location}/state", {"state": state}, form_path=location, allow_redirects=False
    )


async def test_listing_page__the_author_reserves_then_completes(resident):
    location = await create(resident)

    reserved = await change(resident, location, "reserved")
    completed = await change(resident, location, "completed")

    assert reserved.status == completed.status == 303
    page = await (await resident.get(location)).text()
    assert "This listing is <strong>completed</strong>" in page
    assert "/edit" not in page and "Mark reserved" not in page


async def test_listing_page__another_resident_gets_403_and_nothing_changes(resident, bob):
    location = await create(resident)

    page = await (await bob.get(location)).text()
    refused = await post_form(
        bob, f"{location}/state", {"state": "withdrawn"}, form_path=location, allow_redirects=False
    )
    edit_page = await bob.get(f"{location}/edit", allow_redirects=False)

    assert "Mark reserved" not in page and "Withdraw" not in page
    assert refused.status == 403 and edit_page.status == 403
    assert "Open" in await (await resident.get(location)).text()
    assert (await stored(resident))["events"] == 1


async def test_listing_page__another_resident_cannot_post_the_edit_form(resident, bob):
    location = await create(resident)
    uid = location.rsplit("/", 1)[1]

    response = await post_listing(
        bob, {"title": "Stolen"}, path=f"/listings/{uid}/edit", form_path=location
    )

    assert response.status == 403
    assert "A bag of apples" in await (await resident.get(location)).text()


async def test_listing_page__an_unknown_listing_is_404(client):
    assert (await client.get("/listings/AAAAAAAAAAA")).status == 404


async def test_listing_page__a_withdrawn_listing_says_so_to_everyone(resident, client, bob):
    location = await create(resident)
    await change(resident, location, "withdrawn")

    page = await (await bob.get(location)).text()

    assert "This listing is <strong>withdrawn</strong>" in page
    assert "takes no more answers" in page


# --- editing -------------------------------------------------------------------------------


async def test_edit__the_form_shows_what_is_stored(resident):
    location = await create(resident, {"kind": "lend", "loan_days": "14", "quantity": "2"})

    page = await (await resident.get(f"{location}/edit")).text()

    assert 'value="14"' in page and 'value="2"' in page and 'value="A bag of apples"' in page


async def test_edit__removes_a_photo_adds_another_and_renames_alt(resident, settings):
    location = await create(
        resident,
        {"alt_1": "First", "alt_2": "Second"},
        [("photo_1", "1.jpg", photo_bytes()), ("photo_2", "2.png", photo_bytes("PNG"))],
    )
    uid = location.rsplit("/", 1)[1]
    page = await (await resident.get(f"{location}/edit")).text()
    ids = re.findall(r'name="photo_alt_(\d+)"', page)
    old_files = set(media_files(settings))

    response = await post_listing(
        resident,
        {
            f"remove_photo_{ids[0]}": "on",
            f"photo_alt_{ids[1]}": "Second, renamed",
            "alt_1": "Third",
            "title": "Apples and pears",
        },
        [("photo_1", "3.gif", photo_bytes("GIF"))],
        path=f"/listings/{uid}/edit",
        form_path=f"{location}/edit",
    )

    assert response.status == 303, await response.text()
    page = await (await resident.get(location)).text()
    # the gallery's thumbnails: one a photo, in order
    alts = re.findall(r'<img src="/media/[^"]+" alt="([^"]+)"[^>]*loading="lazy"', page)
    assert alts == ["Second, renamed", "Third"] and "Apples and pears" in page
    assert len(media_files(settings)) == 2 and len(old_files & set(media_files(settings))) == 1


async def test_edit__bad_input_changes_nothing(resident):
    location = await create(resident)
    uid = location.rsplit("/", 1)[1]

    response = await post_listing(
        resident,
        {"title": "", "quantity": "-1"},
        path=f"/listings/{uid}/edit",
        form_path=f"{location}/edit",
    )

    page = await response.text()
    assert response.status == 422 and error_next_to(page, "title")
    assert "A bag of apples" in await (await resident.get(location)).text()
    assert (await stored(resident))["events"] == 1


# --- pledges and portions through the pages ------------------------------------------------


async def test_pledge__a_bad_quantity_is_shown_next_to_the_field(resident, bob):
    location = await create(
        resident,
        {
            "kind": "group_purchase",
            "target_quantity": "20",
            "unit": "kg",
            "deadline": "2099-01-01",
            "no_expiry": "on",
        },
    )

    bad = await post_form(bob, f"{location}/pledge", {"quantity": "-1"}, form_path=location)
    good = await post_form(bob, f"{location}/pledge", {"quantity": "5"}, form_path=location)

    assert bad.status == 422
    assert error_next_to(await bad.text(), "quantity") == "Enter a whole number."
    assert "5 kg" in await good.text()


async def test_claim__the_last_portion_closes_the_offer(resident, bob):
    location = await create(resident, {"kind": "pay_it_forward", "portions": "1"})

    response = await post_form(bob, f"{location}/claim", {}, form_path=location)

    assert "This listing is <strong>completed</strong>" in await response.text()


# --- my listings, the nav, categories ------------------------------------------------------


async def test_my_listings__lists_mine_with_their_states(resident, bob):
    location = await create(resident, {"title": "Garden chairs"})
    await change(resident, location, "reserved")

    mine = await (await resident.get("/my/listings")).text()
    bobs = await (await bob.get("/my/listings")).text()

    assert "Garden chairs" in mine and "Reserved" in mine
    assert "Garden chairs" not in bobs
    assert 'href="/listings/new"' in mine


async def test_admin_categories__only_for_admins(resident, settings):
    assert (await resident.get("/admin/categories")).status == 403
    async with resident.server.app[POOL].acquire() as conn:
        await conn.execute("UPDATE accounts SET role = 'admin' WHERE username = 'alice'")

    added = await post_form(resident, "/admin/categories", {"name": "Bicycles"})
    renamed = await post_form(
        resident, "/admin/categories/rename", {"slug": "food", "name": "Food and drink"}
    )
    empty = await post_form(resident, "/admin/categories/rename", {"slug": "food", "name": ""})

    assert added.status == renamed.status == 200
    page = await renamed.text()
    assert "<code>bicycles</code>" in page and 'value="Food and drink"' in page
    assert empty.status == 422 and "Give the category a name." in await empty.text()


# --- photos as served ----------------------------------------------------------------------


async def test_media__served_with_nosniff_its_type_and_a_long_cache(resident, client):
    location = await create(
        resident, {"alt_1": "Apples"}, [("photo_1", "a.png", photo_bytes("PNG"))]
    )
    page = await (await resident.get(location)).text()
    src = re.search(r'<img src="(/media/[^"]+)"', page).group(1)

    response = await client.get(src)

    assert response.status == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"] in ("image/webp", "image/jpeg")
    assert "max-age=31536000" in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    "path",
    [
        "/media/..%2Fsecret.key",
        "/media/..%2F..%2Fetc%2Fpasswd",
        "/media/secret.key",
        "/media/%2E%2E%2Fsecret.key",
        "/media/AAAAAAAAAAAAAAAAAAAAAA.webp",
        "/media/x.svg",
        "/media/",
    ],
)
async def test_media__anything_but_a_stored_server_made_name_is_404(client, settings, path):
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "secret.key").write_text("do not serve me")

    response = await client.get(path)

    assert response.status == 404
    assert "do not serve me" not in await response.text()


async def test_csrf_token_of_the_form_page_is_what_the_builder_sends(resident):
    # guards the builder: the new form page carries the token the upload handler checks
    page = await (await resident.get("/listings/new?purpose=offer&kind=give")).text()

    assert csrf_from(page)
