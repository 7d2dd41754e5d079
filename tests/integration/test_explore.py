"""The neighbourhood page: open listings, newest first, filtered, paged; here and across
federated neighbourhoods."""

from __future__ import annotations

import copy
import html
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from commonsfed.ap.activities import remote_object_from_ap
from commonsfed.db import objects
from commonsfed.services import accounts, listings, search, sorted_search
from commonsfed.web.keys import POOL
from tests.builders import photo_bytes, post_listing, register_and_login

DATA = Path(__file__).parent.parent / "data"
GIVE = {"purpose": "offer", "kind": "give", "title": "Apples", "category": "food",
        "place": "Elm Street"}  # fmt: skip
TITLE_RE = re.compile(r'<h2><a href="([^"]+)"[^>]*>([^<]*)</a></h2>')


@pytest.fixture
def pool(client):
    return client.server.app[POOL]


@pytest.fixture
async def alice(pool, settings):
    return await accounts.register(
        pool, settings, username="alice", email="alice@e.org",
        password="correct horse battery", by_admin=True,
    )  # fmt: skip


@pytest.fixture
def post(pool, settings, alice):
    async def make(**fields):
        return await listings.create_listing(pool, settings, alice, {**GIVE, **fields}, [])

    return make


async def titles(client, query: str = "") -> list[str]:
    response = await client.get("/explore" + query)
    assert response.status == 200, await response.text()
    return [html.unescape(title) for _, title in TITLE_RE.findall(await response.text())]


def remote_listing(**changes) -> dict:
    """The captured FEP-0837 offer from south.test, still open, with `changes`."""
    document = json.loads((DATA / "fep0837_offer_note.json").read_text())
    document.pop("endTime", None)
    document["published"] = datetime.now(UTC).isoformat()
    return {**copy.deepcopy(document), **changes}


async def store_remote(pool, document: dict) -> None:
    async with pool.acquire() as conn:
        assert await objects.insert_remote_object(conn, remote_object_from_ap(document))


# --- what is shown ---------------------------------------------------------------------------


async def test_explore__open_and_reserved_newest_first__closed_never(
    client, pool, settings, alice, post
):
    await post(title="Completed ladder")
    done = await post(title="Completed ladder")
    await listings.change_state(pool, settings, alice, done.uid, "completed")
    gone = await post(title="Withdrawn sofa")
    await listings.change_state(pool, settings, alice, gone.uid, "withdrawn")
    soon = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    await post(title="Expired bread", expires_on=soon)
    await listings.expire_due(pool, settings, now=datetime.now(UTC) + timedelta(days=3))
    reserved = await post(title="Reserved drill")
    await listings.change_state(pool, settings, alice, reserved.uid, "reserved")
    await post(title="Fresh pears")

    response = await client.get("/explore")
    page = await response.text()

    assert await titles(client) == ["Fresh pears", "Reserved drill", "Completed ladder"]
    assert "Withdrawn sofa" not in page and "Expired bread" not in page
    assert "Reserved</span>" in page


async def test_explore__card_has_photo_with_alt_category_place_and_age(resident):
    photo = [("photo_1", "pears.jpg", photo_bytes())]
    response = await post_listing(
        resident, {"title": "Pears", "alt_1": "A crate of green pears"}, photos=photo
    )
    assert response.status == 303

    page = await (await resident.get("/explore")).text()

    assert re.search(r'<img class="thumb" src="/media/[^"]+" alt="A crate of green pears"', page)
    assert '<a href="/categories/food">Food</a>' in page and "Give away</span>" in page
    assert "Corner of Elm Street and Oak Lane" in page and "just now" in page


async def test_home__shows_the_latest_listings_and_links_to_the_page(client, post):
    await post(title="Spare bicycle pump")

    page = await (await client.get("/")).text()

    assert "<h1>Elm Street Commons</h1>" in page
    assert "Spare bicycle pump" in page and 'href="/explore"' in page
    assert 'type="application/atom+xml"' in page


# --- filters ---------------------------------------------------------------------------------


