"""Timelines: public (local, remote, both), a tag's, home, direct; paging with max_id,
since_id and min_id and the Link header followed as apps follow it; blocks, mutes and the
moderators' limits applied; two real nodes for the listings that come from another."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import SimpleNamespace

from yarl import URL

from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import timelines as timelines_q
from commonsfed.db.pool import connect
from commonsfed.db.timelines import Bounds
from commonsfed.services import accounts, follows, listings, timelines
from commonsfed.web.keys import POOL, SETTINGS
from tests.api.conftest import bearer, token_for
from tests.api.schema import check
from tests.builders import photo_bytes, post_form, post_listing, register, register_and_login
from tests.nodes import settle

APPLES = {"purpose": "offer", "kind": "give", "title": "A bag of apples", "category": "food",
          "place": "Elm Street"}  # fmt: skip


async def post(app, username: str, title: str, category: str = "food") -> int:
    """A listing of `username`'s, made as the web form makes one; its status id."""
    pool, settings = app[POOL], app[SETTINGS]
    author = await accounts.get_by_username(pool, username)
    listing = await listings.create_listing(
        pool, settings, author, {**APPLES, "title": title, "category": category}, []
    )
    return await pool.fetchval("SELECT status_id FROM listings WHERE id = $1", listing.id)


async def timeline(client, path: str, token: str | None = None, **query) -> list[dict]:
    response = await client.get(path, params=query, headers=bearer(token) if token else {})
    assert response.status == 200, await response.text()
    body = await response.json()
    for status in body:
        check("Status", status)
    return body


def has(body: list[dict], *words: str) -> list[bool]:
    return [any(word.lower() in status["content"].lower() for status in body) for word in words]


def links(response) -> dict[str, URL]:
    found = {}
    for part in response.headers.get("Link", "").split(","):
        match = re.match(r'\s*<([^>]+)>;\s*rel="(\w+)"', part)
        if match:
            found[match.group(2)] = URL(match.group(1))
    return found


# --- one node ----------------------------------------------------------------------------


async def test_public__a_visitor_reads_every_listing_newest_first(client):
    await register(client, "alice")
    first = await post(client.app, "alice", "Sourdough starter")
    second = await post(client.app, "alice", "Garden shears", "tools")
    body = await timeline(client, "/api/v1/timelines/public")
    assert [status["id"] for status in body] == [str(second), str(first)]
    assert body[0]["account"]["username"] == "alice"


async def test_paging__max_id_since_id_min_id_and_the_link_header(client):
    # Given five listings, oldest first
    await register(client, "alice")
    ids = [await post(client.app, "alice", f"Jar number {n}") for n in range(5)]
    newest_first = [str(i) for i in reversed(ids)]
    # When an app reads two at a time and follows the Link header's "next"
    response = await client.get("/api/v1/timelines/public", params={"limit": "2"})
    seen = [s["id"] for s in await response.json()]
    while True:
        following = links(response).get("next")
        assert following is not None
        response = await client.get(following.path_qs)
        page = [s["id"] for s in await response.json()]
        if not page:
            break
        seen += page
    # Then it sees each listing once, newest first, and the last page is empty (no Link)
    assert seen == newest_first
    assert "Link" not in response.headers
    # and "prev" of the first page is min_id of its newest, so nothing is newer yet
    response = await client.get("/api/v1/timelines/public", params={"limit": "2"})
    assert links(response)["prev"].query["min_id"] == newest_first[0]
    # since_id: the newest first, down to just above it; min_id: just above it, upwards
    since = await timeline(client, "/api/v1/timelines/public", since_id=ids[1], limit=2)
    assert [s["id"] for s in since] == newest_first[:2]
    after = await timeline(client, "/api/v1/timelines/public", min_id=ids[1], limit=2)
    assert [s["id"] for s in after] == [str(ids[3]), str(ids[2])]
    older = await timeline(client, "/api/v1/timelines/public", max_id=ids[2])
    assert [s["id"] for s in older] == [str(ids[1]), str(ids[0])]


async def test_tag__a_category_and_any_of_more(client):
    await register(client, "alice")
    await post(client.app, "alice", "Garden shears", "tools")
    await post(client.app, "alice", "Apple pie")
    await post(client.app, "alice", "Paperbacks", "books")
    body = await timeline(client, "/api/v1/timelines/tag/tools")
    assert has(body, "Garden shears", "Apple pie", "Paperbacks") == [True, False, False]
    assert [tag["name"] for tag in body[0]["tags"]] == ["tools"]
    body = await timeline(client, "/api/v1/timelines/tag/Tools", **{"any[]": "books"})
    assert has(body, "Garden shears", "Apple pie", "Paperbacks") == [True, False, True]
    # all[] and none[], as Mastodon reads them: a listing here has one category
    query = {"any[]": "books", "none[]": "tools"}
    body = await timeline(client, "/api/v1/timelines/tag/tools", **query)
    assert has(body, "Garden shears", "Apple pie", "Paperbacks") == [False, False, True]
    body = await timeline(client, "/api/v1/timelines/tag/tools", **{"all[]": "books"})
    assert body == []


