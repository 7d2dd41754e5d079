"""A Mastodon user in line for a listing is told of the author's decisions by direct message
in the author's name, and so in the author's language (as the author's listings go out):
here an author who reads French (see test_mastodon_user.py for the stand-in Mastodon)."""

from __future__ import annotations

from commonsfed.ap.listings import html_to_text
from commonsfed.db import accounts as accounts_q
from commonsfed.services import answers, listings
from tests.federation.test_mastodon_user import DRILL, MARIA, mastodon, north  # noqa: F401
from tests.nodes import settle


async def test_decisions__reach_a_mastodon_user_in_the_authors_language(north, mastodon):  # noqa: F811
    # Given alice, who reads French, and maria (on Mastodon) in line for her drill
    pool, settings = north.federation.pool, north.settings
    async with pool.acquire() as conn:
        await accounts_q.set_language(conn, north.alice.id, "fr")
    drill = await listings.create_listing(pool, settings, north.alice, DRILL, [])
    alice, listing_uri = north.url("/users/alice"), north.url(f"/listings/{drill.uid}")
    await mastodon.send(north, "/users/alice/inbox",
                        mastodon.direct(alice, listing_uri, "Could I borrow it?"))  # fmt: skip
    await settle(north)
    conversation_id = await pool.fetchval("SELECT id FROM conversations")

    # When alice reserves it for maria, then withdraws the listing
    await answers.reserve(pool, settings, north.alice, conversation_id)
    await settle(north)
    await listings.change_state(pool, settings, north.alice, drill.uid, "withdrawn")
    await settle(north)

    # Then maria reads both in French, in the conversation's thread
    told = [c["object"] for c in mastodon.of_type("Create") if c["object"]["type"] == "Note"]
    assert [note["to"] for note in told] == [[MARIA], [MARIA]]
    assert [html_to_text(note["content"]) for note in told] == [
        "@maria Je vous ai réservé « Cordless drill ». Organisons la remise ici.",
        "@maria L’annonce « Cordless drill » est retirée et ne prend plus de réponses. "
        "Merci de votre intérêt.",
    ]
