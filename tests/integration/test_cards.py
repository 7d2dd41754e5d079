"""Listing cards: thumbnails in the sizes the node made (srcset), kinds, neighbourhoods,
distances and states; the result count; the orders (newest, nearest, ending soon); the
category pages."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from commonsfed.db import search as search_q
from commonsfed.db import sorted_search as sorted_q
from commonsfed.services import accounts, listings, remote_media
from commonsfed.services.photos import media_dir, rendition_name, with_renditions
from commonsfed.services.remote_media import key_for, remote_dir
from commonsfed.web.keys import POOL, SETTINGS
from tests.builders import photo_bytes, post_form, post_listing
from tests.integration.test_explore import remote_listing, store_remote
from tests.integration.test_remote_media import (  # noqa: F401  (pictures: a fixture)
    SEEDLINGS,
    pictures,
    south_listing_named,
)

GIVE = {"purpose": "offer", "kind": "give", "title": "Apples", "category": "food",
        "place": "Elm Street"}  # fmt: skip
TITLE_RE = re.compile(r'<h2><a href="([^"]+)"[^>]*>([^<]*)</a></h2>')
COUNT_RE = re.compile(r'<p class="result-count" role="status">([^<]*)</p>')


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


async def page_of(client, path: str, status: int = 200) -> str:
    response = await client.get(path)
    text = await response.text()
    assert response.status == status, text
    return text


def titles(page: str) -> list[str]:
    return [html.unescape(title) for _, title in TITLE_RE.findall(page)]


def count_of(page: str) -> str:
    [count] = COUNT_RE.findall(page)
    return count


def day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


# --- thumbnails ------------------------------------------------------------------------------


async def test_upload__makes_renditions_served_with_srcset(resident, settings):
    # Given a listing posted with a photo 800 pixels wide
    photo = [("photo_1", "pears.jpg", photo_bytes(size=(800, 600)))]
    response = await post_listing(resident, {"title": "Pears", "alt_1": "Pears"}, photos=photo)
    assert response.status == 303
    [name] = [p.name for p in media_dir(settings).iterdir() if len(p.stem) == 22]

    # Then the renditions were written at upload, each as wide as its name says
    for width in (320, 640):
        rendition = media_dir(settings) / rendition_name(name, width)
        with Image.open(rendition) as image:
            assert image.size == (width, width * 3 // 4)

    # And the card offers them with srcset and sizes, the full photo as the widest
    page = await page_of(resident, "/explore")
    srcset = (f"/media/{rendition_name(name, 320)} 320w, /media/{rendition_name(name, 640)} 640w,"
              f" /media/{name} 800w")  # fmt: skip
    assert f'srcset="{srcset}"' in page
    assert 'sizes="(max-width: 36rem) calc(100vw - 2rem), 19rem"' in page

    # And each rendition is served from this node
    served = await resident.get(f"/media/{rendition_name(name, 320)}")
    assert served.status == 200 and served.headers["Content-Type"].startswith("image/")
    with Image.open(io.BytesIO(await served.read())) as image:
        assert image.width == 320


async def test_media__a_photo_stored_before_renditions_gets_them_on_request(resident, settings):
    # Given a photo whose renditions are missing (stored before they were made at upload)
    photo = [("photo_1", "pears.jpg", photo_bytes(size=(700, 700)))]
    await post_listing(resident, {"title": "Pears", "alt_1": "Pears"}, photos=photo)
    [name] = [p.name for p in media_dir(settings).iterdir() if len(p.stem) == 22]
    for width in (320, 640):
        (media_dir(settings) / rendition_name(name, width)).unlink()

    # When a page asks for one
    served = await resident.get(f"/media/{rendition_name(name, 640)}")

    # Then it is made from the stored photo, kept, and served
    assert served.status == 200
    with Image.open(io.BytesIO(await served.read())) as image:
        assert image.size == (640, 640)
    assert (media_dir(settings) / rendition_name(name, 640)).is_file()


async def test_media__no_rendition_wider_than_the_photo_nor_of_a_made_up_name(resident, settings):
    photo = [("photo_1", "small.jpg", photo_bytes(size=(500, 400)))]
    await post_listing(resident, {"title": "Small", "alt_1": "Small"}, photos=photo)
    [name] = [p.name for p in media_dir(settings).iterdir() if len(p.stem) == 22]

    # a 500-pixel photo has a 320 rendition only, and the card offers only that
    assert (await resident.get(f"/media/{rendition_name(name, 320)}")).status == 200
    assert (await resident.get(f"/media/{rendition_name(name, 640)}")).status == 404
    assert not (media_dir(settings) / rendition_name(name, 640)).exists()
    page = await page_of(resident, "/explore")
    assert f"/media/{rendition_name(name, 640)}" not in page
    # names the node never makes are not found, whatever they point at
    for bad in ("x-320w.webp", rendition_name("a" * 22 + ".webp", 320), f"{name}-320w.webp",
                rendition_name(name, 480), "..%2F..%2Fsecret-320w.webp"):  # fmt: skip
        assert (await resident.get(f"/media/{bad}")).status == 404, bad


async def test_card__kind_icon_and_name_neighbourhood_state_and_category_link(client, post):
    await post(title="Drill to lend", kind="lend", category="tools", loan_days="7")

    page = await page_of(client, "/explore")

    card = page[page.index('<li class="listing-card') :]
    card = card[: card.index("</li>")]
    assert 'class="listing-card kind-lend state-open"' in card
    assert '<svg class="kind-icon"' in card and "<span>Lend</span>" in card  # not colour alone
    assert '<span class="card-neighbourhood">Elm Street Commons</span>' in card
    assert '<span class="tag state">Open</span>' in card
    assert '<a href="/categories/tools">Tools</a>' in card


async def test_card__until_names_the_last_day_not_the_next(client, post):
    # Given a listing whose last day is in five days (stored as the midnight after it)
    last = datetime.now(UTC).date() + timedelta(days=5)
    await post(title="Seeds, till Friday", expires_on=last.isoformat())

    page = await page_of(client, "/explore")

    # Then its card says until that day
    shown = re.search(r'until <time datetime="[^"]+">([^<]+)</time>', page)
    assert shown is not None
    assert shown.group(1).startswith(f"{last:%B} {last.day}")


async def test_card__distance_when_the_reader_gives_a_point(client, post):
    await post(title="In Amsterdam", place="Dam square", latitude="52.37", longitude="4.89")

    near = await page_of(client, "/explore?lat=52.36&lon=4.9&km=5")
    anywhere = await page_of(client, "/explore")

    assert re.search(r'<span class="card-distance">[0-9.]+ km away</span>', near)
    assert "km away" not in anywhere


# --- count -----------------------------------------------------------------------------------


async def test_explore__counts_what_matches(client, post):
    await post(title="Apples")
    await post(title="Pears")
    await post(title="Drill", kind="lend", category="tools", loan_days="7")

    assert count_of(await page_of(client, "/explore")) == "3 listings"
    assert count_of(await page_of(client, "/explore?category=tools")) == "1 listing"
    assert count_of(await page_of(client, "/explore?q=nothingmatches")) == "No listings"


async def test_explore__counts_past_one_page(client, post, pool):
    for n in range(23):
        await post(title=f"Thing {n}")

    page = await page_of(client, "/explore")

    assert len(titles(page)) == 20 and count_of(page) == "23 listings"


# --- orders ----------------------------------------------------------------------------------


async def test_sort__newest_nearest_and_ending_soon(client, post):
    # Given listings at three distances, with different ends
    await post(title="Far, ends in 20 days", latitude="52.09", longitude="5.12",
               expires_on=day(20))  # fmt: skip
    await post(title="Near, no end", latitude="52.37", longitude="4.89", no_expiry="1")
    await post(title="Middle, ends in 3 days", latitude="52.30", longitude="4.95",
               expires_on=day(3))  # fmt: skip
    await post(title="Nowhere, ends in 10 days", expires_on=day(10))

    newest = titles(await page_of(client, "/explore"))
    near = titles(await page_of(client, "/explore?sort=nearest&lat=52.37&lon=4.89&km=100"))
    ending = titles(await page_of(client, "/explore?sort=ending"))

    assert newest == ["Nowhere, ends in 10 days", "Middle, ends in 3 days", "Near, no end",
                      "Far, ends in 20 days"]  # fmt: skip
    assert near == ["Near, no end", "Middle, ends in 3 days", "Far, ends in 20 days"]
    assert ending == ["Middle, ends in 3 days", "Nowhere, ends in 10 days",
                      "Far, ends in 20 days", "Near, no end"]  # fmt: skip


async def test_sort__pages_by_position(client, post):
    for n in range(22):
        await post(title=f"Ends in {n + 1} days", expires_on=day(n + 1))

    first = await page_of(client, "/explore?sort=ending")
    second = await page_of(client, "/explore?sort=ending&page=2")

    assert titles(first)[:2] == ["Ends in 1 days", "Ends in 2 days"] and len(titles(first)) == 20
    assert titles(second) == ["Ends in 21 days", "Ends in 22 days"]
    assert 'href="/explore?sort=ending&amp;page=2"' in first
    assert 'href="/explore?sort=ending"' in second  # back to the first page


async def test_sort__bad_values_say_so_and_fall_back_to_newest(client, post):
    await post(title="Older", latitude="52.37", longitude="4.89")
    await post(title="Newer")

    bad = await page_of(client, "/explore?sort=cheapest")
    no_point = await page_of(client, "/explore?sort=nearest")
    bad_page = await page_of(client, "/explore?sort=ending&page=-3")

    assert "Sort by newest, nearest or ending soon. Showing the newest first." in bad
    assert titles(bad) == ["Newer", "Older"]
    assert "To sort by distance, choose a place or give coordinates." in no_point
    assert titles(no_point) == ["Newer", "Older"]
    assert "Pages go from 1 to 25. Here is the first." in html.unescape(bad_page)


async def test_sort__a_plain_get_form_that_keeps_the_filters(client, post):
    await post(title="Apples")

    page = await page_of(client, "/explore?category=food&sort=ending")

    form = page[page.index('<form class="sort-form"') :]
    form = form[: form.index("</form>")]
    assert 'method="get" action="/explore"' in form
    assert '<input type="hidden" name="category" value="food">' in form
    assert '<option value="ending" selected>' in form


# --- category pages --------------------------------------------------------------------------


async def test_category_page__its_open_listings_with_count_and_sort(client, post, pool, settings,
                                                                     alice):  # fmt: skip
    await post(title="Drill", kind="lend", category="tools", loan_days="7", expires_on=day(2))
    await post(title="Ladder", kind="lend", category="tools", loan_days="7", expires_on=day(9))
    done = await post(title="Saw", kind="lend", category="tools", loan_days="7")
    await listings.change_state(pool, settings, alice, done.uid, "completed")
    await post(title="Apples")

    page = await page_of(client, "/categories/tools")
    ending = await page_of(client, "/categories/tools?sort=ending")

    assert "<h1>Tools</h1>" in page and count_of(page) == "2 listings"
    assert titles(page) == ["Ladder", "Drill"]  # newest first
    assert titles(ending) == ["Drill", "Ladder"]
    assert 'action="/categories/tools"' in page
    assert 'href="/categories/tools/feed.atom"' in page


async def test_category_page__unknown_category_is_a_404_page(client):
    response = await client.get("/categories/spaceships")

    assert response.status == 404
    assert "There is no such category here." in await response.text()


async def test_tags__lead_to_the_category_page(client):
    response = await client.get("/tags/tools", allow_redirects=False)

    assert response.status == 302 and response.headers["Location"] == "/categories/tools"


async def test_explore__links_each_category_page(client, post):
    await post(title="Apples")

    page = await page_of(client, "/explore")

    assert '<a href="/categories/food">Food</a>' in page


# --- remote photos ---------------------------------------------------------------------------


async def test_remote_card__cached_photo_has_renditions_in_srcset_and_prune_removes_them(
    make_client,
    pictures,  # noqa: F811  (the fixture imported above)
):
    # Given a listing of south's with an 800-pixel photo, seen across neighbourhoods
    client = await make_client(resolve=pictures.resolve())
    await south_listing_named(client, pictures)
    page = await page_of(client, "/explore?where=everywhere")

    # Then the cached copy has its renditions, and the card offers them from this node
    settings = client.server.app[SETTINGS]
    name = f"{key_for(SEEDLINGS)}.webp"
    files = with_renditions(remote_dir(settings) / name)
    assert all(path.is_file() for path in files)
    src = f"/media/remote/{name}"
    srcset = f"{rendition_name(src, 320)} 320w, {rendition_name(src, 640)} 640w, {src} 800w"
    assert f'srcset="{srcset}"' in page
    served = await client.get(rendition_name(src, 320))
    with Image.open(io.BytesIO(await served.read())) as image:
        assert served.status == 200 and image.width == 320

    # When the photo expires from the cache: its renditions go with it
    later = datetime.now(UTC) + remote_media.MAX_AGE + timedelta(days=1)
    assert await remote_media.prune(client.server.app[POOL], settings, later) == 1
    assert not any(path.exists() for path in files)


# --- a resident's listings -------------------------------------------------------------------


async def test_my_listings__cards_with_thumbnail_and_every_state(resident, settings):
    photo = [("photo_1", "pears.jpg", photo_bytes(size=(800, 600)))]
    await post_listing(resident, {"title": "Pears", "alt_1": "A crate of pears"}, photos=photo)
    response = await post_listing(resident, {"title": "Old chairs"})
    await post_form(resident, response.headers["Location"] + "/state", {"state": "withdrawn"},
                    form_path=response.headers["Location"])  # fmt: skip

    page = await page_of(resident, "/my/listings")

    assert titles(page) == ["Old chairs", "Pears"]
    assert re.search(r'<img class="thumb" src="/media/[^"]+" alt="A crate of pears" srcset=', page)
    assert 'class="listing-card kind-give state-withdrawn"' in page
    assert '<span class="tag state">Withdrawn</span>' in page


async def test_profile__open_listings_as_cards(client, post):
    await post(title="Plum jam")

    page = await page_of(client, "/users/alice")

    section = page[page.index("Open listings") : page.index("Thanks received")]
    assert '<li class="listing-card kind-give state-open">' in section
    assert re.search(r'<h3><a href="/listings/[^"]+">Plum jam</a></h3>', section)


async def test_sort__everywhere_orders_remote_listings_among_local_ones(client, post, pool):
    # Given a listing of south's in the middle of Paris, ending in three days (its end and
    # its place read from its document), and two here, further out
    ends = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    await store_remote(pool, remote_listing(endTime=ends, attachment=[]))
    await post(title="North, ends in 10 days", latitude="48.90", longitude="2.35",
               expires_on=day(10))  # fmt: skip
    await post(title="South, no end", latitude="48.80", longitude="2.35", no_expiry="1")
    remote = "Swap: tomato seedlings for a jar of jam"

    ending = await page_of(client, "/explore?where=everywhere&sort=ending")
    nearest = await page_of(
        client, "/explore?where=everywhere&sort=nearest&lat=48.8566&lon=2.3522&km=20"
    )

    assert titles(ending) == [remote, "North, ends in 10 days", "South, no end"]
    assert titles(nearest) == [remote, "North, ends in 10 days", "South, no end"]
    assert count_of(ending) == "3 listings" and count_of(nearest) == "3 listings"
    assert '<span class="card-distance">' in nearest


async def test_ending_soon__reads_its_index(pool, post):
    # Given open listings (few: the planner is told to prefer an index, as it would for many)
    await post(title="Apples", expires_on=day(3))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        sql, args = sorted_q.ending_query(search_q.Filter(), datetime.now(UTC), 21)

        plan = "\n".join(await search_q.explain(conn, sql, args))

    # Then "ending soon" is a forward scan of 0033's index, with no sort of its own
    assert "listings_open_ending_idx" in plan, plan
    assert "Sort" not in plan.split("listings_open_ending_idx")[0], plan
