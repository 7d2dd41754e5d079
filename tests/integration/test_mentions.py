"""Mentions and public replies from the fediverse at the handler table, on a real PostgreSQL:
which Notes become notifications, with what text and link; the one automatic direct message
a public reply to a listing gets, and what a direct reply to it becomes; and the Notes that
tell no one (muted, blocked, hidden, nobody here, no such listing, thousands of tags).

The node is http://localhost with the resident alice (tests/integration/remote.py); bob and
bert are on south.example, carol on east.example.
"""

from __future__ import annotations

import html

import orjson
import pytest

from commonsfed.db import accounts as accounts_q
from commonsfed.federation import mentions
from commonsfed.services import blocks, listings
from commonsfed.services.accounts import hash_password
from tests.builders import log_in
from tests.integration.remote import (
    ALICE,
    BERT,
    BOB,
    CAROL,
    GROUP,
    PUBLIC,
    activity,
    add_remote_actor,
    handle,
)
from tests.integration.test_answer_handlers import DRILL, direct, line

MENTION = '<span class="h-card"><a href="{0}" class="u-url mention">@<span>{1}</span></a></span>'


@pytest.fixture
async def alice(fed, db):
    return await accounts_q.get_by_username(db, "alice")


@pytest.fixture
async def browser(fed, db, make_client):
    """alice (made by the handler tests' fixture, with no password) logged in."""
    password = "correct horse battery"
    await db.execute("UPDATE accounts SET password_hash = $1 WHERE username = 'alice'",
                     await hash_password(password))  # fmt: skip
    client = await make_client()
    assert (await log_in(client, "alice", password)).status == 200
    return client


@pytest.fixture
async def drill(fed, db, alice) -> str:
    listing = await listings.create_listing(fed.pool, fed.settings, alice, DRILL, [])
    await db.execute("DELETE FROM deliveries; DELETE FROM activities")  # the Create, Announce
    return f"http://localhost/listings/{listing.uid}"


def note(author: str, number: int, text: str, *, mention: str | None = ALICE,
         to=(PUBLIC,), cc=(), **extra) -> dict:
    """A Note as Mastodon sends it: `text` after a mention of `mention`."""
    name = (mention or "/").rsplit("/", 1)[1]
    uri = f"{author}/statuses/{number}"
    content = f"<p>{MENTION.format(mention, name)} {text}</p>" if mention else f"<p>{text}</p>"
    tags = [{"type": "Mention", "href": mention, "name": f"@{name}@localhost"}] if mention else []
    return {"id": uri, "type": "Note", "attributedTo": author, "to": list(to), "cc": list(cc),
            "url": f"https://{author.split('/')[2]}/@{author.rsplit('/', 1)[1]}/{number}",
            "content": content, "tag": tags, "published": "2026-11-28T12:00:00Z", **extra}  # fmt: skip


async def told(db) -> list[tuple]:
    rows = await db.fetch("""
        SELECT a.username, n.kind, n.actor_uri, n.object_url, n.body, l.title
        FROM notifications n JOIN accounts a ON a.id = n.account_id
        LEFT JOIN listings l ON l.id = n.listing_id ORDER BY n.id
    """)  # fmt: skip
    return [tuple(row) for row in rows]


async def direct_messages(db) -> list[dict]:
    rows = await db.fetch("SELECT document FROM activities WHERE type = 'Create' ORDER BY id")
    return [orjson.loads(row[0]) for row in rows]


# --- mentions --------------------------------------------------------------------------------


async def test_public_note__mentioning_a_resident_tells_them_with_its_text_and_link(fed, db):
    sent = note(BOB, 1, 'Ask <b>alice</b>! <script>alert("x")</script><img src="x">')

    assert await handle(fed, activity("Create", BOB, sent)) == "done"

    assert await told(db) == [("alice", "mention", BOB, "https://south.example/@bob/1",
                               "@alice Ask alice!", None)]  # fmt: skip
    # kept as any public Note is
    assert await db.fetchval("SELECT uri FROM remote_objects") == sent["id"]


async def test_direct_note__mentioning_a_resident_tells_them(fed, db):
    sent = note(BOB, 2, "Hello there", to=(ALICE,))

    assert await handle(fed, activity("Create", BOB, sent)) == "done"

    assert [row[:2] for row in await told(db)] == [("alice", "mention")]


async def test_note__not_addressed_to_the_resident_it_mentions_tells_no_one(fed, db):
    # followers-only, alice neither following nor addressed: not hers to read
    sent = note(BOB, 3, "Talking about alice", to=(f"{BOB}/followers",))

    assert await handle(fed, activity("Create", BOB, sent)) == "done"

    assert await told(db) == []


async def test_note__mentioning_a_resident_who_does_not_exist_tells_no_one(fed, db):
    sent = note(BOB, 4, "Hi nobody", mention="http://localhost/users/nobody")

    assert await handle(fed, activity("Create", BOB, sent)) == "done"

    assert await told(db) == []


