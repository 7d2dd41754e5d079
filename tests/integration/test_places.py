"""The neighbourhood's named places: the admins' list at /admin/places (logged, refusing bad
input whole), a resident's choice of one in the listing form, "within N km" on /explore and
the distance on its cards, and the map's tile setting."""

from __future__ import annotations

import html
import re

import pytest

from commonsfed.config import Settings
from commonsfed.db import places as places_q
from commonsfed.services import accounts, listings
from commonsfed.web.keys import POOL
from tests.builders import LOOPBACK_TILES, post_form, post_listing
from tests.integration.test_explore import remote_listing, store_remote

TITLE_RE = re.compile(r'<h2><a href="([^"]+)"[^>]*>([^<]*)</a></h2>')
LIBRARY = {"name": "The library", "latitude": "52.3731", "longitude": "4.8922"}


async def add(client, **fields):
    return await post_form(client, "/admin/places", {**LIBRARY, **fields})


async def stored(pool) -> dict:
    async with pool.acquire() as conn:
        places = await conn.fetch("SELECT name, latitude, longitude FROM places ORDER BY id")
        log = await conn.fetch(
            "SELECT action, target, details FROM moderation_log WHERE target_kind = 'place'"
            " ORDER BY id"
        )
    return {"places": [tuple(row) for row in places], "log": [tuple(row[:2]) for row in log]}


async def place_id(pool, name: str) -> int:
    async with pool.acquire() as conn:
        return next(p.id for p in await places_q.all_places(conn) if p.name == name)


def message_of(page: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="e-{field_id}"[^>]*>([^<]*)</p>', page)
    assert match, f"no message next to {field_id}"
    return html.unescape(match.group(1))


# --- the admins' list --------------------------------------------------------------------


async def test_places_page__an_admin_adds_renames_moves_and_removes_each_logged(ada, pool):
    # Given the admin's list, linked from the administration's menu
    page = await (await ada.get("/admin/places")).text()
    assert '<a href="/admin/places" aria-current="page">Places</a>' in page

    # When the admin adds the library (rounded as listings are), renames it, moves it
    response = await add(ada)
    assert response.status == 200 and "The library" in await response.text()
    library = await place_id(pool, "The library")
    renamed = {"name": "Central library", "latitude": "52.37", "longitude": "4.89"}
    assert (await post_form(ada, f"/admin/places/{library}", renamed, "/admin/places")).ok
    moved = {**renamed, "latitude": "52.38", "longitude": "4.90"}
    assert (await post_form(ada, f"/admin/places/{library}", moved, "/admin/places")).ok

    # Then the list holds it as changed, and every change is in the moderation log
    assert (await stored(pool))["places"] == [("Central library", 52.38, 4.9)]
    # When the admin removes it
    assert (await post_form(ada, f"/admin/places/{library}/remove", {}, "/admin/places")).ok
    after = await stored(pool)
    assert after["places"] == []
    assert after["log"] == [
        ("add_place", "The library"),
        ("change_place", "Central library"),
        ("change_place", "Central library"),
        ("remove_place", "Central library"),
    ]
    assert "remove place" in await (await ada.get("/admin/log")).text()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "  "}, "name", "Give the place a name."),
        ({"latitude": "91"}, "latitude", "Enter a latitude from -90 to 90, like 52.37."),
        ({"longitude": "-180.5"}, "longitude", "Enter a longitude from -180 to 180, like 4.89."),
        ({"latitude": "north"}, "latitude", "Enter a latitude from -90 to 90, like 52.37."),
        ({"longitude": "nan"}, "longitude", "Enter a longitude from -180 to 180, like 4.89."),
        ({"latitude": ""}, "latitude", "Give the place a latitude."),
        ({"name": "x" * 121}, "name", "Use at most 120 characters."),
    ],
)
async def test_places_page__refuses_bad_input_and_writes_nothing(ada, pool, fields, field, message):
    response = await add(ada, **fields)

    assert response.status == 422
    assert message_of(await response.text(), field).startswith(message)
    assert await stored(pool) == {"places": [], "log": []}


async def test_places_page__refuses_a_second_place_of_the_same_name(ada, pool):
    await add(ada)

    response = await add(ada, name="THE LIBRARY", latitude="1", longitude="2")

    assert response.status == 422
    assert message_of(await response.text(), "name") == (
        "A place called “THE LIBRARY” is on the list already."
    )
    assert await stored(pool) == {
        "places": [("The library", 52.37, 4.89)],
        "log": [("add_place", "The library")],
    }


