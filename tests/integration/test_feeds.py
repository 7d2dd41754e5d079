"""RSS 2.0 and Atom feeds of open listings: the neighbourhood's, a category's, a resident's."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from commonsfed.services import accounts, listings
from commonsfed.web.keys import POOL

ATOM = "{http://www.w3.org/2005/Atom}"
GIVE = {"purpose": "offer", "kind": "give", "title": "Apples", "category": "food",
        "place": "Elm Street"}  # fmt: skip
NASTY = "<script>alert('x')</script> Fish & chips \"for two\""


@pytest.fixture
def pool(client):
    return client.server.app[POOL]


@pytest.fixture
def person(pool, settings):
    async def make(name: str):
        return await accounts.register(
            pool, settings, username=name, email=f"{name}@e.org",
            password="correct horse battery", by_admin=True,
        )  # fmt: skip

    return make


@pytest.fixture
def post(pool, settings):
    async def make(author, **fields):
        return await listings.create_listing(pool, settings, author, {**GIVE, **fields}, [])

    return make


async def fetch(client, path: str, content_type: str) -> ET.Element:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    assert response.content_type == content_type
    assert response.charset == "utf-8"
    return ET.fromstring(await response.read())


async def atom_titles(client, path: str) -> list[str]:
    feed = await fetch(client, path, "application/atom+xml")
    return [entry.findtext(f"{ATOM}title") for entry in feed.iter(f"{ATOM}entry")]


async def test_atom__entries_with_link_times_author_category_and_content(client, person, post):
    alice = await person("alice")
    listing = await post(alice, title="Jam", category="food",
                         description="Home-made **rhubarb** jam.\n\n<img src=x onerror=alert(1)>")  # fmt: skip

    feed = await fetch(client, "/feed.atom", "application/atom+xml")
    entry = feed.find(f"{ATOM}entry")

    assert feed.findtext(f"{ATOM}title") == "Elm Street Commons: offers and requests"
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == "http://localhost/feed.atom"
    assert entry.findtext(f"{ATOM}id") == f"http://localhost/listings/{listing.uid}"
    assert entry.find(f"{ATOM}link").get("href") == f"http://localhost/listings/{listing.uid}"
    assert entry.findtext(f"{ATOM}published").endswith("Z")
    assert entry.findtext(f"{ATOM}updated")
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "alice"
    assert entry.find(f"{ATOM}category").get("term") == "food"
    content = entry.find(f"{ATOM}content")
    assert content.get("type") == "html"
    assert "<strong>rhubarb</strong>" in content.text
    assert "<img" not in content.text and "Where: Elm Street" in content.text


async def test_rss__items_with_link_date_creator_category_and_description(client, person, post):
    alice = await person("alice")
    listing = await post(alice, title="Drill", category="tools", kind="lend", loan_days="3")

    rss = await fetch(client, "/feed.rss", "application/rss+xml")
    item = rss.find("channel/item")

    assert rss.get("version") == "2.0"
    assert item.findtext("title") == "Drill"
    assert item.findtext("link") == f"http://localhost/listings/{listing.uid}"
    assert item.findtext("guid") == f"http://localhost/listings/{listing.uid}"
    assert item.findtext("pubDate").endswith("GMT")
    assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") == "alice"
    assert item.findtext("category") == "Tools"
    assert "Lend" in item.findtext("description")


async def test_feeds__escape_titles_and_text(client, person, post):
    alice = await person("alice")
    await post(alice, title=NASTY, place="Oak & <Elm>")

    atom = await client.get("/feed.atom")
    rss = await client.get("/feed.rss")
    atom_body, rss_body = await atom.text(), await rss.text()

    assert "<script>" not in atom_body and "<script>" not in rss_body
    assert await atom_titles(client, "/feed.atom") == [NASTY]
    assert ET.fromstring(rss_body).findtext("channel/item/title") == NASTY
    content = ET.fromstring(atom_body).find(f"{ATOM}entry/{ATOM}content").text
    assert "Oak &amp; &lt;Elm&gt;" in content  # escaped as HTML inside, then as XML


async def test_feeds__newest_open_listings_only_at_most_50(client, pool, settings, person, post):
    alice = await person("alice")
    for n in range(52):
        await post(alice, title=f"Thing {n}")
    done = await post(alice, title="Completed")
    await listings.change_state(pool, settings, alice, done.uid, "completed")

    titles = await atom_titles(client, "/feed.atom")

    assert len(titles) == 50 and titles[0] == "Thing 51" and "Completed" not in titles


async def test_category_feed__only_its_category__unknown_is_404(client, person, post):
    alice = await person("alice")
    await post(alice, title="Apples", category="food")
    await post(alice, title="Saw", category="tools")

    rss = await fetch(client, "/categories/tools/feed.rss", "application/rss+xml")

    assert await atom_titles(client, "/categories/tools/feed.atom") == ["Saw"]
    assert [item.findtext("title") for item in rss.iter("item")] == ["Saw"]
    assert rss.findtext("channel/title") == "Elm Street Commons: Tools"
    assert (await client.get("/categories/nope/feed.atom")).status == 404
    assert (await client.get("/categories/nope/feed.rss")).status == 404


async def test_resident_feed__only_theirs__unknown_is_404(client, person, post):
    alice, bob = await person("alice"), await person("bob")
    await post(alice, title="Alice's apples")
    await post(bob, title="Bob's bike")

    assert await atom_titles(client, "/users/bob/feed.atom") == ["Bob's bike"]
    rss = await fetch(client, "/users/alice/feed.rss", "application/rss+xml")
    assert [item.findtext("title") for item in rss.iter("item")] == ["Alice's apples"]
    assert (await client.get("/users/nobody/feed.atom")).status == 404
    assert (await client.get("/users/nobody/feed.rss")).status == 404


async def test_feeds__empty_feed_is_valid(client):
    feed = await fetch(client, "/feed.atom", "application/atom+xml")
    rss = await fetch(client, "/feed.rss", "application/rss+xml")

    assert feed.findtext(f"{ATOM}updated") == "1970-01-01T00:00:00Z"
    assert list(feed.iter(f"{ATOM}entry")) == [] and list(rss.iter("item")) == []


async def test_explore__resident_filter_links_their_feed(client, person, post):
    alice = await person("alice")
    await post(alice, title="Apples")

    page = await (await client.get("/explore?author=alice")).text()

    assert 'href="/users/alice/feed.atom"' in page and "Apples" in page


async def test_feeds__drop_characters_xml_cannot_carry(client, person, post):
    alice = await person("alice")
    await post(alice, title="Bell\x07 and \x0bbook", description="Line\x1bone")

    assert await atom_titles(client, "/feed.atom") == ["Bell and book"]
    rss = await fetch(client, "/feed.rss", "application/rss+xml")
    assert rss.findtext("channel/item/title") == "Bell and book"