async def test_note__the_same_one_twice_tells_once(fed, db):
    sent = note(BOB, 5, "Hi")
    await handle(fed, activity("Create", BOB, sent))
    # the same Note again under another activity id (a personal and a shared inbox, say)
    await handle(fed, activity("Create", BOB, sent))

    assert len(await told(db)) == 1


async def test_mention__is_mailed_once_to_a_resident_who_chose_mail_about_mentions(fed, db):
    # Given alice, whose confirmed address gets mail about mentions (the default choice)
    await db.execute("UPDATE accounts SET email_confirmed_at = now() WHERE username = 'alice'")
    sent = note(BOB, 6, "Could you lend me your ladder?")

    # When bob's Note mentioning her arrives twice
    await handle(fed, activity("Create", BOB, sent))
    await handle(fed, activity("Create", BOB, sent))

    # Then one mail is queued, saying who, what and where
    rows = await db.fetch("SELECT recipient, template, context FROM outgoing_mail")
    assert [(row["recipient"], row["template"]) for row in rows] == [
        ("alice@example.org", "notification")]
    context = orjson.loads(rows[0]["context"])
    assert context["kind"] == "mention" and context["url"] == "https://south.example/@bob/6"
    assert "Could you lend me your ladder?" in context["excerpt"]
    assert context["other_side"].startswith(("@", "https://south.example/users/bob"))


async def test_mention__is_not_mailed_to_a_resident_who_chose_no_mail_about_mentions(fed, db):
    await db.execute("UPDATE accounts SET email_confirmed_at = now(), "
                     "mail_notifications = '{answer}' WHERE username = 'alice'")

    await handle(fed, activity("Create", BOB, note(BOB, 7, "Hello")))

    assert len(await told(db)) == 1
    assert await db.fetch("SELECT id FROM outgoing_mail") == []


async def test_note__with_thousands_of_tags_tells_at_most_the_first_residents(fed, db):
    # 25 more residents; a Note that tags them all, alice among them, and 1,500 more tags
    # (about as many as the inbox's cap on a document's nodes lets through)
    await db.execute("""
        INSERT INTO accounts (username, email, password_hash, status)
        SELECT 'n' || n, 'n' || n || '@example.org', '-', 'active' FROM generate_series(0, 24) n
    """)  # fmt: skip
    many = [{"type": "Mention", "href": f"http://localhost/users/n{n}", "name": f"@n{n}"}
            for n in range(1500)]  # fmt: skip
    sent = note(BOB, 6, "Spam", tag=[*many[:10], {"type": "Mention", "href": ALICE}, *many[10:]])

    assert await handle(fed, activity("Create", BOB, sent)) == "done"

    names = [row[0] for row in await told(db)]
    assert len(names) == mentions.MAX_NOTIFIED and "alice" in names
    assert set(names) == {"alice", *(f"n{n}" for n in range(19))}


async def test_note__past_the_tags_read_tells_no_one(fed, db):
    many = [{"type": "Hashtag", "name": f"#t{n}"} for n in range(200)]
    sent = note(BOB, 7, "Spam", tag=[*many, {"type": "Mention", "href": ALICE}])

    assert await handle(fed, activity("Create", BOB, sent)) == "done"

    assert await told(db) == []


@pytest.mark.parametrize("how", ["mute", "block", "domain"])
async def test_note__by_someone_muted_blocked_or_hidden_tells_no_one(fed, db, alice, how):
    if how == "domain":
        await blocks.hide_domain(fed, alice, "south.example")
    else:
        await getattr(blocks, how)(fed, alice, BOB)

    assert await handle(fed, activity("Create", BOB, note(BOB, 8, "Hi"))) == "done"

    assert await told(db) == []


async def test_mute__forgets_their_mentions_already_there(fed, db, alice):
    await handle(fed, activity("Create", BOB, note(BOB, 9, "Hi")))
    await handle(fed, activity("Create", CAROL, note(CAROL, 9, "Hi")))

    await blocks.mute(fed, alice, BOB)

    assert [row[2] for row in await told(db)] == [CAROL]


async def test_delete__of_the_note_takes_its_notification_away(fed, db):
    sent = note(BOB, 10, "Oops")
    await handle(fed, activity("Create", BOB, sent))

    assert await handle(fed, activity("Delete", BOB, sent["id"])) == "done"

    assert await told(db) == []


async def test_notifications_page__shows_the_mention_as_text_with_its_link(fed, db, browser):
    await handle(fed, activity("Create", BOB, note(BOB, 11, "<em>Look</em> &lt;b&gt;here")))

    page = await (await browser.get("/notifications")).text()

    assert '<a href="https://south.example/@bob/11" rel="nofollow noopener noreferrer">' in page
    assert "@bob@south.example mentioned you</a>" in page
    assert "@alice Look &lt;b&gt;here" in page and "<em>" not in page


