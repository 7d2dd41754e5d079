"""Saved searches, a resident's area, "within N km" on /explore and the weekly digest, through
the pages a resident uses, on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from commonsfed.ap.activities import remote_object_from_ap
from commonsfed.db import objects
from commonsfed.db import places as places_q
from commonsfed.services import accounts, listings
from commonsfed.services.jobs import ScheduledJobs
from commonsfed.services.mail_transport import compose
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.sessions import CSRF_FIELD
from tests.builders import DEFAULT_PASSWORD, csrf_from, post_form, register_and_login

HERE = {"latitude": "52.37", "longitude": "4.89"}
NEAR = {"latitude": "52.38", "longitude": "4.90"}  # about 1.3 km away
FAR = {"latitude": "52.47", "longitude": "4.89"}  # about 11 km away
BIKE = {"purpose": "offer", "kind": "give", "category": "transport", "place": "Elm Street"}


async def offer(app, username: str, **fields):
    author = await accounts.get_by_username(app[POOL], username)
    return await listings.create_listing(app[POOL], app[SETTINGS], author, {**BIKE, **fields}, [])


async def told(app, username: str) -> list[tuple[str, str]]:
    async with app[POOL].acquire() as conn:
        rows = await conn.fetch(
            "SELECT n.kind, l.title FROM notifications n JOIN accounts a ON a.id = n.account_id"
            " JOIN listings l ON l.id = n.listing_id WHERE a.username = $1 ORDER BY n.id",
            username,
        )
    return [tuple(row) for row in rows]


async def save(client, pairs: list[tuple[str, str]]):
    page = await client.get("/settings/searches")
    data = [(CSRF_FIELD, csrf_from(await page.text())), *pairs]
    return await client.post("/settings/searches", data=data, allow_redirects=False)


async def test_save_search__from_explore_then_told_of_a_new_listing_that_fits(make_client, client):
    # Given bob filtered /explore for bikes within 2 km of a point, and saved the search
    await register_and_login(client, "alice")
    bob = await make_client()
    await register_and_login(bob, "bob")
    query = "q=bike&purpose=offer&km=2&lat=52.37&lon=4.89"
    page = await (await bob.get(f"/explore?{query}")).text()
    assert "Save this search" in page
    saved = await save(bob, [("q", "bike"), ("purpose", "offer"), ("km", "2"),
                             ("lat", "52.37"), ("lon", "4.89")])  # fmt: skip
    assert saved.status == 303
    listed = await (await bob.get("/settings/searches")).text()
    assert "“bike”" in listed and "within 2.0 km" in listed

    # When alice offers a bike nearby, a bike too far, and a table nearby
    app = client.server.app
    await offer(app, "alice", title="Kids bike, 16 inch", **NEAR)
    await offer(app, "alice", title="Racing bike", **FAR)
    await offer(app, "alice", title="Garden table", **NEAR)

    # Then bob is told of the nearby bike only, and his notifications page says so
    assert await told(app, "bob") == [("saved_search_match", "Kids bike, 16 inch")]
    notes = await (await bob.get("/notifications")).text()
    assert "“Kids bike, 16 inch” is new and matches one of your saved searches." in notes


async def test_save_search__refuses_bad_input_with_a_readable_message(resident):
    # When a search is saved with a negative distance, or with a kind there is no such thing as
    negative = await save(resident, [("q", "bike"), ("km", "-2"), ("lat", "52.37"),
                                     ("lon", "4.89")])  # fmt: skip
    unknown = await save(resident, [("q", "bike"), ("kind", "give"), ("kind", "spaceship")])

    # Then each is refused with a page that says why, and nothing is saved
    assert negative.status == 422
    assert "Enter a distance from 0.1 to 100 km." in await negative.text()
    assert unknown.status == 422
    assert "Choose a kind from the list." in await unknown.text()
    page = await (await resident.get("/settings/searches")).text()
    assert "None yet." in page


async def test_delete_search__removes_it_and_only_ones_own(make_client, client):
    await register_and_login(client, "alice")
    other = await make_client()
    await register_and_login(other, "mallory")
    assert (await save(client, [("q", "ladder")])).status == 303
    async with client.server.app[POOL].acquire() as conn:
        search_id = await conn.fetchval("SELECT id FROM saved_searches")

    # mallory cannot delete alice's search; alice can
    path = f"/settings/searches/{search_id}/delete"
    theirs = await post_form(other, path, {}, form_path="/settings/searches")
    mine = await post_form(client, path, {}, form_path="/settings/searches",
                           allow_redirects=False)  # fmt: skip

    assert theirs.status == 404 and "This saved search is gone already." in await theirs.text()
    assert mine.status == 303
    assert "None yet." in await (await client.get("/settings/searches")).text()


async def test_explore__within_km_measures_from_the_residents_area(make_client, client):
    # Given two named places, the first the neighbourhood's, and bob's area the second
    app = client.server.app
    async with app[POOL].acquire() as conn:
        await places_q.insert_place(conn, "Town hall", 52.37, 4.89)
        station = await places_q.insert_place(conn, "North station", 52.47, 4.89)
    await register_and_login(client, "alice")
    await offer(app, "alice", title="Bike near the town hall", **NEAR)
    await offer(app, "alice", title="Bike near the station", **FAR)
    bob = await make_client()
    await register_and_login(bob, "bob")
    chosen = await post_form(bob, "/settings/searches/preferences",
                             {"place": str(station.id), "digest_km": "5"},
                             form_path="/settings/searches", allow_redirects=False)  # fmt: skip
    assert chosen.status == 303

    # When each looks for listings within 2 km, with no place named
    visitor = await (await make_client()).get("/explore?km=2")
    residents = await bob.get("/explore?km=2")
    negative = await bob.get("/explore?km=-2")

    # Then a visitor's circle is around the town hall, bob's around his station
    seen = await visitor.text()
    assert "Bike near the town hall" in seen and "Bike near the station" not in seen
    his = await residents.text()
    assert "Bike near the station" in his and "Bike near the town hall" not in his
    # and a negative distance is left out with a message
    assert "Enter a distance from 0.1 to 100 km." in await negative.text()


async def test_explore__within_km_alone_with_no_named_place_gets_a_message(resident):
    page = await (await resident.get("/explore?km=2")).text()
    assert "Choose a place, or give a latitude and a longitude, to search around." in page


def remote_listing(uri: str, title: str, tag: str, point: tuple[float, float]) -> dict:
    """A listing of a federated neighbourhood, as FEP-0837 publishers send it."""
    return {
        "id": uri, "type": "Note", "attributedTo": "https://south.test/users/sam", "url": uri,
        "name": title, "content": f"<p>{title}</p>", "purpose": "offer",
        "publishes": {"id": uri + "#primary", "type": "Intent", "action": "transfer",
                      "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"}},
        "tag": [{"type": "Hashtag", "name": f"#{tag}"}],
        "location": {"type": "Place", "name": "Canal Side", "latitude": point[0],
                     "longitude": point[1]},
    }  # fmt: skip


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_digest__a_tick_mails_the_weeks_listings_near_in_chosen_categories(
    make_client, client
):
    # Given bob wants a weekly digest of transport within 5 km of the town hall
    app = client.server.app
    async with app[POOL].acquire() as conn:
        town_hall = await places_q.insert_place(conn, "Town hall", 52.37, 4.89)
    await register_and_login(client, "alice")
    bob = await make_client()
    await register_and_login(bob, "bob")
    async with app[POOL].acquire() as conn:
        await conn.execute("UPDATE accounts SET email_confirmed_at = now()")
    await post_form(bob, "/settings/searches/preferences",
                    {"place": str(town_hall.id), "digest": "1", "digest_km": "5",
                     "category": "transport"}, form_path="/settings/searches")  # fmt: skip
    await offer(app, "alice", title="Bike near", **NEAR)
    await offer(app, "alice", title="Bike far", **FAR)
    await offer(app, "alice", title="Apples near", category="food", **NEAR)
    async with app[POOL].acquire() as conn:
        for n, (title, tag, point) in enumerate((
            ("Trailer from next door", "transport", (52.38, 4.88)),
            ("Trailer far away", "transport", (52.60, 4.89)),
            ("Pears from next door", "food", (52.38, 4.88)),
        )):  # fmt: skip
            await objects.insert_remote_object(conn, remote_object_from_ap(
                remote_listing(f"https://south.test/listings/r{n}", title, tag, point)))  # fmt: skip

    # When the jobs tick, then tick a minute later, then a week later with nothing new
    clock = Clock(datetime.now(UTC) + timedelta(seconds=1))
    jobs = ScheduledJobs(app[POOL], app[SETTINGS], clock)
    await jobs.tick()
    clock.now += timedelta(minutes=1)
    await jobs.tick()
    clock.now += timedelta(days=7)
    await jobs.tick()

    # Then one digest went, to bob, with the nearby bike and the nearby remote trailer
    async with app[POOL].acquire() as conn:
        mails = await conn.fetch("SELECT recipient, context FROM outgoing_mail"
                                 " WHERE template = 'digest'")  # fmt: skip
    assert [mail["recipient"] for mail in mails] == ["bob@example.org"]
    sent = orjson.loads(mails[0]["context"])
    assert [item["title"] for item in sent["listings"]] == ["Bike near", "Trailer from next door"]
    # and it reads as a mail, in both parts
    message = compose(app[SETTINGS], mail_id=1, recipient="bob@example.org", template="digest",
                      context=sent, created_at=clock.now)  # fmt: skip
    assert message["Subject"].startswith("New this week on ")
    assert "Bike near" in message.get_body(("plain",)).get_content()
    assert "/listings/" in message.get_body(("html",)).get_content()


async def test_delete_account__erases_saved_searches_and_the_area(resident):
    # Given alice saved a search and chose a digest
    assert (await save(resident, [("q", "ladder")])).status == 303
    await post_form(resident, "/settings/searches/preferences", {"digest": "1", "digest_km": "3"},
                    form_path="/settings/searches")  # fmt: skip

    # When she deletes her account
    deleted = await post_form(resident, "/settings/delete", {"password": DEFAULT_PASSWORD})

    # Then neither is kept
    assert deleted.status == 200
    async with resident.server.app[POOL].acquire() as conn:
        left = await conn.fetchval(
            "SELECT (SELECT count(*) FROM saved_searches) + (SELECT count(*) FROM match_preferences)"
        )
    assert left == 0
