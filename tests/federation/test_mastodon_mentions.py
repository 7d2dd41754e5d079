"""A Mastodon user mentions a resident of north and replies publicly to her listing: both
show in her notifications, and the public reply gets one automatic direct message that
points to the private way to answer, which maria then takes.

Mastodon is the stand-in of tests/federation/test_mastodon_user.py (maria at mastodon.test,
the `mastodon` and `north` fixtures); north.test is a real node.
"""

from __future__ import annotations

import html

from commonsfed.ap.remote_listings import html_to_text
from commonsfed.services import listings
from tests.builders import log_in
from tests.federation.test_mastodon_user import DRILL, MARIA, rows
from tests.nodes import settle

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def public_note(stand_in, mentioned: str, text: str, in_reply_to: str | None = None) -> dict:
    """What Mastodon sends for a public post that mentions `mentioned` (or replies to them)."""
    note_id = stand_in.next_id()
    name = mentioned.rsplit("/", 1)[1]
    return {
        "id": note_id + "/activity", "type": "Create", "actor": MARIA,
        "to": [PUBLIC], "cc": [MARIA + "/followers", mentioned],
        "object": {
            "id": note_id, "type": "Note", "attributedTo": MARIA, "inReplyTo": in_reply_to,
            "to": [PUBLIC], "cc": [MARIA + "/followers", mentioned],
            "url": "http://mastodon.test/@maria/" + note_id.rsplit("/", 1)[1],
            "published": "2026-11-28T12:00:00Z",
            "content": f'<p><span class="h-card" translate="no"><a href="{mentioned}" '
                       f'class="u-url mention">@<span>{name}</span></a></span> {text}</p>',
            "tag": [{"type": "Mention", "href": mentioned, "name": f"@{name}@north.test"}],
        },
    }  # fmt: skip


async def test_mastodon_mention__shows_in_alice_s_notifications(north, mastodon):
    alice = north.url("/users/alice")

    await mastodon.send(north, "/inbox", public_note(
        mastodon, alice, "Do you still have <strong>jam jars</strong>?"))  # fmt: skip
    await settle(north)

    assert (await log_in(north.client, "alice")).status == 200
    page = await (await north.client.get("/notifications")).text()
    assert "@maria@mastodon.test mentioned you" in page
    assert "Do you still have jam jars?" in html.unescape(page) and "<strong>" not in page
    assert 'href="http://mastodon.test/@maria/1"' in page
    assert mastodon.of_type("Create") == []  # a mention gets no automatic answer


async def test_mastodon_public_reply__gets_one_pointer_to_the_private_way_and_takes_it(
    north, mastodon
):
    drill = await listings.create_listing(
        north.federation.pool, north.settings, north.alice, DRILL, [])
    listing_uri = north.url(f"/listings/{drill.uid}")
    await settle(north)

    # maria replies publicly, twice: one automatic direct message from the neighbourhood
    for text in ("Is this still available?", "Hello?"):
        await mastodon.send(north, "/inbox", public_note(
            mastodon, north.url("/users/alice"), text, in_reply_to=listing_uri))  # fmt: skip
        await settle(north)
    [dm] = mastodon.of_type("Create")
    note = dm["object"]
    assert dm["actor"] == north.url("/users/neighbourhood") and note["to"] == [MARIA]
    assert note["inReplyTo"] == f"{MARIA}/statuses/1" and "Public" not in str(dm)
    assert "reply to this message" in html_to_text(note["content"])
    assert await rows(north, "SELECT count(*) FROM conversations") == [(0,)]

    # she does: her direct reply to it is an answer in alice's line
    await mastodon.send(north, "/inbox", mastodon.direct(
        north.url("/users/neighbourhood"), note["id"], "Could I borrow it on Saturday?"))
    await settle(north)
    assert await rows(north, """
        SELECT c.respondent_actor_uri, c.state, m.body
        FROM conversations c JOIN messages m ON m.conversation_id = c.id
    """) == [(MARIA, "waiting", "Could I borrow it on Saturday?")]  # fmt: skip
    kinds = await rows(north, "SELECT kind FROM notifications ORDER BY id")
    assert kinds == [("mention",), ("mention",), ("new_answer",)]
