"""A resident's export: one zip of their account, built at once when small, by the workers
when large, downloaded only by them, and pruned after a week.

Alice posts a listing with a photo and answers Bob's; Bob answers hers. Each has a browser."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from commonsfed.db import accounts as accounts_q
from commonsfed.db.pool import connect
from commonsfed.services import export, listings, loans, projects, saved_searches, timebank
from commonsfed.services.export import ExportWorker
from commonsfed.web.keys import POOL, SETTINGS
from tests.builders import photo_bytes, post_form, post_listing, post_profile
from tests.integration.test_answers import answered, new_listing, reply


@pytest.fixture
async def scene(alice, bob):
    """Alice's drill (with a photo) that Bob answered, and Bob's soup that Alice answered."""
    photo = photo_bytes()
    response = await post_listing(alice, {"title": "Cordless drill", "alt_1": "A green drill"},
                                  [("photo_1", "drill.jpg", photo)])  # fmt: skip
    drill = response.headers["Location"].rsplit("/", 1)[1]
    on_drill = await answered(bob, drill, "Could I borrow it on Saturday?")
    await reply(alice, on_drill, "Yes, come at ten.")
    soup = await new_listing(bob, title="Pumpkin soup")
    await answered(alice, soup, "I would love a bowl.")
    return drill, soup


async def ask(client):
    return await post_form(client, "/settings/export", {}, form_path="/settings/export")


async def download(client) -> zipfile.ZipFile:
    page = await (await client.get("/settings/export")).text()
    link = page.split('href="/settings/export/')[1].split('"')[0]
    response = await client.get(f"/settings/export/{link}")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="alice-localhost.zip"'
    return zipfile.ZipFile(io.BytesIO(await response.read()))


async def query(client, sql: str, *args):
    conn = await connect(client.server.app[SETTINGS].database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def rows_of(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


# --- a small account: at once ---------------------------------------------------------------


async def test_export__holds_the_whole_account(alice, scene):
    drill, soup = scene

    response = await ask(alice)
    assert "Your archive is ready" in await response.text()
    archive = await download(alice)

    # the profile, never the password hash nor the keys
    assert {"README.txt", "profile.json", "listings.json", "listings.csv", "answers.json",
            "answers.csv", "conversations.json", "conversations.csv", "messages.csv",
            "actor.json", "outbox.json"} <= set(archive.namelist())  # fmt: skip
    profile = orjson.loads(archive.read("profile.json"))
    assert profile["username"] == "alice" and profile["email"] == "alice@example.org"
    assert not any(b"password" in archive.read(n) or b"PRIVATE KEY" in archive.read(n)
                   for n in archive.namelist() if not n.startswith("photos/"))  # fmt: skip
    # her listing, with its photo as stored on the node, and its history
    (listing,) = orjson.loads(archive.read("listings.json"))
    assert listing["uid"] == drill and listing["title"] == "Cordless drill"
    (photo,) = listing["photos"]
    stored = await query(alice, "SELECT filename FROM listing_photos")
    media = client_media(alice) / stored[0]["filename"]
    assert photo["alt"] == "A green drill" and archive.read(photo["file"]) == media.read_bytes()
    assert [event["change"] for event in listing["history"]] == ["created"]
    assert rows_of(archive, "listings.csv")[0]["title"] == "Cordless drill"
    # the conversation her listing got, and the answer she gave, with their messages
    (received,) = orjson.loads(archive.read("conversations.json"))
    assert received["respondent"] == "@bob"
    assert [m["text"] for m in received["messages"]] == [
        "Could I borrow it on Saturday?", "Yes, come at ten."]
    (given,) = orjson.loads(archive.read("answers.json"))
    assert given["listing"]["title"] == "Pumpkin soup" and given["listing"]["author"] == "bob"
    assert [(m["from"], m["text"]) for m in rows_of_messages(archive)] == [
        ("@alice", "I would love a bowl."), ("@bob", "Could I borrow it on Saturday?"),
        ("@alice", "Yes, come at ten.")]  # fmt: skip
    # and her actor and outbox as other servers got them
    actor = orjson.loads(archive.read("actor.json"))
    assert actor["id"] == "http://localhost/users/alice" and actor["type"] == "Person"
    outbox = orjson.loads(archive.read("outbox.json"))
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] >= 1
    creates = [a for a in outbox["orderedItems"] if a["type"] == "Create"]
    assert creates[0]["object"]["id"] == f"http://localhost/listings/{drill}"


def rows_of_messages(archive: zipfile.ZipFile) -> list[dict]:
    return [{"from": row["from"], "text": row["text"]} for row in rows_of(archive, "messages.csv")]


def client_media(client):
    return client.server.app[SETTINGS].data_dir / "media"


async def test_export__asking_twice_while_one_is_made_keeps_one(alice):
    pool, settings = alice.server.app[POOL], alice.server.app[SETTINGS]
    account = await account_of(alice)

    first = await export.request_export(pool, settings, account, build_now_under=0)
    second = await export.request_export(pool, settings, account, build_now_under=0)

    assert first.id == second.id and first.state == second.state == "pending"


async def account_of(client):
    from commonsfed.services import accounts

    (row,) = await query(client, "SELECT id FROM accounts WHERE username = 'alice'")
    return await accounts.get_account(client.server.app[POOL], row["id"])


# --- a large account: by the workers ----------------------------------------------------------


async def test_export__of_a_large_account_is_built_by_the_worker(alice, scene):
    # Given alice's account (her address confirmed), past the size built while she waits
    pool, settings = alice.server.app[POOL], alice.server.app[SETTINGS]
    await query(alice, "UPDATE accounts SET email_confirmed_at = now()")
    queued = await export.request_export(pool, settings, await account_of(alice),
                                         build_now_under=1)  # fmt: skip
    page = await (await alice.get("/settings/export")).text()
    assert queued.state == "pending" and "being prepared" in page

    # When a worker ticks
    assert await ExportWorker(pool, settings).tick() is True

    # Then the archive is listed, ready, with her listing in it, and she is mailed so
    archive = await download(alice)
    assert orjson.loads(archive.read("listings.json"))[0]["uid"] == scene[0]
    mails = await query(alice, "SELECT recipient, context->>'link' AS link FROM outgoing_mail "
                               "WHERE template = 'export_ready'")
    assert [tuple(row) for row in mails] == [
        ("alice@example.org", "http://localhost/settings/export")]


async def test_export__built_while_she_waits_mails_nothing(alice):
    await ask(alice)

    assert await query(alice, "SELECT id FROM outgoing_mail WHERE template = 'export_ready'") == []


async def test_export__a_failed_build_is_tried_again_then_reported(alice, scene):
    # Given a disk where the archive cannot be written (a file where its folder must be)
    pool, settings = alice.server.app[POOL], alice.server.app[SETTINGS]
    export.exports_dir(settings).parent.mkdir(parents=True, exist_ok=True)
    export.exports_dir(settings).write_text("not a folder")
    await export.request_export(pool, settings, await account_of(alice), build_now_under=0)
    worker = ExportWorker(pool, settings)

    # When the worker tries, and tries again when due
    outcomes = []
    for _ in range(export.MAX_ATTEMPTS):
        await query(alice, "UPDATE exports SET next_try_at = now()")
        claimed = await worker.fetch_next()
        outcomes.append(await worker.process_one(claimed))

    # Then it gave up after three tries, and the page says so
    assert outcomes == ["retry", "retry", "failed"]
    (row,) = await query(alice, "SELECT state, error, attempts FROM exports")
    assert row["state"] == "failed" and row["attempts"] == 3 and "Error" in row["error"]
    assert "failed: ask again" in await (await alice.get("/settings/export")).text()


async def test_export__a_worker_holding_one_keeps_it_alive(alice):
    pool, settings = alice.server.app[POOL], alice.server.app[SETTINGS]
    await export.request_export(pool, settings, await account_of(alice), build_now_under=0)
    worker = ExportWorker(pool, settings)
    claimed = await worker.fetch_next()
    (before,) = await query(alice, "SELECT locked_until FROM exports")

    assert await worker.heartbeat() == 1
    (after,) = await query(alice, "SELECT locked_until FROM exports")
    assert after["locked_until"] >= before["locked_until"]
    assert await worker.process_one(claimed) == "done" and await worker.heartbeat() == 0


# --- who may download -------------------------------------------------------------------------


async def test_export__is_for_its_owner_only(alice, bob, scene):
    await ask(alice)
    (row,) = await query(alice, "SELECT filename FROM exports")

    by_bob = await bob.get(f"/settings/export/{row['filename']}")
    traversal = await alice.get("/settings/export/..%2F..%2Fsecret.key")
    made_up = await alice.get("/settings/export/AAAAAAAAAAAAAAAAAAAAAA.zip")

    assert by_bob.status == 404 and made_up.status == 404
    assert traversal.status == 404


async def test_export__anonymous_visitor_is_sent_to_log_in(client):
    response = await client.get("/settings/export", allow_redirects=False)

    assert response.status == 303 and response.headers["Location"].startswith("/login")


# --- a week later -----------------------------------------------------------------------------


async def test_prune__forgets_archives_after_a_week(alice):
    pool, settings = alice.server.app[POOL], alice.server.app[SETTINGS]
    await ask(alice)
    (row,) = await query(alice, "SELECT filename FROM exports")
    path = export.archive_path(settings, row["filename"])
    assert path.is_file()

    kept = await export.prune(pool, settings, datetime.now(UTC) + timedelta(days=6))
    pruned = await export.prune(pool, settings, datetime.now(UTC) + timedelta(days=8))

    assert (kept, pruned) == (0, 1)
    assert not path.exists() and await query(alice, "SELECT id FROM exports") == []


async def test_export__carries_the_profile_its_fields_and_avatar(alice):
    # Given alice's profile, with a field and an avatar
    response = await post_profile(alice, {
        "display_name": "Alice Liddell", "bio": "I lend *tools*.", "area": "Elm Street",
        "field_label_1": "Pronouns", "field_value_1": "she/her"}, avatar=photo_bytes("PNG"))
    assert response.status in (200, 303), await response.text()

    await ask(alice)
    archive = await download(alice)

    # Then profile.json holds all of it, and the avatar is the file the node serves
    profile = orjson.loads(archive.read("profile.json"))
    assert (profile["display_name"], profile["summary"], profile["area"]) == (
        "Alice Liddell", "I lend *tools*.", "Elm Street")
    assert [(f["label"], f["value"]) for f in profile["fields"]] == [("Pronouns", "she/her")]
    (row,) = await query(alice, "SELECT avatar_filename FROM accounts WHERE username = 'alice'")
    assert profile["avatar"] == f"photos/{row['avatar_filename']}"
    assert archive.read(profile["avatar"]) == (client_media(alice) / row["avatar_filename"]).read_bytes()


async def test_export__holds_her_hours_pledges_bookings_and_saved_searches(alice, bob):
    # Given alice, who was paid hours by bob, pledged towards his project and his group
    # purchase, asked for days of his drill and saved a search
    app = alice.server.app
    pool, settings = app[POOL], app[SETTINGS]
    async with pool.acquire() as conn:
        her, him = [await accounts_q.get_by_username(conn, n) for n in ("alice", "bob")]
    soon = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    bench = await listings.create_listing(pool, settings, him, {
        "purpose": "request", "kind": "project", "title": "A bench", "category": "tools", "place": "Square",
        "goal": "A bench by the tree", "deadline": soon, "hours_needed": "6",
        "materials": "10 bricks"}, [])  # fmt: skip
    await projects.pledge(pool, settings, her, bench.uid, {"need": "1", "quantity": "4"})
    rice = await listings.create_listing(pool, settings, him, {
        "purpose": "offer", "kind": "group_purchase", "title": "Rice", "category": "food", "place": "Shop",
        "target_quantity": "10", "unit": "kg", "deadline": soon}, [])  # fmt: skip
    await listings.pledge(pool, settings, her, rice.uid, "3")
    drill = await listings.create_listing(pool, settings, him, {
        "purpose": "offer", "kind": "lend", "title": "Drill", "category": "tools", "place": "Home",
        "loan_days": "7"}, [])  # fmt: skip
    await loans.ask(pool, settings, her, drill.uid, {"pickup_on": soon, "return_on": soon,
                                                     "note": "For shelves"})  # fmt: skip
    await timebank.transfer_between(pool, settings, him, her, Decimal("2.5"))
    await saved_searches.save(pool, her, {"q": "ladder"}, kinds=["lend"])

    # When she exports her account
    await ask(alice)
    archive = await download(alice)

    # Then the archive holds each, and says so
    hours = orjson.loads(archive.read("hours.json"))
    assert hours["balance"] == "2.50"
    assert [(e["hours"], e["with"]) for e in hours["entries"]] == [("2.50", "@bob")]
    assert rows_of(archive, "hours.csv")[0]["balance_after"] == "2.50"
    pledges = orjson.loads(archive.read("pledges.json"))
    assert [(p["listing"]["title"], p["quantity"]) for p in pledges] == [("A bench", "4"),
                                                                          ("Rice", "3")]  # fmt: skip
    assert pledges[0]["need"] == {"kind": "material", "quantity": 10, "label": "bricks"}
    assert pledges[1]["unit"] == "kg"
    [booking] = orjson.loads(archive.read("bookings.json"))
    assert (booking["listing"]["title"], booking["state"], booking["note"]) == (
        "Drill", "asked", "For shelves")  # fmt: skip
    [search] = orjson.loads(archive.read("saved_searches.json"))
    assert (search["words"], search["kinds"]) == ("ladder", ["lend"])
    readme = archive.read("README.txt").decode()
    assert "hours.json/.csv" in readme and "saved_searches.json" in readme
