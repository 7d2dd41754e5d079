"""Photos of remote listings: fetched by the node through its guarded client, checked and
re-encoded, kept in the data folder with a cap and an expiry, and served from our own
address. The other server is a stand-in (a plain aiohttp app on loopback) that counts what
it is asked; south.test and pics.test point at it through the resolver map."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from aiohttp import web
from PIL import Image

from commonsfed.ap.remote_listings import RemotePhoto
from commonsfed.services import photos, remote_media
from commonsfed.services.jobs import ScheduledJobs
from commonsfed.services.remote_media import key_for, photos_for, remote_dir
from commonsfed.web.keys import POOL
from tests.builders import photo_bytes, post_form
from tests.integration.test_explore import remote_listing, store_remote

LISTING = "https://south.test/listings/01HX7B2C4D6E8F0G2H4J6K8M0N"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class Pictures:
    """The stand-in: path -> (content type, body); every GET counted by path."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[str, bytes]] = {}
        self.asked: Counter[str] = Counter()
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.asked[request.path] += 1
        if request.path not in self.files:
            return web.Response(status=404)
        content_type, body = self.files[request.path]
        return web.Response(body=body, headers={"Content-Type": content_type})

    def resolve(self) -> dict[str, str]:
        return {name: f"127.0.0.1:{self.port}" for name in ("pics.test", "south.test")}


@pytest.fixture
async def pictures(aiohttp_server) -> Pictures:
    stand_in = Pictures()
    app = web.Application()
    app.router.add_get("/{path:.*}", stand_in.handle)
    stand_in.port = (await aiohttp_server(app)).port
    return stand_in


@pytest.fixture
async def node(make_fed, pictures):
    return await make_fed(resolve=pictures.resolve())


def photo(path: str, alt: str = "Seedlings", host: str = "pics.test") -> RemotePhoto:
    return RemotePhoto(f"http://{host}{path}", "image/jpeg", alt, None, None)


def gps_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (48.0, 51.0, 24.0)}  # GPSInfo: a latitude
    return photo_bytes("JPEG", (2400, 1200), exif=exif)


async def rows(fed) -> list[tuple]:
    async with fed.pool.acquire() as conn:
        found = await conn.fetch("SELECT key, extension, size, failed_at IS NOT NULL AS failed"
                                 " FROM remote_media ORDER BY key")  # fmt: skip
    return [tuple(row) for row in found]


# --- fetching and serving --------------------------------------------------------------------


async def test_photos_for__fetched_once_cleaned_and_served_from_here(node, pictures, make_client):
    # Given a remote listing's photo: a large JPEG carrying a GPS position
    pictures.files["/a.jpg"] = ("image/jpeg", gps_jpeg())

    # When its page needs it, twice
    shown = await photos_for(node, LISTING, [photo("/a.jpg")], now=T0)
    again = await photos_for(node, LISTING, [photo("/a.jpg")], now=T0 + timedelta(hours=1))

    # Then it was asked for once, and is shown from our own address, resized and clean
    assert pictures.asked["/a.jpg"] == 1 and shown == again
    [seen] = shown
    assert seen.src == f"/media/remote/{key_for('http://pics.test/a.jpg')}.webp"
    assert (seen.alt, seen.width, seen.height) == ("Seedlings", 1600, 800)
    client = await make_client(resolve=pictures.resolve())
    response = await client.get(seen.src)
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/webp"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    with Image.open(io.BytesIO(await response.read())) as image:
        assert image.size == (1600, 800) and not image.getexif()


async def test_media_route__only_cache_names(node, make_client, pictures):
    client = await make_client(resolve=pictures.resolve())
    remote_dir(node.settings).mkdir(parents=True)
    (remote_dir(node.settings) / "secret.txt").write_text("no")
    for name in ("secret.txt", "..%2Fsecret.txt", "0" * 32 + ".webp"):
        assert (await client.get(f"/media/remote/{name}")).status == 404