async def test_places_page__a_change_to_a_taken_name_or_bad_coordinates_changes_nothing(ada, pool):
    await add(ada)
    await add(ada, name="The station", latitude="52.38", longitude="4.90")
    station = await place_id(pool, "The station")
    before = await stored(pool)

    taken = {"name": "the library", "latitude": "52.38", "longitude": "4.90"}
    response = await post_form(ada, f"/admin/places/{station}", taken, "/admin/places")
    assert response.status == 422
    assert "is on the list already" in message_of(await response.text(), f"place-{station}-name")
    off_map = {"name": "The station", "latitude": "52.38", "longitude": "400"}
    response = await post_form(ada, f"/admin/places/{station}", off_map, "/admin/places")
    assert response.status == 422
    assert "Enter a longitude" in message_of(await response.text(), f"place-{station}-longitude")

    assert await stored(pool) == before


async def test_places_page__is_for_admins_only(ada, mo, rex, pool):
    for client in (mo, rex):
        assert (await client.get("/admin/places")).status == 403
        assert (await add(client, name="Sneaky", latitude="1", longitude="1")).status in (403,)
    assert "/admin/places" not in await (await mo.get("/admin")).text()
    assert await stored(pool) == {"places": [], "log": []}


# --- the listing form --------------------------------------------------------------------


async def test_listing_form__a_chosen_place_gives_the_listing_its_name_and_coordinates(ada, pool):
    # Given a named place
    await add(ada)
    library = await place_id(pool, "The library")
    form = await (await ada.get("/listings/new?purpose=offer&kind=give")).text()
    assert f'<option value="{library}" data-latitude="52.37" data-longitude="4.89"' in form

    # When a resident chooses it (typing nothing, or typing something else)
    response = await post_listing(
        ada, {"place_id": str(library), "place": "", "latitude": "1", "longitude": "2"}
    )

    # Then the listing says the place's name and carries its coordinates
    assert response.status == 303, await response.text()
    listing = await listings.get_listing(pool, response.headers["Location"].rsplit("/", 1)[1])
    assert (listing.place, listing.latitude, listing.longitude) == ("The library", 52.37, 4.89)

    # And editing shows the same place chosen, and keeps it
    edit = await (await ada.get(f"/listings/{listing.uid}/edit")).text()
    assert (
        f'<option value="{library}" data-latitude="52.37" data-longitude="4.89" selected>' in edit
    )


async def test_listing_form__a_place_no_longer_listed_is_refused(ada, pool):
    await add(ada)
    library = await place_id(pool, "The library")
    await post_form(ada, f"/admin/places/{library}/remove", {}, "/admin/places")

    response = await post_listing(ada, {"place_id": str(library), "place": ""})

    assert response.status == 422
    assert message_of(await response.text(), "place_id").startswith("This place is no longer")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM listings") == 0


async def test_listing_form__typed_coordinates_still_work_beside_the_places(ada, pool):
    await add(ada)

    response = await post_listing(
        ada, {"place_id": "", "place": "Oak Lane", "latitude": "52.111", "longitude": "5.119"}
    )

    listing = await listings.get_listing(pool, response.headers["Location"].rsplit("/", 1)[1])
    assert (listing.place, listing.latitude, listing.longitude) == ("Oak Lane", 52.11, 5.12)
    page = await (await ada.get(f"/listings/{listing.uid}")).text()
    assert 'data-map="show" data-latitude="52.11" data-longitude="5.12"' in page
    assert '<script src="/static/vendor/leaflet/leaflet.js' in page


# --- /explore ----------------------------------------------------------------------------


@pytest.fixture
async def around_amsterdam(ada, pool, settings):
    """The library in Amsterdam, and listings at 0, about 4, 9 and 35 km from it."""
    await add(ada)
    alice = await accounts.get_by_username(pool, "ada")
    for title, lat, lon in (
        ("At the library", "52.37", "4.89"),
        ("In Amstelveen", "52.33", "4.87"),  # 4.7 km
        ("Box corner", "52.42", "4.98"),  # inside a 9 km box, 8.5 km away: out of 8 km
        ("In Utrecht", "52.09", "5.12"),  # 35 km
        ("Nowhere known", "", ""),
    ):
        fields = {"purpose": "offer", "kind": "give", "title": title, "category": "food",
                  "place": title, "latitude": lat, "longitude": lon}  # fmt: skip
        await listings.create_listing(pool, settings, alice, fields, [])
    return await place_id(pool, "The library")


async def titles_and_distances(client, query: str) -> list[tuple[str, str | None]]:
    page = await (await client.get("/explore" + query)).text()
    cards = re.findall(r'<li class="listing-card.*?</li>', page, re.S)
    result = []
    for card in cards:
        title = html.unescape(TITLE_RE.search(card).group(2))
        distance = re.search(r'<span class="card-distance">([^<]*) away</span>', card)
        result.append((title, distance.group(1) if distance else None))
    return result