async def test_home__needs_a_token_with_read_statuses(client, alice_token):
    assert (await client.get("/api/v1/timelines/home")).status == 401
    token = await token_for(client.app, "alice", scopes="write")
    assert (await client.get("/api/v1/timelines/home", headers=bearer(token))).status == 403


async def test_home__own_and_followed_residents_listings_and_messages(make_client):
    # Given alice, who follows carol here, and dave, whom she does not follow
    alice, bob = await make_client(), await make_client()
    await register_and_login(alice, "alice")
    await register_and_login(bob, "bob")
    for name in ("carol", "dave"):
        await register(await make_client(), name)
    app = alice.app
    await app[POOL].execute(
        "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, 'accepted')",
        "http://localhost/users/alice", "http://localhost/users/carol",
    )  # fmt: skip
    await post(app, "alice", "Ladder of alice", "tools")
    await post(app, "carol", "Jam of carol")
    await post(app, "dave", "Bike of dave", "transport")
    # and bob answers alice's ladder on the web (a message of her conversation)
    uid = await app[POOL].fetchval("SELECT uid FROM listings WHERE title = $1", "Ladder of alice")
    response = await post_form(
        bob,
        f"/listings/{uid}/answers",
        {"message": "May I borrow it?"},
        form_path=f"/listings/{uid}/answers",
        allow_redirects=False,
    )
    assert response.status == 303
    token = await token_for(app, "alice")
    # When alice reads her home timeline
    body = await timeline(alice, "/api/v1/timelines/home", token)
    # Then she sees her listing, carol's and bob's answer, and not dave's
    assert has(body, "Ladder of alice", "Jam of carol", "Bike of dave",
               "May I borrow it?") == [True, True, False, True]  # fmt: skip
    assert body[0]["visibility"] == "direct"
    # and the direct timeline is the answer alone
    direct = await timeline(alice, "/api/v1/timelines/direct", token)
    assert [s["visibility"] for s in direct] == ["direct"]
    # and a token of bob's sees the same answer in his own home, not alice's listings
    mine = await timeline(bob, "/api/v1/timelines/home", await token_for(app, "bob"))
    assert [s["visibility"] for s in mine] == ["direct"]


async def test_public__what_a_resident_mutes_or_blocks_and_the_limited_stay_out(client):
    await register(client, "alice")
    for name in ("carol", "dave", "erin"):
        await register(client, name)
    await post(client.app, "carol", "Jam of carol")
    await post(client.app, "dave", "Bike of dave")
    await post(client.app, "erin", "Chairs of erin")
    pool = client.app[POOL]
    ids = {
        row["username"]: row["id"] for row in await pool.fetch("SELECT id, username FROM accounts")
    }
    await pool.execute(
        "INSERT INTO resident_blocks (account_id, target_account_id, kind) "
        "VALUES ($1, $2, 'mute'), ($1, $3, 'block')",
        ids["alice"],
        ids["carol"],
        ids["dave"],
    )
    await pool.execute("UPDATE accounts SET limited_at = now() WHERE username = 'erin'")
    token = await token_for(client.app, "alice")
    as_alice = await timeline(client, "/api/v1/timelines/public", token)
    visitor = await timeline(client, "/api/v1/timelines/public")
    words = ("carol", "dave", "erin")
    assert has(as_alice, *words) == [False, False, False]
    assert has(visitor, *words) == [True, True, False]  # the limited one leaves public places
    # and erin herself still sees hers
    as_erin = await timeline(
        client, "/api/v1/timelines/public", await token_for(client.app, "erin")
    )
    assert has(as_erin, "erin") == [True]


async def test_public__a_removed_listing_is_gone(client):
    await register(client, "alice")
    await post(client.app, "alice", "Garden shears")
    await post(client.app, "alice", "Apple pie")
    author = await accounts.get_by_username(client.app[POOL], "alice")
    uid = await client.app[POOL].fetchval("SELECT uid FROM listings WHERE title = 'Apple pie'")
    await listings.remove_listing(client.app[POOL], client.app[SETTINGS], author, uid)
    body = await timeline(client, "/api/v1/timelines/public")
    assert has(body, "Garden shears", "Apple pie") == [True, False]


