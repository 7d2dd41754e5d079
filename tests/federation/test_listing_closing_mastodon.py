"""A listing closes while a Mastodon user waits in its line: they are told by direct message,
in the conversation's thread, as they hear of every other decision (see
test_mastodon_user.py for the stand-in Mastodon server)."""

from __future__ import annotations

from commonsfed.ap.remote_listings import html_to_text
from commonsfed.services import listings
from tests.federation.test_mastodon_user import DRILL, MARIA, mastodon, north  # noqa: F401
from tests.nodes import settle


async def test_withdrawn__a_mastodon_user_in_line_is_told_by_direct_message(north, mastodon):  # noqa: F811
    # Given maria (on Mastodon) waiting in line for alice's drill, by direct message
    pool, settings = north.federation.pool, north.settings
    drill = await listings.create_listing(pool, settings, north.alice, DRILL, [])
    alice, listing_uri = north.url("/users/alice"), north.url(f"/listings/{drill.uid}")
    await mastodon.send(north, "/users/alice/inbox",
                        mastodon.direct(alice, listing_uri, "Could I borrow it?"))  # fmt: skip
    await settle(north)

    # When alice withdraws it
    await listings.change_state(pool, settings, north.alice, drill.uid, "withdrawn")
    await settle(north)

    # Then maria reads it in her direct messages, in the conversation's thread
    [told] = [c["object"] for c in mastodon.of_type("Create") if c["object"]["type"] == "Note"]
    assert told["to"] == [MARIA] and told["inReplyTo"] == f"{MARIA}/statuses/1"
    assert "“Cordless drill” is withdrawn now and takes no more answers" in html_to_text(
        told["content"]
    )