# --- public replies to a listing -------------------------------------------------------------


def reply_to(author: str, number: int, listing_uri: str, text: str = "Is it free?", **extra):
    return note(author, number, text, inReplyTo=listing_uri, **{"mention": ALICE, **extra})


async def test_public_reply__tells_the_author_and_gets_one_automatic_direct_message(
    fed, db, drill
):
    first = reply_to(BOB, 20, drill, cc=(ALICE,))
    assert await handle(fed, activity("Create", BOB, first)) == "done"
    assert await handle(fed, activity("Create", BOB, reply_to(BOB, 21, drill, "Hello?"))) == "done"

    assert [(r[0], r[1], r[5]) for r in await told(db)] == [
        ("alice", "mention", "Cordless drill"), ("alice", "mention", "Cordless drill")]
    [message] = await direct_messages(db)
    dm = message["object"]
    assert message["actor"] == GROUP and dm["attributedTo"] == GROUP
    assert dm["to"] == [BOB] and dm["cc"] == [] and PUBLIC not in message["to"]
    assert dm["inReplyTo"] == first["id"]
    text = html.unescape(dm["content"])
    assert "Answers to “Cordless drill” are private" in text
    assert "reply to this message" in text and "@alice@localhost" in text and drill in text
    # never a public answer, and nothing joins the line
    assert await line(db) == []


async def test_public_reply__a_direct_reply_to_the_automatic_message_is_an_answer(
    fed, db, drill
):
    await handle(fed, activity("Create", BOB, reply_to(BOB, 22, drill)))
    [message] = await direct_messages(db)

    answer = direct(BOB, f"{BOB}/statuses/23", message["object"]["id"], "Could I borrow it?",
                    to=GROUP)  # fmt: skip
    assert await handle(fed, answer) == "done"

    assert await line(db) == [(BOB, "waiting", "note", "Could I borrow it?")]
    # bert replying to bob's automatic message answers nothing
    stolen = direct(BERT, f"{BERT}/statuses/1", message["object"]["id"], "Me!", to=GROUP)
    await handle(fed, stolen)
    assert len(await line(db)) == 1


async def test_public_reply__from_a_bot_or_a_blocked_person_gets_no_message(fed, db, alice, drill):
    bot = "https://south.example/users/bot"
    await add_remote_actor(db, bot, "Service")
    await blocks.block(fed, alice, BERT)
    await db.execute("DELETE FROM deliveries; DELETE FROM activities")  # the Block

    await handle(fed, activity("Create", bot, reply_to(bot, 1, drill)))
    await handle(fed, activity("Create", BERT, reply_to(BERT, 24, drill)))

    assert await direct_messages(db) == []
    assert [row[2] for row in await told(db)] == [bot]  # the bot's reply is still a mention


async def test_public_reply__to_a_closed_listing_tells_the_author_but_sends_nothing(
    fed, db, drill
):
    await db.execute("UPDATE listings SET state = 'completed'")

    await handle(fed, activity("Create", BOB, reply_to(BOB, 25, drill)))

    assert len(await told(db)) == 1 and await direct_messages(db) == []


async def test_public_reply__to_a_listing_that_does_not_exist_tells_no_one(fed, db, drill):
    missing = drill.rsplit("/", 1)[0] + "/NoSuchListing1"

    sent = reply_to(BOB, 26, missing, mention=None)
    assert await handle(fed, activity("Create", BOB, sent)) == "done"

    assert await told(db) == [] and await direct_messages(db) == []
    assert await db.fetchval("SELECT in_reply_to FROM remote_objects") == missing


async def test_direct_reply__to_a_listing_that_does_not_exist_is_refused(fed, db, drill):
    missing = drill.rsplit("/", 1)[0] + "/NoSuchListing1"

    with pytest.raises(Exception, match="is not a listing of this node"):
        await handle(fed, direct(BOB, f"{BOB}/statuses/27", missing, "Hi"))

    assert await told(db) == []


async def test_public_reply__by_someone_who_answered_already_gets_no_message(fed, db, drill):
    await handle(fed, direct(BOB, f"{BOB}/statuses/28", drill, "Could I borrow it?"))

    await handle(fed, activity("Create", BOB, reply_to(BOB, 29, drill)))

    assert [doc["type"] for doc in await direct_messages(db)] == []


async def test_public_reply__its_author_reads_it_on_the_notifications_page(
    fed, db, drill, browser
):
    await handle(fed, activity("Create", BOB, reply_to(BOB, 30, drill, "Nice <i>drill</i>")))

    page = html.unescape(await (await browser.get("/notifications")).text())

    assert "@bob@south.example replied publicly to your listing “Cordless drill”" in page
    assert "Nice drill" in page and '<a href="/listings/' in page
