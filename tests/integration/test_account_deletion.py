"""A resident deletes their account at /settings/delete: the password first, then their
listings, answers and messages go, everyone who knew them is sent a Delete, everything
personal is erased, and the name is never given out again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from commonsfed import signatures
from commonsfed.db import accounts as accounts_q
from commonsfed.db import answers as answers_q
from commonsfed.federation.keys import NoSigningKey, signing_key_pem
from commonsfed.services import account_deletion, export, listings
from commonsfed.services.export import exports_dir
from commonsfed.services.jobs import ScheduledJobs
from commonsfed.services.photos import media_dir
from commonsfed.web.keys import POOL
from commonsfed.web.sessions import CSRF_FIELD
from tests.builders import (
    DEFAULT_PASSWORD,
    csrf_from,
    log_in,
    photo_bytes,
    post_form,
    post_listing,
    post_profile,
    register,
)
from tests.integration.remote import add_remote_actor
from tests.integration.sinks import BOB

AS2 = {"Accept": "application/activity+json"}
HTML = {"Accept": "text/html"}
ALICE = "http://localhost/users/alice"
GROUP = "http://localhost/users/neighbourhood"


# --- helpers -------------------------------------------------------------------------------


async def post(client, title: str, photo: bool = False) -> str:
    photos = [("photo_1", "it.jpg", photo_bytes())] if photo else []
    fields = {"title": title, **({"alt_1": "A photo of it"} if photo else {})}
    response = await post_listing(client, fields, photos=photos)
    assert response.status == 303, await response.text()
    return response.headers["Location"].rsplit("/", 1)[1]


async def answer(client, uid: str, message: str) -> int:
    response = await post_form(client, f"/listings/{uid}/answers", {"message": message},
                               form_path=f"/listings/{uid}", allow_redirects=False)  # fmt: skip
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


async def write(client, conversation_id: int, message: str) -> None:
    path = f"/conversations/{conversation_id}"
    response = await post_form(client, path + "/messages", {"message": message}, form_path=path)
    assert response.status == 200, await response.text()


async def delete(client, password: str = DEFAULT_PASSWORD):
    return await post_form(client, "/settings/delete", {"password": password})


async def query(client, sql: str, *args) -> list:
    async with client.server.app[POOL].acquire() as conn:
        return await conn.fetch(sql, *args)


async def account(client, name: str):
    async with client.server.app[POOL].acquire() as conn:
        return await accounts_q.get_by_username(conn, name)


# --- the page and its password -------------------------------------------------------------


async def test_delete_page__says_what_happens_and_asks_for_the_password(make_resident):
    alice = await make_resident("alice")

    hub = await (await alice.get("/settings")).text()
    page = await alice.get("/settings/delete")

    assert 'href="/settings/delete"' in hub
    text = await page.text()
    assert page.status == 200 and "cannot be undone" in text
    assert "The name @alice stays reserved" in text
    assert 'name="password" type="password"' in text and 'aria-current="page"' in text


async def test_delete_page__wants_a_login(client):
    response = await client.get("/settings/delete", allow_redirects=False)

    assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_delete__with_a_wrong_password_says_so_next_to_the_field_and_changes_nothing(
    make_resident,
):
    alice = await make_resident("alice")
    uid = await post(alice, "Cordless drill")

    response = await delete(alice, "not my password at all")

    text = await response.text()
    assert response.status == 422
    assert 'id="e-password">This is not your password.' in text
    assert "Your account was not deleted" in text
    assert (await account(alice, "alice")).status == "active"
    assert (await alice.get(f"/listings/{uid}")).status == 200
    assert (await alice.get("/settings", allow_redirects=False)).status == 200
    assert await query(alice, "SELECT 1 FROM activities WHERE type = 'Delete'") == []
    assert len(await query(alice, "SELECT 1 FROM login_failures WHERE username = 'alice'")) == 1


async def test_delete__is_throttled_as_logins_are(make_resident):
    alice = await make_resident("alice")
    for _ in range(5):
        assert (await delete(alice, "a wrong guess, again")).status == 422

    response = await delete(alice)  # even the right one, for a while

    assert response.status == 429
    assert "Too many wrong passwords. Try again in 15 minutes." in await response.text()
    assert (await account(alice, "alice")).status == "active"


async def test_delete__that_fails_at_its_last_step_leaves_everything_as_it_was(
    make_resident, settings
):
    # Given alice with a listing and its photo, an answer to carol's listing, and a
    # database that will fail the deletion's last write (as a full disk would)
    alice = await make_resident("alice")
    drill = await post(alice, "Cordless drill", photo=True)
    carol = await make_resident("carol")
    conv = await answer(alice, await post(carol, "Ladder"), "May I?")
    async with alice.server.app[POOL].acquire() as conn:
        await conn.execute("""
            CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql
                AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left'; END $$;
            CREATE TRIGGER fail BEFORE UPDATE ON accounts
                FOR EACH ROW WHEN (NEW.status = 'deleted') EXECUTE FUNCTION fail();
        """)  # fmt: skip

    response = await delete(alice)

    # Then it failed whole: her listing, its photo, her answer, her session all stand
    assert response.status == 500
    assert (await account(alice, "alice")).status == "active"
    assert (await alice.get(f"/listings/{drill}")).status == 200
    assert len(list(media_dir(settings).iterdir())) == 3  # a photo, its 2 renditions
    assert [r[0] for r in await query(alice, "SELECT body FROM messages")] == ["May I?"]
    assert (await query(alice, "SELECT state FROM conversations WHERE id = $1", conv))[0][0] == (
        "waiting"
    )
    assert await query(alice, "SELECT 1 FROM activities WHERE type = 'Delete'") == []
    assert (await alice.get("/settings", allow_redirects=False)).status == 200


async def test_accounts__only_a_deleted_one_may_lack_an_email_or_a_password(client):
    async with client.server.app[POOL].acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="erased_only_when_deleted"):
            await conn.execute(
                "INSERT INTO accounts (username, email, password_hash) VALUES ('zoe', NULL, 'x')"
            )


# --- what goes -------------------------------------------------------------------------------


async def test_delete__removes_listings_answers_messages_and_everything_personal(
    make_resident, settings
):
    # Given alice, with a listing (with a photo) that bob answered, and an answer of hers
    # to carol's listing where the two of them wrote to each other
    alice = await make_resident("alice")
    drill = await post(alice, "Cordless drill", photo=True)
    bob = await make_resident("bob")
    await answer(bob, drill, "May I borrow it?")
    carol = await make_resident("carol")
    ladder = await post(carol, "Ladder")
    conv = await answer(alice, ladder, "I could use the ladder on Sunday.")
    await write(carol, conv, "Sunday is fine, come at ten.")
    assert len(list(media_dir(settings).iterdir())) == 3  # a photo, its 2 renditions
    # and she downloaded an export of it all, kept on the node for a week
    await post_form(alice, "/settings/export", {}, form_path="/settings/export")
    assert len(list(exports_dir(settings).iterdir())) == 1

    # When she deletes her account with her password
    response = await delete(alice)

    # Then she is told so, and is logged out
    assert response.status == 200 and "Your account is deleted" in await response.text()
    assert (await alice.get("/settings", allow_redirects=False)).status == 303
    # her row is a tombstone: the name stays, nothing personal does
    row = (await query(alice, """
        SELECT status, email, password_hash, display_name, summary, role,
               deleted_at IS NOT NULL AS dated FROM accounts WHERE username = 'alice'
    """))[0]  # fmt: skip
    assert dict(row) == {
        "status": "deleted",
        "email": None,
        "password_hash": None,
        "display_name": "",
        "summary": "",
        "role": "none",
        "dated": True,
    }
    # her listing is removed as its author would remove it: a Delete, a 410, no photo file
    assert (await alice.get(f"/listings/{drill}")).status == 410
    assert list(media_dir(settings).iterdir()) == []
    assert await query(alice, "SELECT 1 FROM listings WHERE title = 'Cordless drill'") == []
    # her export too, file and row
    assert list(exports_dir(settings).iterdir()) == []
    assert await query(alice, "SELECT 1 FROM exports") == []
    # nothing of hers is left: sessions, notifications, her messages, what her activities said
    who = (await account(alice, "alice")).id
    for table, column in (
        ("account_sessions", "account_id"),
        ("notifications", "account_id"),
        ("messages", "sender_account_id"),
        ("pledges", "account_id"),
    ):
        assert await query(alice, f"SELECT 1 FROM {table} WHERE {column} = $1", who) == []
    kept = await query(alice, "SELECT DISTINCT type FROM activities WHERE actor_uri = $1", ALICE)
    assert [row["type"] for row in kept] == ["Delete"]
    # carol keeps the conversation: her own message, and a line that says alice left
    page = await (await carol.get(f"/conversations/{conv}")).text()
    assert "Sunday is fine, come at ten." in page
    assert "I could use the ladder" not in page
    assert "@alice deleted their account. Their messages were removed" in page
    assert '<span class="tag state">Closed</span>' in page
    assert f'action="/conversations/{conv}/messages"' not in page  # closed: no reply form
    assert "withdrew their answer to “Ladder”" in await (await carol.get("/notifications")).text()
    # and so does her export: the line is nobody's message
    archive = await export.collect(
        carol.server.app[POOL], settings, (await account(carol, "carol")).id
    )
    lines = archive.files["messages.csv"].decode().splitlines()
    assert lines[1].split(",")[2:3] == ["@carol"] and lines[2].split(",")[2:3] == [""]
    assert "@alice deleted their account" in lines[2] and len(lines) == 3


async def test_delete__erases_the_profile_its_avatar_and_her_mail_and_says_goodbye(
    make_resident, settings
):
    # Given alice with a profile (a field and an avatar), a confirmed address, mail about
    # her and a link mailed to her
    alice = await make_resident("alice")
    await post_profile(alice, {"display_name": "Alice L.", "area": "Elm Street",
                               "field_label_1": "Pronouns", "field_value_1": "she/her"},
                       avatar=photo_bytes("PNG"))  # fmt: skip
    who = (await account(alice, "alice")).id
    await query(alice, "UPDATE accounts SET email_confirmed_at = now() WHERE id = $1", who)
    await post_form(alice, "/settings/email", {"email": "alice@new.example",
                                               "current_password": DEFAULT_PASSWORD})
    assert await query(alice, "SELECT 1 FROM account_tokens WHERE account_id = $1", who)
    assert len(list(media_dir(settings).iterdir())) == 1

    # When she deletes her account
    assert (await delete(alice)).status == 200

    # Then her profile, its avatar file, her links and every mail about her are gone
    (row,) = await query(alice, "SELECT area, avatar_filename, email_confirmed_at, "
                                "mail_notifications FROM accounts WHERE id = $1", who)
    assert dict(row) == {"area": "", "avatar_filename": None, "email_confirmed_at": None,
                         "mail_notifications": []}  # fmt: skip
    assert list(media_dir(settings).iterdir()) == []
    for table in ("profile_fields", "account_tokens", "outgoing_mail"):
        assert await query(alice, f"SELECT 1 FROM {table} WHERE account_id = $1", who) == []
    # but one last mail tells her old address that the account is gone
    mails = await query(alice, "SELECT recipient, template FROM outgoing_mail")
    assert [tuple(mail) for mail in mails] == [("alice@example.org", "account_deleted")]


async def test_delete__passes_a_reservation_she_held_to_the_next_in_line(make_resident):
    # Given carol's ladder, reserved for alice, with dave waiting behind her
    carol = await make_resident("carol")
    ladder = await post(carol, "Ladder")
    alice = await make_resident("alice")
    alices = await answer(alice, ladder, "Could I have it?")
    dave = await make_resident("dave")
    daves = await answer(dave, ladder, "Me too, if she does not.")
    path = f"/conversations/{alices}"
    assert (await post_form(carol, path + "/reserve", {}, form_path=path)).status == 200

    # When alice deletes her account
    assert (await delete(alice)).status == 200

    # Then the ladder is open again and dave is offered it, as after a withdrawal
    states = await query(carol, "SELECT id, state, closed_at IS NOT NULL AS closed "
                                "FROM conversations ORDER BY id")  # fmt: skip
    assert [tuple(row) for row in states] == [
        (alices, "withdrawn", True),
        (daves, "offered", False),
    ]
    assert (await query(carol, "SELECT state FROM listings"))[0][0] == "open"
    assert "It is your turn" in await (await dave.get(f"/conversations/{daves}")).text()


async def test_delete__takes_back_her_pledges(make_resident, settings):
    carol = await make_resident("carol")
    alice = await make_resident("alice")
    pool = carol.server.app[POOL]
    deadline = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    rice = await listings.create_listing(pool, settings, await account(carol, "carol"), {
        "purpose": "offer", "kind": "group_purchase", "title": "Rice", "category": "food",
        "place": "Elm Street", "target_quantity": "10", "unit": "kg", "deadline": deadline,
    }, [])  # fmt: skip
    await listings.pledge(pool, settings, await account(alice, "alice"), rice.uid, "4")

    assert (await delete(alice)).status == 200

    assert (await listings.get_listing(pool, rice.uid)).available_quantity == 10
    assert await query(carol, "SELECT 1 FROM pledges") == []


async def test_delete__sends_a_delete_of_the_person_to_everyone_who_knows_her_once_per_inbox(
    make_resident,
):
    # Given people on other servers who know alice: bob follows her, she asked to follow
    # carol, bert (bob's server) answered her listing, she answered dan's listing, and a
    # neighbourhood on north.example follows this one's Group; dave here follows her too
    alice = await make_resident("alice")
    drill = await post(alice, "Cordless drill")
    await make_resident("dave")
    bob, bert = "https://south.example/users/bob", "https://south.example/users/bert"
    carol, dan = "https://east.example/users/carol", "https://west.example/users/dan"
    north = "https://north.example/users/neighbourhood"
    async with alice.server.app[POOL].acquire() as conn:
        for uri in (bob, bert, carol, dan):
            await add_remote_actor(conn, uri)
        await add_remote_actor(conn, north, type="Group")
        follows = [(bob, ALICE, "accepted"), (ALICE, carol, "pending"), (north, GROUP, "accepted"),
                   ("http://localhost/users/dave", ALICE, "accepted")]  # fmt: skip
        await conn.executemany(
            "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, $3)", follows
        )
        listing_id = await conn.fetchval("SELECT id FROM listings WHERE uid = $1", drill)
        await answers_q.insert_remote_respondent(conn, listing_id, bert, bert + "/o/1", "offer")
        await answers_q.insert_remote_listing_conversation(
            conn, account_id=(await accounts_q.get_by_username(conn, "alice")).id,
            listing_uri="https://west.example/listings/1", author_uri=dan, author_handle=None,
            title="Bike", state="open", ap_id="http://localhost/activities/offer-1",
        )  # fmt: skip

    # When she deletes her account
    assert (await delete(alice)).status == 200

    # Then one Delete of her, public, goes to each of their servers' shared inboxes once
    [row] = await query(alice, "SELECT uri, document FROM activities "
                               "WHERE type = 'Delete' AND object_uri = $1", ALICE)  # fmt: skip
    document = orjson.loads(row["document"])
    assert document["actor"] == ALICE and document["object"] == ALICE
    assert document["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert "bcc" not in document  # who was told is nobody's business
    inboxes = await query(alice, "SELECT inbox FROM deliveries WHERE activity_uri = $1 "
                                 "ORDER BY inbox", row["uri"])  # fmt: skip
    assert [r["inbox"] for r in inboxes] == [
        "https://east.example/inbox", "https://north.example/inbox",
        "https://south.example/inbox", "https://west.example/inbox",
    ]  # fmt: skip
    # and her follows, either way, are gone
    assert await query(alice, "SELECT 1 FROM follows WHERE $1 IN (follower_uri, followed_uri)",
                       ALICE) == []  # fmt: skip
    assert (
        await query(alice, "SELECT 1 FROM conversations WHERE remote_listing_uri IS NOT NULL") == []
    )


# --- afterwards ------------------------------------------------------------------------------


async def test_deleted_actor__answers_410_a_tombstone_a_page_and_webfinger(make_resident, client):
    alice = await make_resident("alice")
    assert (await delete(alice)).status == 200

    as2 = await client.get("/users/alice", headers=AS2)
    page = await client.get("/users/alice", headers=HTML)
    webfinger = await client.get("/.well-known/webfinger?resource=acct:alice@localhost")
    followers = await client.get("/users/alice/followers", headers=AS2)

    document = await as2.json(content_type=None)
    assert as2.status == 410 and as2.content_type == "application/activity+json"
    assert document == {**document, "id": ALICE, "type": "Tombstone", "formerType": "Person"}
    assert document["deleted"].endswith("Z")
    assert page.status == 410 and page.content_type == "text/html"
    assert "This account has left" in (text := await page.text()) and "@alice@localhost" in text
    assert webfinger.status == 410
    assert followers.status == 410


async def test_deleted_actor__still_answers_410_once_its_key_is_erased(
    make_resident, client, settings
):
    alice = await make_resident("alice")
    assert (await delete(alice)).status == 200

    # nobody knew her, so no delivery waits: the key goes at the job's next run
    assert await account_deletion.erase_spent_keys(client.server.app[POOL], settings) == 1

    assert (await client.get("/users/alice", headers=AS2)).status == 410
    webfinger = await client.get("/.well-known/webfinger?resource=acct:alice@localhost")
    assert webfinger.status == 410


async def test_login__as_a_deleted_account_is_refused_with_a_clear_message(make_resident, client):
    alice = await make_resident("alice")
    assert (await delete(alice)).status == 200

    for name in ("alice", "Alice"):
        response = await log_in(client, name)
        assert response.status == 401
        assert "This account was deleted and cannot log in again" in await response.text()


async def test_register__the_name_of_a_deleted_account_is_refused_in_any_case(
    make_resident, client
):
    alice = await make_resident("alice")
    assert (await delete(alice)).status == 200

    for name in ("alice", "ALICE", "@Alice"):
        response = await register(client, name, email="someone.else@example.org")
        assert response.status == 422 and "This username is taken." in await response.text()
    # the e-mail address, erased, is free for a new account
    assert (await register(client, "alice2", email="alice@example.org")).status == 200


async def test_delete__a_second_request_is_refused_and_changes_nothing(make_resident, settings):
    alice = await make_resident("alice")
    await post(alice, "Cordless drill")
    pool = alice.server.app[POOL]
    who = await account(alice, "alice")

    # two at once (a double click): one deletes, the other finds it deleted
    results = await asyncio.gather(*(
        account_deletion.delete_account(pool, settings, who, password=DEFAULT_PASSWORD,
                                        address="127.0.0.1")
        for _ in range(2)
    ), return_exceptions=True)  # fmt: skip
    assert sorted(type(result).__name__ for result in results) == ["AccountGone", "NoneType"]
    # and one after: refused the same way
    with pytest.raises(account_deletion.AccountGone, match="deleted already"):
        await account_deletion.delete_account(
            pool, settings, who, password=DEFAULT_PASSWORD, address="127.0.0.1"
        )
    # one Delete of her listing, one of her: never twice
    deleted = [row[0] for row in await query(
        alice, "SELECT object_uri FROM activities WHERE type = 'Delete'")]  # fmt: skip
    assert len(deleted) == 2 and deleted.count(ALICE) == 1


async def test_delete__sent_again_from_another_tab_changes_nothing(make_resident, make_client):
    # Given alice logged in on two devices, the deletion page open on the second
    alice = await make_resident("alice")
    other = await make_client()
    assert (await log_in(other, "alice")).status == 200
    form = await other.get("/settings/delete")
    token = csrf_from(await form.text())

    # When she deletes her account on the first, then sends the form on the second
    assert (await delete(alice)).status == 200
    response = await other.post(
        "/settings/delete", data={CSRF_FIELD: token, "password": DEFAULT_PASSWORD}
    )

    # Then the second device is logged out and told to start again, and nothing more happens
    assert response.status == 403 and "This form has expired" in await response.text()
    assert (await other.get("/settings", allow_redirects=False)).status == 303
    deleted = await query(alice, "SELECT 1 FROM activities WHERE type = 'Delete'")
    assert len(deleted) == 1


# --- the key that signs the farewell -----------------------------------------------------------


async def farewell(world) -> None:
    """bob (at sink.test) follows alice on north, who then deletes her account."""
    await world.execute(
        "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, 'accepted')",
        BOB, world.alice,
    )  # fmt: skip
    alice = await world.fetchrow("SELECT id FROM accounts WHERE username = 'alice'")
    async with world.pool.acquire() as conn:
        who = await accounts_q.get_account(conn, alice["id"])
    await account_deletion.delete_account(
        world.pool, world.node.settings, who, password="x" * 12, address="127.0.0.1"
    )


async def keys(world) -> tuple[str | None, str | None]:
    row = await world.fetchrow("SELECT private_key_pem, public_key_pem FROM accounts")
    return row[0], row[1]


async def test_farewell__is_signed_with_her_key_which_is_erased_once_delivered(world):
    # Given alice deleted her account, and the Delete to bob's server waits for the worker
    await farewell(world)
    private, public = await keys(world)
    settings = world.node.settings

    # Then her key stays while it waits, and still signs
    assert await account_deletion.erase_spent_keys(world.pool, settings) == 0
    async with world.pool.acquire() as conn:
        assert await signing_key_pem(conn, settings, world.alice) == private

    # When the worker sends it: bob's server gets it, signed with her key
    await world.worker().tick()
    [received] = world.sink.received
    assert orjson.loads(received.body)["object"] == world.alice
    parsed = signatures.verify_request(
        "POST", received.raw_path, received.headers, received.body,
        signatures.public_key_from_pem(public), scheme="http",
    )  # fmt: skip
    assert parsed.key_id == f"{world.alice}#main-key"

    # Then the scheduled job erases the key, and nothing can be signed as her any more
    assert await ScheduledJobs(world.pool, settings).tick() is True
    assert await keys(world) == (None, None)
    async with world.pool.acquire() as conn:
        with pytest.raises(NoSigningKey):
            await signing_key_pem(conn, settings, world.alice)


async def test_farewell__given_up_still_lets_the_key_go(world):
    # Given the Delete to bob's server is refused for good (a 4xx is not retried)
    await farewell(world)
    world.sink.answer(403)
    await world.worker().tick()
    assert (await world.fetchrow("SELECT state FROM deliveries"))[0] == "failed"

    # Then nothing waits any more, and the key goes
    assert await account_deletion.erase_spent_keys(world.pool, world.node.settings) == 1
    assert await keys(world) == (None, None)


async def test_farewell__a_retry_keeps_the_key_until_it_is_delivered(world):
    # Given the first try fails with a 503: it will be retried later
    await farewell(world)
    world.sink.answer(503)
    await world.worker().tick()
    assert (await world.fetchrow("SELECT state FROM deliveries"))[0] == "pending"

    # Then the key stays; once the retry is delivered, it goes
    assert await account_deletion.erase_spent_keys(world.pool, world.node.settings) == 0
    await world.make_due()
    await world.worker().tick()
    assert (await world.fetchrow("SELECT state FROM deliveries"))[0] == "done"
    assert await account_deletion.erase_spent_keys(world.pool, world.node.settings) == 1