async def test_explore__each_filter_narrows(client, post):
    await post(title="Apples to give")
    await post(title="Drill to lend", kind="lend", category="tools", loan_days="7")
    await post(title="Asking for a ladder", purpose="request", category="tools")

    assert await titles(client, "?purpose=request") == ["Asking for a ladder"]
    assert await titles(client, "?kind=lend") == ["Drill to lend"]
    assert await titles(client, "?category=tools") == ["Asking for a ladder", "Drill to lend"]
    assert await titles(client, "?category=tools&purpose=offer") == ["Drill to lend"]


async def test_explore__words_search_the_description(client, post):
    await post(title="Jam", description="Home-made **rhubarb** jam, three jars.")
    await post(title="Bread", description="Sourdough, baked this morning.")

    assert await titles(client, "?q=rhubarb") == ["Jam"]
    assert await titles(client, "?q=jam+-rhubarb") == []
    assert await titles(client, '?q="baked this"') == ["Bread"]
    assert await titles(client, "?q=%21%21%21") == []  # no words at all: nothing, no error


async def test_explore__near_a_place_by_name_and_by_coordinates(client, post):
    await post(title="On Elm", place="Corner of Elm Street and Oak Lane")
    await post(title="In Amsterdam", place="Dam square", latitude="52.37", longitude="4.89")
    await post(title="In Utrecht", place="Neude", latitude="52.09", longitude="5.12")

    assert await titles(client, "?near=elm") == ["On Elm"]
    assert await titles(client, "?near=oak+lane") == ["On Elm"]
    assert await titles(client, "?near=dam") == ["In Amsterdam"]
    assert await titles(client, "?lat=52.36&lon=4.9&km=5") == ["In Amsterdam"]
    assert await titles(client, "?lat=52.2&lon=5.0&km=50") == ["In Utrecht", "In Amsterdam"]


async def test_explore__bad_filter_values_get_messages_not_errors(client, post):
    await post(title="Apples")
    query = "?kind=spaceship&category=nope&purpose=x&where=mars&lat=north&lon=4&km=9999&after=%25"

    response = await client.get("/explore" + query)
    page = await response.text()

    assert response.status == 200
    for message in ("Choose a kind from the list.", "Choose a category from the list.",
                    "Choose offers or requests.", "Choose here or everywhere.",
                    "Enter a latitude from -90 to 90", "Enter a distance from 0.1 to 100 km.",
                    "This page link is damaged."):  # fmt: skip
        assert message in page
    assert await titles(client, query) == ["Apples"]  # the bad filters are left out
    long = await client.get("/explore?q=" + "a" * 300)
    assert "Search for at most 200 characters." in await long.text()


async def test_explore__unknown_resident_gets_a_message(client, post):
    await post(title="Apples")

    page = await (await client.get("/explore?author=nobody")).text()

    assert "No resident here is called nobody." in page
    assert await titles(client, "?author=alice") == ["Apples"]


# --- paging ----------------------------------------------------------------------------------


async def test_explore__pages_are_stable_when_listings_arrive(client, post):
    for n in range(45):
        await post(title=f"Thing {n:02d}")

    first = await client.get("/explore")
    first_text = await first.text()
    older = html.unescape(re.search(r'<a rel="next" href="([^"]+)"', first_text).group(1))
    await post(title="Posted while paging")
    second = await titles(client, older[len("/explore") :])
    third_page = await (await client.get(older)).text()
    last = html.unescape(re.search(r'<a rel="next" href="([^"]+)"', third_page).group(1))

    assert [t for _, t in TITLE_RE.findall(first_text)][:2] == ["Thing 44", "Thing 43"]
    assert second == [f"Thing {n:02d}" for n in range(24, 4, -1)]
    assert await titles(client, last[len("/explore") :]) == [
        f"Thing {n:02d}" for n in range(4, -1, -1)
    ]
    assert 'rel="next"' not in await (await client.get(last)).text()


# --- across federated neighbourhoods ---------------------------------------------------------


