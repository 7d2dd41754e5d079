"""A Mastodon user follows the neighbourhood, reads its offers as plain posts and answers one
by direct message.

Mastodon is the outside world here, so it is a stand-in: a small aiohttp server at
mastodon.test with one actor (maria) whose inbox keeps what it receives. It knows nothing of
FEP-0837: it reads `content`, `tag` and the addressing, as Mastodon does. north.test is a
real node; its resolver map points mastodon.test at the stand-in.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from commonsfed import signatures
from commonsfed.ap.remote_listings import html_to_text
from commonsfed.db.pool import connect
from commonsfed.services import accounts, answers, listings
from tests.builders import DEFAULT_PASSWORD
from tests.nodes import bound_socket, settle

MARIA = "http://mastodon.test/users/maria"
AS2 = "application/activity+json"
DRILL = {
    "purpose": "offer", "kind": "lend", "title": "Cordless drill", "category": "tools",
    "description": "With **two batteries** and a set of bits.", "place": "Elm Street",
    "loan_days": "7",
}  # fmt: skip


@dataclass
class Mastodon:
    """The stand-in server: maria's actor, and every activity delivered to her."""

    key: object = field(default_factory=signatures.generate_private_key)
    received: list[dict] = field(default_factory=list)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/users/maria", self.actor)
        app.router.add_post("/users/maria/inbox", self.inbox)
        app.router.add_post("/inbox", self.inbox)
        return app

    async def actor(self, request: web.Request) -> web.Response:
        document = {
            "@context": ["https://www.w3.org/ns/activitystreams",
                         "https://w3id.org/security/v1"],
            "id": MARIA, "type": "Person", "preferredUsername": "maria", "name": "Maria",
            "inbox": MARIA + "/inbox", "outbox": MARIA + "/outbox",
            "followers": MARIA + "/followers", "url": "http://mastodon.test/@maria",
            "endpoints": {"sharedInbox": "http://mastodon.test/inbox"},
            "publicKey": {"id": MARIA + "#main-key", "owner": MARIA,
                          "publicKeyPem": signatures.public_key_to_pem(self.key)},
        }  # fmt: skip
        return web.Response(body=orjson.dumps(document), content_type=AS2)

    async def inbox(self, request: web.Request) -> web.Response:
        assert "Signature" in request.headers  # Mastodon refuses unsigned deliveries
        self.received.append(await request.json())
        return web.Response(status=202)

    def of_type(self, kind: str) -> list[dict]:
        return [activity for activity in self.received if activity["type"] == kind]

    async def send(self, node, path: str, activity: dict) -> None:
        """Deliver `activity` to `node`'s inbox at `path`, signed with maria's key."""
        body = orjson.dumps({"@context": "https://www.w3.org/ns/activitystreams", **activity})
        headers = {"Host": node.name, "Content-Type": AS2}
        headers |= signatures.sign_cavage("POST", node.url(path), headers, body,
                                          MARIA + "#main-key", self.key)
        response = await node.client.post(path, data=body, headers=headers)
        assert response.status == 202, await response.text()

    def next_id(self) -> str:
        return f"{MARIA}/statuses/{next(self.ids)}"

    def direct(self, to: str, in_reply_to: str, text: str) -> dict:
        """What Mastodon sends for a direct-visibility reply."""
        note_id = self.next_id()
        name = to.rsplit("/", 1)[1]
        return {
            "id": note_id + "/activity", "type": "Create", "actor": MARIA, "to": [to], "cc": [],
            "object": {
                "id": note_id, "type": "Note", "attributedTo": MARIA, "to": [to], "cc": [],
                "inReplyTo": in_reply_to, "published": "2026-11-28T12:00:00Z",
                "content": f'<p><span class="h-card" translate="no"><a href="{to}" '
                           f'class="u-url mention">@<span>{name}</span></a></span> {text}</p>',
                "tag": [{"type": "Mention", "href": to, "name": f"@{name}@north.test"}],
            },
        }  # fmt: skip


@pytest.fixture
async def mastodon():
    stand_in = Mastodon()
    sock = bound_socket()  # held, so no other test process takes the port meanwhile
    server = TestServer(stand_in.app(), host="127.0.0.1", port=sock.getsockname()[1],
                        socket_factory=lambda *_: sock)
    await server.start_server()
    stand_in.port = server.port
    yield stand_in
    await server.close()