async def test_public__only_media(resident):
    response = await post_listing(
        resident, {"title": "Cordless drill", "alt_1": "A green drill"},
        photos=[("photo_1", "drill.jpg", photo_bytes())],
    )  # fmt: skip
    assert response.status == 303
    await post(resident.app, "alice", "Apple pie")
    body = await timeline(resident, "/api/v1/timelines/public", only_media="true")
    assert has(body, "Cordless drill", "Apple pie") == [True, False]
    media = body[0]["media_attachments"][0]
    assert media["description"] == "A green drill"
    # the preview is the 320 px rendition of the 800 px photo, which the node serves
    assert media["preview_url"] != media["url"] and media["preview_url"].endswith("-320w.webp")
    preview = await resident.get(URL(media["preview_url"]).path)
    assert preview.status == 200 and preview.content_type == "image/webp"


async def test_list__there_are_no_lists(client, alice_token):
    response = await client.get("/api/v1/timelines/list/1", headers=bearer(alice_token))
    assert response.status == 404


# --- two nodes ---------------------------------------------------------------------------


async def test_two_nodes__public_local_remote_tag_and_home_with_follows(start_nodes):
    # Given north and south, south's neighbourhood joined to north's; alice and dave on north,
    # bob and carol on south
    north, south = await start_nodes(2)
    for node, names in ((north, ("alice", "dave")), (south, ("bob", "carol"))):
        for name in names:
            assert (await register(node.client, name)).status == 200
    await follows.federate(south.federation, "north.test")
    # and bob follows alice (a person on north)
    await follows.follow(south.federation, south.url("/users/bob"), "@alice@north.test")
    await settle(north, south)
    # dave writes in French
    await north.app[POOL].execute("UPDATE accounts SET language = 'fr' WHERE username = 'dave'")
    await post(north.app, "alice", "Ladder of alice", "tools")
    await post(north.app, "dave", "Bike of dave", "transport")
    await post(south.app, "carol", "Drill of carol", "tools")
    await settle(north, south)

    # Then north's listings are in south's public timeline, as remote ones
    everything = await timeline(south.client, "/api/v1/timelines/public")
    assert has(everything, "ladder", "bike", "drill") == [True, True, True]
    remote = await timeline(south.client, "/api/v1/timelines/public", remote="true")
    assert has(remote, "ladder", "bike", "drill") == [True, True, False]
    assert remote[0]["account"]["acct"] in ("alice@north.test", "dave@north.test")
    local = await timeline(south.client, "/api/v1/timelines/public", local="true")
    assert has(local, "ladder", "bike", "drill") == [False, False, True]
    # and in north's own local timeline
    north_local = await timeline(north.client, "/api/v1/timelines/public", local="true")
    assert has(north_local, "ladder", "bike", "drill") == [True, True, False]
    # each in the language it was written in, here and there (contentMap's key)
    for body in (north_local, remote):
        languages = {s["content"].split("</p>")[0]: s["language"] for s in body}
        assert sorted(languages.values()) == ["en", "fr"], languages
        assert [lang for text, lang in languages.items() if "Bike" in text] == ["fr"]
    # and the tools tag on south finds alice's (a hashtag) and carol's (a category)
    tools = await timeline(south.client, "/api/v1/timelines/tag/tools")
    assert has(tools, "ladder", "bike", "drill") == [True, False, True]
    assert has(await timeline(south.client, "/api/v1/timelines/tag/tools", local="1"),
               "ladder", "drill") == [False, True]  # fmt: skip
    query = {"any[]": "transport", "none[]": "tools"}
    either = await timeline(south.client, "/api/v1/timelines/tag/tools", **query)
    assert has(either, "ladder", "bike", "drill") == [False, True, False]
    both = await timeline(south.client, "/api/v1/timelines/tag/tools", **{"all[]": "tools"})
    assert has(both, "ladder", "bike", "drill") == [True, False, True]

    # And bob's home holds alice's (followed) but not dave's
    token = await token_for(south.app, "bob")
    home = await timeline(south.client, "/api/v1/timelines/home", token)
    assert has(home, "ladder", "bike", "drill") == [True, False, False]
    # until bob follows north's neighbourhood: then every listing of north
    await follows.follow(south.federation, south.url("/users/bob"), "@neighbourhood@north.test")
    await settle(north, south)
    home = await timeline(south.client, "/api/v1/timelines/home", token)
    assert has(home, "ladder", "bike", "drill") == [True, True, False]
    # and a remote person bob mutes leaves it
    await south.app[POOL].execute(
        "INSERT INTO resident_blocks (account_id, target_actor_uri, kind) "
        "SELECT id, 'http://north.test/users/dave', 'mute' FROM accounts WHERE username = 'bob'"
    )
    home = await timeline(south.client, "/api/v1/timelines/home", token)
    assert has(home, "ladder", "bike") == [True, False]