async def test_photos_for__larger_than_the_caps_is_refused(node, pictures, monkeypatch):
    # Given a photo larger than the download cap, and one with more pixels than the pixel
    # cap (both caps made small here, so the test stays fast)
    monkeypatch.setattr(remote_media, "MAX_DOWNLOAD_BYTES", 1000)
    monkeypatch.setattr(photos, "MAX_PIXELS", 100 * 100)
    pictures.files["/big.jpg"] = ("image/jpeg", photo_bytes("JPEG", (800, 600)))
    pictures.files["/wide.png"] = ("image/png", photo_bytes("PNG", (200, 100)))
    assert len(pictures.files["/big.jpg"][1]) > 1000 >= len(pictures.files["/wide.png"][1])

    # When the page needs them / Then neither is shown nor kept, the failures remembered
    wanted = [photo("/big.jpg"), photo("/wide.png")]
    assert await photos_for(node, LISTING, wanted, now=T0) == []
    assert sorted(row[1:] for row in await rows(node)) == [(None, 0, True)] * 2
    assert not remote_dir(node.settings).exists() or not any(remote_dir(node.settings).iterdir())


async def test_photos_for__what_is_not_an_image_is_refused(node, pictures):
    # Given a page served as a photo, and random bytes that call themselves a JPEG
    pictures.files["/page.jpg"] = ("text/html", b"<html>hello</html>")
    pictures.files["/fake.jpg"] = ("image/jpeg", b"GIF89a but not really" * 20)

    shown = await photos_for(node, LISTING, [photo("/page.jpg"), photo("/fake.jpg")], now=T0)

    # Then neither is shown nor kept
    assert shown == []
    assert [row[1:] for row in await rows(node)] == [(None, 0, True), (None, 0, True)]
    assert pictures.asked == Counter({"/page.jpg": 1, "/fake.jpg": 1})


async def test_photos_for__internal_address_is_refused(make_fed, pictures):
    # Given a node in production mode (internal addresses refused), and photo hosts that
    # resolve to loopback or are a private address
    fed = await make_fed(dev=False, resolve=pictures.resolve())
    pictures.files["/a.jpg"] = ("image/jpeg", photo_bytes())
    photos = [
        RemotePhoto("https://pics.test/a.jpg", "image/jpeg", "", None, None),
        RemotePhoto("https://10.0.0.7/a.jpg", "image/jpeg", "", None, None),
    ]

    # When the page needs them / Then nothing is fetched, nothing shown
    assert await photos_for(fed, LISTING, photos, now=T0) == []
    assert pictures.asked == Counter()
    assert [row[3] for row in await rows(fed)] == [True, True]


@pytest.mark.parametrize(
    ("domain", "severity", "reject_media"),
    [("pics.test", "none", True), ("south.test", "none", True), ("south.test", "suspend", False)],
)
async def test_photos_for__refused_domains_are_never_asked(
    node, pictures, domain, severity, reject_media
):
    # Given the admins reject the media of the photo's host, or of the listing's node, or
    # suspend the listing's node
    pictures.files["/a.jpg"] = ("image/jpeg", photo_bytes())
    async with node.pool.acquire() as conn:
        await conn.execute("INSERT INTO domain_policies (domain, policy, severity, reject_media)"
                           " VALUES ($1, 'block', $2, $3)", domain, severity, reject_media)  # fmt: skip

    # When the page needs the photo / Then that server is never asked, nothing is shown
    assert await photos_for(node, LISTING, [photo("/a.jpg")], now=T0) == []
    assert pictures.asked == Counter()


async def test_photos_for__kept_photo_not_shown_once_its_domain_rejects_media(node, pictures):
    # Given a photo kept before the admins rejected its domain's media
    pictures.files["/a.jpg"] = ("image/jpeg", photo_bytes())
    assert len(await photos_for(node, LISTING, [photo("/a.jpg")], now=T0)) == 1
    async with node.pool.acquire() as conn:
        await conn.execute("INSERT INTO domain_policies (domain, policy, severity, reject_media)"
                           " VALUES ('pics.test', 'block', 'none', true)")  # fmt: skip

    # When its page is viewed again / Then it is not shown, and nothing is asked
    assert await photos_for(node, LISTING, [photo("/a.jpg")], now=T0) == []
    assert pictures.asked["/a.jpg"] == 1