async def test_explore__everywhere_shows_remote_listings_with_their_origin(client, pool, post):
    await post(title="Apples here")
    await store_remote(pool, remote_listing())

    here = await titles(client)
    everywhere = await client.get("/explore?where=everywhere")
    page = await everywhere.text()

    assert here == ["Apples here"]
    assert await titles(client, "?where=everywhere") == [
        "Swap: tomato seedlings for a jar of jam", "Apples here",
    ]  # fmt: skip
    local_page = "/network/listing?uri=https%3A%2F%2Fsouth.test%2Flistings%2F01HX7B2C4D6E8F0G2H4J6K8M0N"
    assert f'href="{local_page.replace("&", "&amp;")}"' in page
    assert '<span class="origin">south.test</span>' in page
    remote_page = await (await client.get(local_page)).text()
    assert "Swap: tomato seedlings for a jar of jam" in remote_page
    assert 'href="https://south.test/listings/01HX7B2C4D6E8F0G2H4J6K8M0N/page"' in remote_page
    assert await titles(client, "?where=everywhere&category=garden&q=seedlings") == [
        "Swap: tomato seedlings for a jar of jam"
    ]
    assert await titles(client, "?where=everywhere&purpose=request") == []


async def test_explore__remote_text_is_shown_as_text(client, pool):
    await store_remote(pool, remote_listing(name="<script>alert(1)</script> & <b>more</b>"))

    page = await (await client.get("/explore?where=everywhere")).text()

    assert "<script>alert(1)" not in page and "<b>more" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;more&lt;/b&gt;" in page


async def test_explore__remote_listings_that_ended_do_not_show(client, pool):
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    await store_remote(pool, remote_listing(endTime=past))
    finished = remote_listing(id="https://south.test/listings/finished")
    finished["publishes"] = {**finished["publishes"], "vf:finished": True}
    await store_remote(pool, finished)

    assert await titles(client, "?where=everywhere") == []


async def test_find__merges_local_and_remote_pages_without_gaps(pool, post):
    for n in range(5):
        await post(title=f"Local {n}")
        document = remote_listing(id=f"https://south.test/listings/r{n}", name=f"Remote {n}")
        await store_remote(pool, document)
    categories = {"food", "garden"}

    seen, after = [], None
    for _ in range(10):
        query = {"where": "everywhere", **({"after": after} if after else {})}
        page = await search.find(pool, search.read_search(query, categories), limit=3)
        seen += [card.title for card in page.cards]
        after = page.next_cursor
        if after is None:
            break

    assert sorted(seen) == sorted([f"Local {n}" for n in range(5)]
                                  + [f"Remote {n}" for n in range(5)])  # fmt: skip
    assert len(seen) == 10


async def test_explore__links_the_matching_feed(client):
    page = await (await client.get("/explore?category=tools")).text()

    assert '<link rel="alternate" type="application/atom+xml"' in page
    assert (
        'href="/categories/tools/feed.atom"' in page and 'href="/categories/tools/feed.rss"' in page
    )


async def test_explore__logged_in_resident_sees_it_too(client):
    await register_and_login(client, "bob")

    assert (await client.get("/explore")).status == 200


async def test_explore__everywhere_an_old_remote_listing_ending_soon_or_nearby_comes_first(
    client, pool
):
    # Given many newer remote listings, and an old one that ends tomorrow, right here
    now = datetime.now(UTC)
    old = remote_listing(
        id="https://south.test/listings/old", name="Old ladder, ends tomorrow",
        published=(now - timedelta(days=40)).isoformat(),
        endTime=(now + timedelta(days=1)).isoformat(),
        location={"type": "Place", "name": "Elm Street", "latitude": 52.37, "longitude": 4.89},
    )  # fmt: skip
    await store_remote(pool, old)
    for n in range(sorted_search.REMOTE_CANDIDATES + 10):
        await store_remote(pool, remote_listing(
            id=f"https://south.test/listings/new{n}", name=f"Seedlings {n}",
            endTime=(now + timedelta(days=20)).isoformat(),
            location={"type": "Place", "name": "Oak Lane", "latitude": 52.38, "longitude": 4.90},
        ))  # fmt: skip

    # Then it leads the page ending soonest, and the page nearest here
    ending = await titles(client, "?where=everywhere&sort=ending")
    near = await titles(client, "?where=everywhere&sort=nearest&lat=52.37&lon=4.89&km=5")
    assert ending[0] == near[0] == "Old ladder, ends tomorrow"
