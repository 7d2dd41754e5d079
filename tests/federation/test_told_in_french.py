"""What goes to another server in a resident's name is in that resident's language (as their
listings go out): a Mastodon user in line for a listing is told of the author's decisions
in the author's French (see test_mastodon_user.py for the stand-in Mastodon), and a listing's
author on another commonsfed node reads a respondent's withdrawal in the respondent's."""

from __future__ import annotations

from commonsfed.ap.remote_listings import html_to_text
from commonsfed.db import accounts as accounts_q
from commonsfed.services import answers, listings
from tests.builders import post_form
from tests.federation.test_answers_across_nodes import (  # noqa: F401
    answer_from_south,
    find_in_network_view,
    network,
)
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


async def test_withdrawing__tells_a_remote_author_in_the_respondents_language(network):  # noqa: F811
    # Given bob on south, who reads French, in line for alice's drill on north
    on_north, south, _alice, _drill, bob, _carol = network
    switched = await post_form(bob, "/language", {"language": "fr", "next": "/"}, form_path="/")
    assert switched.status == 200
    page = await find_in_network_view(bob, "Cordless drill")
    bobs = await answer_from_south(bob, page, "Could I borrow it?")
    await settle(on_north, south)

    # When he withdraws his answer from south
    await post_form(bob, f"/conversations/{bobs}/withdraw", {}, form_path=f"/conversations/{bobs}")
    await settle(on_north, south)

    # Then alice reads, in the conversation on north, why his place in line is free, in French
    rows = await on_north.query("SELECT body FROM messages ORDER BY id")
    assert rows[-1][0] == ("Je retire ma réponse à « Cordless drill » : merci de donner ma place "
                           "dans la file à quelqu’un d’autre.")  # fmt: skip
