"""Search v2 on one node: accounts, listings by full text, categories as hashtags, and who
may resolve."""

from __future__ import annotations

from yarl import URL

from tests.api.conftest import bearer
from tests.api.schema import check
from tests.builders import post_listing


async def _search(client, token: str | None = None, **params) -> tuple[int, dict]:
    headers = bearer(token) if token else {}
    response = await client.get("/api/v2/search", params=params, headers=headers)
    return response.status, await response.json()


async def test_search__finds_listings_by_their_words_accounts_and_categories(client, alice_token):
    await post_listing(client, {"title": "Cordless drill", "category": "tools"})
    await post_listing(client, {"title": "Apple pie", "category": "food"})
    status, body = await _search(client, alice_token, q="drill")
    assert status == 200
    check("Search", body)
    assert ["Cordless drill" in s["content"] for s in body["statuses"]] == [True]
    status, body = await _search(client, alice_token, q="too")
    assert [tag["name"] for tag in body["hashtags"]] == ["tools"]
    assert body["hashtags"][0]["url"] == "http://localhost/tags/tools"
    status, body = await _search(client, q="ali")
    check("Search", body)
    assert [a["acct"] for a in body["accounts"]] == ["alice"]


async def test_search__type_limits_what_is_searched(client, alice_token):
    await post_listing(client, {"title": "Tools for alice", "category": "tools"})
    status, body = await _search(client, alice_token, q="alice", type="accounts")
    assert (len(body["accounts"]), body["statuses"], body["hashtags"]) == (1, [], [])
    status, body = await _search(client, alice_token, q="alice", type="statuses")
    assert (body["accounts"], len(body["statuses"])) == ([], 1)
    status, body = await _search(client, alice_token, q="alice", type="people")
    assert status == 400


async def test_search__offset_pages_the_listings(client, alice_token):
    for title in ("Red bike", "Blue bike", "Green bike"):
        await post_listing(client, {"title": title})
    _, first = await _search(client, alice_token, q="bike", type="statuses", limit=2)
    _, rest = await _search(client, alice_token, q="bike", type="statuses", limit=2, offset=2)
    ids = [s["id"] for s in first["statuses"] + rest["statuses"]]
    assert len(ids) == len(set(ids)) == 3


async def test_search__resolve_or_offset_needs_a_logged_in_token(client, alice_token):
    status, body = await _search(client, q="bob@south.test", resolve="true")
    assert status == 401
    assert "without authentication" in body["error"]
    status, _ = await _search(client, q="bike", offset=1)
    assert status == 401


async def test_search__an_empty_query_finds_nothing(client, alice_token):
    status, body = await _search(client, alice_token, q="")
    assert (status, body) == (200, {"accounts": [], "statuses": [], "hashtags": []})


async def test_search__v1_is_gone_as_in_mastodon(client):
    response = await client.get("/api/v1/search?q=x")
    assert response.status == 410
    assert "v2" in (await response.json())["error"]


async def test_search__resolve_this_nodes_own_urls(client, alice_token):
    response = await post_listing(client, {"title": "Cordless drill"})
    listing_url = f"http://localhost{URL(response.headers['Location']).path}"
    _, body = await _search(client, alice_token, q=listing_url, resolve="true")
    assert ["Cordless drill" in s["content"] for s in body["statuses"]] == [True]
    _, body = await _search(client, alice_token, q="http://localhost/users/alice", resolve="true")
    assert [a["acct"] for a in body["accounts"]] == ["alice"]