async def test_explore__within_km_of_a_place_finds_what_is_in_range(ada, around_amsterdam):
    library = around_amsterdam

    found = await titles_and_distances(ada, f"?place={library}&km=8")

    # the corner of the box (8.5 km away) is out, as are the far and the unplaced listings
    assert found == [("In Amstelveen", "4.7 km"), ("At the library", "0.0 km")]
    wide = await titles_and_distances(ada, f"?place={library}&km=50")
    assert [title for title, _ in wide] == [
        "In Utrecht",
        "Box corner",
        "In Amstelveen",
        "At the library",
    ]
    assert dict(wide)["In Utrecht"] == "35 km"


async def test_explore__coordinates_give_distances_too(ada, around_amsterdam):
    found = dict(await titles_and_distances(ada, "?lat=52.09&lon=5.12&km=1"))

    assert found == {"In Utrecht": "0.0 km"}


async def test_explore__without_a_point_cards_show_no_distance(ada, around_amsterdam):
    found = await titles_and_distances(ada, "")

    assert len(found) == 5 and all(distance is None for _, distance in found)


async def test_explore__an_unknown_place_or_a_radius_alone_gets_a_message(ada, around_amsterdam):
    page = await (await ada.get("/explore?place=999999")).text()
    assert "Choose a place from the list." in page
    # a radius alone measures from the neighbourhood's first named place, the library
    assert [title for title, _ in await titles_and_distances(ada, "?km=3")] == ["At the library"]
    assert len(await titles_and_distances(ada, "?place=999999")) == 5  # left out, not failed


# --- the map's setting -------------------------------------------------------------------


async def test_map_setting__openstreetmap_by_default_and_an_admin_may_change_it(ada):
    assert Settings().map_tiles == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert Settings().map_attribution == "© OpenStreetMap contributors"
    form = await (await ada.get("/listings/new?purpose=offer&kind=give")).text()
    assert f'data-tiles="{LOOPBACK_TILES}"' in form  # the tests' own, on loopback
    assert 'data-attribution="© OpenStreetMap contributors"' in form

    fields = {
        "instance_name": "Elm Street Commons", "instance_description": "Neighbours sharing.",
        "rules": "", "contact_email": "", "registration": "open", "federation": "open",
        "group_follows": "auto",
    }  # fmt: skip
    for tiles, message in (
        ("http://tiles.example/{z}/{x}/{y}.png", "must be an https:// address"),
        ("https://tiles.example/{z}/{y}.png", "must hold {z}, {x} and {y}"),
        ('https://tiles.example/{z}/{x}/{y}.png" onerror="x', "must not hold spaces, quotes"),
    ):
        response = await post_form(ada, "/admin/settings", {**fields, "map_tiles": tiles})
        assert response.status == 422
        assert message in html.unescape(await response.text())
    async with ada.server.app[POOL].acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM node_settings") == 0

    good = {**fields, "map_tiles": "https://tiles.example/{z}/{x}/{y}.png",
            "map_attribution": "Tiles: example"}  # fmt: skip
    response = await post_form(ada, "/admin/settings", good)
    assert response.status == 200, re.findall(r'class="error"[^>]*>([^<]*)<', await response.text())
    form = await (await ada.get("/listings/new?purpose=offer&kind=give")).text()
    assert 'data-tiles="https://tiles.example/{z}/{x}/{y}.png"' in form
    assert 'data-attribution="Tiles: example"' in form


async def test_map_assets__leaflet_and_our_script_are_served_by_the_node(client):
    for path, kind in (
        ("/static/vendor/leaflet/leaflet.js", "javascript"),
        ("/static/vendor/leaflet/leaflet.css", "css"),
        ("/static/vendor/leaflet/images/marker-icon.png", "png"),
        ("/static/map.js", "javascript"),
    ):
        response = await client.get(path)
        assert response.status == 200 and kind in response.headers["Content-Type"], path


async def test_explore__within_km_measures_remote_listings_too(ada, pool):
    # Given two listings from south.test: one in Paris, one in the corner of a 5 km box
    paris = remote_listing()
    corner = remote_listing(id="https://south.test/listings/corner", name="In the corner",
                            location={"type": "Place", "name": "Corner", "latitude": 48.90,
                                      "longitude": 2.41})  # fmt: skip
    for document in (paris, corner):
        await store_remote(pool, document)

    # When a resident looks everywhere within 5 km of a point in Paris
    found = await titles_and_distances(ada, "?where=everywhere&lat=48.86&lon=2.35&km=5")

    # Then the listing 0.4 km away is found with its distance; the one 6.3 km away is not
    assert found == [("Swap: tomato seedlings for a jar of jam", "0.4 km")]
