"""English and French on the web: the browser's Accept-Language, the footer's switch (kept
with a resident's account, in a cookie for a visitor), the node's default, and listings sent
with contentMap in their author's language. Real nodes on a real PostgreSQL."""

from __future__ import annotations

import pytest

from commonsfed.db import accounts as accounts_q
from commonsfed.services import accounts
from commonsfed.services.errors import ValidationError
from commonsfed.web.keys import POOL
from tests.builders import log_in, post_form, post_listing, register_and_login

FRENCH_FOOTER = "À propos de ce nœud"
ENGLISH_FOOTER = "About this node"
APPLES = {"purpose": "offer", "kind": "give", "title": "Des pommes", "category": "food",
          "description": "Du pommier de la cour.", "place": "Rue des Ormes"}  # fmt: skip


async def page(client, path: str = "/", **headers) -> str:
    response = await client.get(path, headers=headers)
    assert response.status == 200, response.status
    return await response.text()


@pytest.mark.parametrize(
    ("accept", "lang"),
    [
        ("fr", "fr"),
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("de-DE, en;q=0.5, fr;q=0.7", "fr"),  # the best weight of ours wins, not the first
        ("en-GB,en;q=0.9,fr;q=0.8", "en"),
        ("de, it", "en"),  # none of ours: the node's default
        ("fr;q=0", "en"),  # q=0 means "not this one"
        ("fr;q=nonsense", "en"),  # a malformed weight counts for nothing
        ("", "en"),
    ],
)
async def test_accept_language__chooses_the_page_language(client, accept, lang):
    html = await page(client, **{"Accept-Language": accept})

    assert f'<html lang="{lang}">' in html
    assert (FRENCH_FOOTER if lang == "fr" else ENGLISH_FOOTER) in html


async def test_node_default__serves_browsers_that_ask_for_none_of_ours(make_client):
    client = await make_client(language="fr")

    html = await page(client, **{"Accept-Language": "de"})

    assert '<html lang="fr">' in html and FRENCH_FOOTER in html


async def test_error_page__is_in_the_readers_language(client):
    response = await client.get("/no/such/page", headers={"Accept-Language": "fr",
                                                          "Accept": "text/html"})  # fmt: skip

    assert response.status == 404
    html = await response.text()
    assert "Page introuvable" in html and "Il n’y a rien à cette adresse." in html


async def test_switch__a_visitor_is_remembered_in_a_cookie(client):
    response = await client.get("/language", params={"language": "fr", "next": "/about"},
                                allow_redirects=False)  # fmt: skip

    assert response.status == 303
    assert response.headers["Location"] == "/about"
    assert response.cookies["language"].value == "fr"
    # the cookie wins over the browser's own preference
    assert FRENCH_FOOTER in await page(client, "/about", **{"Accept-Language": "en"})


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
async def test_switch__never_sends_the_reader_to_another_site(client, target):
    response = await client.get("/language", params={"language": "fr", "next": target},
                                allow_redirects=False)  # fmt: skip

    assert response.status == 303
    assert response.headers["Location"] == "/"


async def test_switch__refuses_a_language_we_do_not_have(client):
    response = await client.get("/language", params={"language": "xx"},
                                headers={"Accept": "text/html"}, allow_redirects=False)  # fmt: skip

    assert response.status == 400
    assert "unknown language" in await response.text()
    assert "language" not in response.cookies


async def test_switch__a_resident_is_remembered_with_their_account(make_resident, make_client):
    alice = await make_resident("alice")

    response = await post_form(alice, "/language", {"language": "fr", "next": "/settings"},
                               form_path="/", allow_redirects=False)  # fmt: skip

    assert response.status == 303 and response.headers["Location"] == "/settings"
    async with alice.server.app[POOL].acquire() as conn:
        assert (await accounts_q.get_by_username(conn, "alice")).language == "fr"
    # another browser, which asks for English: once logged in, alice reads French
    other = await make_client()
    await log_in(other, "alice")
    assert FRENCH_FOOTER in await page(other, **{"Accept-Language": "en"})


async def test_switch__a_residents_post_needs_its_csrf_token(make_resident):
    alice = await make_resident("alice")

    response = await alice.post("/language", data={"language": "fr"}, allow_redirects=False)

    assert response.status == 403
    async with alice.server.app[POOL].acquire() as conn:
        assert (await accounts_q.get_by_username(conn, "alice")).language is None


async def test_listing__goes_out_with_contentmap_in_its_authors_language(make_resident):
    alice = await make_resident("alice")
    await post_form(alice, "/language", {"language": "fr"}, form_path="/")
    response = await post_listing(alice, APPLES)
    uid = response.headers["Location"].rsplit("/", 1)[1]

    note = await (await alice.get(f"/listings/{uid}",
                                  headers={"Accept": "application/activity+json"})).json()  # fmt: skip

    assert note["contentMap"] == {"fr": note["content"]}
    assert "Du pommier de la cour." in note["content"]


async def test_listing__of_an_author_who_chose_nothing_is_in_the_nodes_language(make_client):
    bob = await make_client(language="fr")
    await register_and_login(bob, "bob")
    response = await post_listing(bob, APPLES)
    uid = response.headers["Location"].rsplit("/", 1)[1]

    note = await (await bob.get(f"/listings/{uid}",
                                headers={"Accept": "application/activity+json"})).json()  # fmt: skip

    assert list(note["contentMap"]) == ["fr"]


async def test_set_language__refuses_a_language_we_do_not_have_and_keeps_the_old(make_resident):
    alice = await make_resident("alice")
    pool = alice.server.app[POOL]
    account = await accounts.get_by_username(pool, "alice")
    await accounts.set_language(pool, account, "fr")

    with pytest.raises(ValidationError) as refused:
        await accounts.set_language(pool, account, "xx")

    assert "language" in refused.value.errors
    assert (await accounts.get_by_username(pool, "alice")).language == "fr"