async def test_photos_for__a_failure_is_retried_later_not_at_once(node, pictures):
    # Given a photo the other server does not have yet
    wanted = [photo("/late.jpg")]
    assert await photos_for(node, LISTING, wanted, now=T0) == []

    # When it appears: a view within the hour does not ask again; one after it does
    pictures.files["/late.jpg"] = ("image/jpeg", photo_bytes())
    assert await photos_for(node, LISTING, wanted, now=T0 + timedelta(minutes=10)) == []
    assert pictures.asked["/late.jpg"] == 1
    [shown] = await photos_for(node, LISTING, wanted, now=T0 + timedelta(hours=2))
    assert pictures.asked["/late.jpg"] == 2 and shown.width == 800


async def test_photos_for__a_kept_photo_whose_file_is_gone_is_fetched_again(node, pictures):
    # Given a cached photo whose file is gone (a backup restored without the cache)
    pictures.files["/a.jpg"] = ("image/jpeg", photo_bytes())
    [shown] = await photos_for(node, LISTING, [photo("/a.jpg")], now=T0)
    (remote_dir(node.settings) / shown.src.rsplit("/", 1)[1]).unlink()

    # When its page is viewed again / Then it is fetched again, and shown
    assert await photos_for(node, LISTING, [photo("/a.jpg")], now=T0) == [shown]
    assert pictures.asked["/a.jpg"] == 2


# --- the page --------------------------------------------------------------------------------


async def test_remote_listing_page__photo_from_here_and_without_it_when_it_fails(
    make_client, pictures
):
    # Given a listing from south.test with two photos, one of which south cannot serve
    client = await make_client(resolve=pictures.resolve())
    pictures.files["/media/seedlings.jpg"] = ("image/jpeg", photo_bytes())
    attachment = [
        {"type": "Image", "mediaType": "image/jpeg", "name": "Seedlings in pots",
         "url": "http://south.test/media/seedlings.jpg"},
        {"type": "Image", "mediaType": "image/jpeg", "name": "Gone",
         "url": "http://south.test/media/gone.jpg"},
    ]  # fmt: skip
    await store_remote(client.server.app[POOL], remote_listing(attachment=attachment))

    # When someone opens its page
    response = await client.get("/network/listing?" + urlencode({"uri": LISTING}))

    # Then it is shown, with the photo it could fetch, from this node's address
    assert response.status == 200
    page = await response.text()
    src = f"/media/remote/{key_for('http://south.test/media/seedlings.jpg')}.webp"
    assert f'<img src="{src}" alt="Seedlings in pots"' in page
    assert "south.test/media" not in page.replace(LISTING, "")
    assert 'alt="Gone"' not in page


async def test_remote_listing_page__names_the_neighbourhood(make_client, pictures):
    client = await make_client(resolve=pictures.resolve())
    pool = client.server.app[POOL]
    await store_remote(pool, remote_listing(attachment=[]))
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO node_infos (domain, name) VALUES ('south.test', $1)",
                           "Rue des Lilas Commons")  # fmt: skip

    page = await (await client.get("/network/listing?" + urlencode({"uri": LISTING}))).text()

    assert "from Rue des Lilas Commons" in page
    assert "<dd>Rue des Lilas Commons (south.test)" in page


async def test_remote_listing_page__a_group_purchase_is_joined_with_a_quantity(resident):
    # Given a remote group purchase (an Intent with a minimum quantity)
    document = remote_listing(attachment=[])
    document["publishes"] = {**document["publishes"],
                             "minimumQuantity": {"hasUnit": "one", "hasNumericalValue": "20"}}  # fmt: skip
    await store_remote(resident.server.app[POOL], document)

    # When a resident opens it
    page = await (await resident.get("/network/listing?" + urlencode({"uri": LISTING}))).text()

    # Then its kind shows, and its form asks how many: the Offer's quantity is the pledge that
    # its node counts (services.pledges); no local pledge form is invented
    assert '<span class="tag">Group purchase</span>' in page
    assert 'name="quantity"' in page and "Your pledge counts towards the target" in page
    assert "Send my answer" in page and "/pledge" not in page

    # and a quantity that is no whole number gives the page back with the reason
    bad = await post_form(resident, "/network/listing/answers",
                          {"uri": LISTING, "message": "Me too", "quantity": "lots"},
                          form_path="/network/listing?" + urlencode({"uri": LISTING}))  # fmt: skip
    assert bad.status == 422 and "Enter a whole number of 1 or more." in await bad.text()