@pytest.fixture
async def north(start_nodes, mastodon):
    """north.test, which finds mastodon.test on the stand-in's port; alice lives there."""
    (node,) = await start_nodes(1, **{"north.test": {
        "resolve": {"mastodon.test": f"127.0.0.1:{mastodon.port}"}}})  # fmt: skip
    node.alice = await accounts.register(
        node.federation.pool, node.settings, username="alice", email="alice@example.org",
        password=DEFAULT_PASSWORD, by_admin=True)
    return node


async def rows(node, sql: str, *args):
    conn = await connect(node.settings.database_url)
    try:
        return [tuple(row) for row in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def test_mastodon_user__follows_reads_the_offer_and_answers_by_direct_message(
    north, mastodon
):
    group = north.url("/users/neighbourhood")
    alice = north.url("/users/alice")

    # maria follows the neighbourhood, and is accepted
    follow = {"id": f"{MARIA}#follows/1", "type": "Follow", "actor": MARIA, "object": group}
    await mastodon.send(north, "/users/neighbourhood/inbox", follow)
    await settle(north)
    [accepted] = mastodon.of_type("Accept")
    assert accepted["object"]["id"] == follow["id"]

    # alice offers her drill: maria gets the neighbourhood's Announce of a readable post
    drill = await listings.create_listing(
        north.federation.pool, north.settings, north.alice, DRILL, [])
    await settle(north)
    [announce] = mastodon.of_type("Announce")
    note = announce["object"]
    listing_uri = north.url(f"/listings/{drill.uid}")
    assert announce["actor"] == group and note["id"] == listing_uri
    assert note["type"] == "Note" and "summary" not in note  # no content warning
    text = html_to_text(note["content"])
    for part in ("Cordless drill", "two batteries", "Elm Street", "7 days",
                 "Reply privately", "#tools"):
        assert part.lower() in text.lower(), (part, text)
    assert note["tag"] == [{"type": "Hashtag", "name": "#tools",
                            "href": north.url("/tags/tools")}]
    tag_page = await north.client.get("/tags/tools", allow_redirects=False)
    assert tag_page.headers["Location"] == "/categories/tools"
    assert note["url"] == north.url(f"/listings/{drill.uid}")

    # maria replies to the post by direct message: an answer, in alice's line
    await mastodon.send(north, "/users/alice/inbox",
                        mastodon.direct(alice, listing_uri, "Could I borrow it on Saturday?"))
    await settle(north)
    assert await rows(north, """
        SELECT c.respondent_actor_uri, c.state, c.answered_with, m.body
        FROM conversations c JOIN messages m ON m.conversation_id = c.id
    """) == [(MARIA, "waiting", "note", "Could I borrow it on Saturday?")]  # fmt: skip
    [(conversation_id,)] = await rows(north, "SELECT id FROM conversations")
    pool, settings = north.federation.pool, north.settings

    # alice answers in the conversation: maria gets a direct message in the same thread
    await answers.reply(pool, settings, north.alice, conversation_id, "Yes, after ten.")
    await settle(north)
    [dm] = [c for c in mastodon.of_type("Create") if c["object"]["type"] == "Note"]
    first = f"{MARIA}/statuses/1"
    assert dm["to"] == [MARIA] and dm["cc"] == [] and dm["object"]["to"] == [MARIA]
    assert dm["object"]["inReplyTo"] == first
    assert dm["object"]["tag"] == [{"type": "Mention", "href": MARIA,
                                    "name": "@maria@mastodon.test"}]
    assert "Yes, after ten." in html_to_text(dm["object"]["content"])

    # maria's reply to that message lands in the same conversation
    await mastodon.send(north, "/users/alice/inbox",
                        mastodon.direct(alice, dm["object"]["id"], "Great, see you!"))
    await settle(north)
    view = await answers.conversation(pool, north.alice, conversation_id)
    assert [m.body for m in view.messages] == [
        "Could I borrow it on Saturday?", "Yes, after ten.", "Great, see you!"]
    assert view.messages[0].sender_name == "@maria@mastodon.test"

    # alice reserves it for her: Mastodon has no Accept of an Offer, so maria reads it
    await answers.reserve(pool, settings, north.alice, conversation_id)
    await settle(north)
    told = [html_to_text(c["object"]["content"]) for c in mastodon.of_type("Create")
            if c["object"]["type"] == "Note"]
    assert "I have reserved “Cordless drill” for you" in told[-1]
    # and the listing's Update reaches her too (blind-copied: who answered stays private)
    [update] = mastodon.of_type("Update")
    assert update["object"]["id"] == listing_uri and "bcc" not in update
    assert MARIA not in update.get("cc", []) + update.get("to", [])