# --- plans -------------------------------------------------------------------------------


async def fill_realistic(conn, listings: int = 20_000) -> tuple[int, list[int]]:
    """The bench's data (bench/home_timeline.py), smaller: residents, people on two other
    nodes, listings over two years (70% here, 30% from the others, status ids by time as
    0024 gives them), the resident r0 following a hundred residents and a hundred people;
    ANALYZEd. Returns r0's id and every status id, oldest first."""
    sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
    import home_timeline as bench

    args = SimpleNamespace(listings=listings, follows=200, residents=300, people=200)
    return await bench.fill(conn, args)


def plan_facts(lines: list[str]) -> tuple[list[int], list[str], int]:
    """The rows each Sort node sorted, the scan nodes, and the rows the scans read and
    threw away, of an EXPLAIN ANALYZE."""
    sorted_rows = [int(m.group(1)) for line in lines
                   if (m := re.search(r"Sort \(actual rows=(\d+)", line))]  # fmt: skip
    scans = [line.strip().removeprefix("->").strip() for line in lines if "Scan" in line]
    removed = sum(int(m.group(1)) for line in lines
                  if (m := re.search(r"Rows Removed by Filter: (\d+)", line)))  # fmt: skip
    return sorted_rows, scans, removed


async def test_plans__each_page_is_an_index_scan_on_status_id_not_a_sort(database_url):
    # Given a realistic backlog, ANALYZEd; r0 follows 200 of its authors, r299 only r5
    settings = Settings(domain="bench.test", database_url=database_url, secret="x" * 40, dev=True)
    conn = await connect(database_url)
    try:
        _, ids = await fill_realistic(conn)
        # r5 posts rarely (three listings in two years), and r299 not at all
        await conn.execute(
            "DELETE FROM listings WHERE author_id = (SELECT id FROM accounts WHERE username = 'r299');"
            "DELETE FROM listings WHERE author_id = (SELECT id FROM accounts WHERE username = 'r5')"
            " AND id NOT IN (SELECT l.id FROM listings l JOIN accounts a ON a.id = l.author_id"
            " WHERE a.username = 'r5' LIMIT 3);"
            "INSERT INTO follows (follower_uri, followed_uri, state) VALUES "
            "('http://bench.test/users/r299', 'http://bench.test/users/r5', 'accepted');"
            "ANALYZE listings"
        )
        many = await accounts_q.get_by_username(conn, "r0")
        few = await accounts_q.get_by_username(conn, "r299")
        deep = ids[len(ids) // 5]  # 80% of the way down
        cases = {  # name: (timeline, viewer, page, a full page expected)
            "home": (timelines.HOME, many, Bounds(None, None, 20), True),
            "home, deep": (timelines.HOME, many, Bounds(deep, None, 20), True),
            "home, min_id": (timelines.HOME, many, Bounds(None, deep, 20, upwards=True), True),
            "home, following one quiet resident": (
                timelines.HOME,
                few,
                Bounds(None, None, 20),
                False,
            ),
            "public": (timelines.public(), None, Bounds(None, None, 20), True),
            "public, deep": (timelines.public(), many, Bounds(deep, None, 40), True),
            "public local": (timelines.public(local=True), None, Bounds(deep, None, 20), True),
            "tag": (timelines.tag(["tools"]), None, Bounds(deep, None, 20), True),
            "tag, rare": (timelines.tag(["pottery"]), None, Bounds(None, None, 20), False),
        }
        for name, (timeline, viewer, bounds, full) in cases.items():
            # When each page's query is EXPLAINed, planned for its values as pages are
            found = await timelines.sources(conn, settings, timeline, viewer)
            sql, args = timelines_q.page_query(found, bounds)
            plan = await timelines_q.explain(conn, sql, args)
            sorted_rows, scans, removed = plan_facts(plan)
            page = await timelines_q.page_ids(conn, found, bounds)
            assert (len(page) == bounds.limit) == full, name
            # Then no page reads a whole table, throws away more than a few pages' rows,
            # or sorts more than its sources' pages
            assert not [s for s in scans if s.startswith("Seq Scan on listings")
                        or s.startswith("Seq Scan on remote_objects")], (name, plan)  # fmt: skip
            assert removed <= 10 * bounds.limit, (name, removed, plan)
            assert all(rows <= 3 * bounds.limit for rows in sorted_rows), (name, plan)
    finally:
        await conn.close()