# --- expiry and the cap ----------------------------------------------------------------------


async def test_prune__expired_go_then_least_recently_shown_beyond_the_cap(node, pictures):
    # Given three cached photos, shown at different times
    for name in ("a", "b", "c"):
        pictures.files[f"/{name}.jpg"] = (
            "image/jpeg",
            photo_bytes(color=name == "a" and "red" or "blue"),
        )
    await photos_for(node, LISTING, [photo("/a.jpg")], now=T0)
    await photos_for(node, LISTING, [photo("/b.jpg")], now=T0 + timedelta(days=10))
    await photos_for(node, LISTING, [photo("/c.jpg")], now=T0 + timedelta(days=11))
    await photos_for(node, LISTING, [photo("/b.jpg")], now=T0 + timedelta(days=12))  # used
    files = {name: remote_dir(node.settings) / f"{key_for(f'http://pics.test/{name}.jpg')}.webp"
             for name in "abc"}  # fmt: skip
    assert all(path.exists() for path in files.values())

    # When the scheduled jobs run 31 days after the first fetch: "a" expired
    jobs = ScheduledJobs(node.pool, node.settings, clock=lambda: T0 + timedelta(days=31))
    assert await jobs.tick()
    assert [path.exists() for path in files.values()] == [False, True, True]

    # When the cache holds more than its cap: the least recently shown ("c") goes
    sizes = {row[0]: row[2] for row in await rows(node)}
    cap = max(sizes.values()) + 1
    assert await remote_media.prune(node.pool, node.settings, T0 + timedelta(days=31), cap) == 1
    assert [path.exists() for path in files.values()] == [False, True, False]
    assert [row[0] for row in await rows(node)] == [key_for("http://pics.test/b.jpg")]


# --- cards -----------------------------------------------------------------------------------

TITLE = "Swap: tomato seedlings for a jar of jam"
SEEDLINGS = "http://south.test/media/seedlings.jpg"


async def south_listing_named(client, pictures) -> None:
    """south's listing with a photo south serves, and south's neighbourhood's name."""
    pictures.files["/media/seedlings.jpg"] = ("image/jpeg", photo_bytes())
    attachment = [{"type": "Image", "mediaType": "image/jpeg", "url": SEEDLINGS,
                   "name": "Seedlings in pots"}]  # fmt: skip
    pool = client.server.app[POOL]
    await store_remote(pool, remote_listing(attachment=attachment))
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO node_infos (domain, name) VALUES ('south.test', $1)",
                           "Rue des Lilas Commons")  # fmt: skip


async def test_explore_everywhere__remote_card_has_its_neighbourhood_and_our_thumbnail(
    make_client, pictures
):
    # Given a listing of south's with a photo, south's neighbourhood named
    client = await make_client(resolve=pictures.resolve())
    await south_listing_named(client, pictures)

    # When someone looks across federated neighbourhoods
    page = await (await client.get("/explore?where=everywhere")).text()

    # Then its card names the neighbourhood and shows the photo from this node
    assert TITLE in page
    assert '<span class="origin">Rue des Lilas Commons</span>' in page
    src = f"/media/remote/{key_for(SEEDLINGS)}.webp"
    assert f'<img class="thumb" src="{src}" alt="Seedlings in pots"' in page
    assert "south.test/media" not in page
    assert pictures.asked["/media/seedlings.jpg"] == 1


async def test_home__here_or_everywhere_by_a_link(make_client, pictures):
    # Given a listing of south's, and none here
    client = await make_client(resolve=pictures.resolve())
    await south_listing_named(client, pictures)

    # When the home page is asked for here, then for everywhere
    here = await (await client.get("/")).text()
    everywhere = await (await client.get("/?where=everywhere")).text()

    # Then only "everywhere" lists it, with its neighbourhood; each page links to the other
    assert TITLE not in here and '<a href="/" aria-current="true">Here</a>' in here
    assert TITLE in everywhere and 'from <span class="origin">Rue des Lilas Commons' in everywhere
    assert '<a href="/?where=everywhere" aria-current="true">Everywhere</a>' in everywhere
    assert 'href="/explore?where=everywhere"' in everywhere
