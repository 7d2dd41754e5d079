"""Accounts of other nodes through the client API, between two real nodes: a handle and a
listing's URL resolved, a remote person and another neighbourhood followed with a signed
Follow, a remote account's listings as its statuses."""

from __future__ import annotations

import pytest
from yarl import URL

from commonsfed.web.keys import POOL
from tests.api.conftest import bearer, token_for
from tests.api.schema import check
from tests.builders import post_listing, register_and_login
from tests.nodes import settle


@pytest.fixture
async def pair(start_nodes):
    """north with alice (and her token), south with bob, who offers a drill."""
    north, south = await start_nodes(2)
    await register_and_login(north.client, "alice")
    await register_and_login(south.client, "bob")
    response = await post_listing(south.client, {"title": "Cordless drill", "category": "tools"})
    assert response.status == 303
    drill_url = south.url(URL(response.headers["Location"]).path)
    return north, south, await token_for(north.app, "alice"), drill_url


async def _get(node, path: str, token: str, **params):
    response = await node.client.get(path, params=params, headers=bearer(token))
    return response.status, await response.json()


async def _post(node, path: str, token: str):
    response = await node.client.post(path, headers=bearer(token))
    assert response.status == 200, await response.text()
    body = await response.json()
    check("Relationship", body)
    return body


async def test_resolve__a_handle_then_follow_the_person(pair):
    north, south, token, _ = pair
    # Given bob is unknown on north: lookup does not find him
    status, _ = await _get(north, "/api/v1/accounts/lookup", token, acct="bob@south.test")
    assert status == 404
    # When alice's app resolves his handle
    status, body = await _get(north, "/api/v2/search", token, q="@bob@south.test",
                              resolve="true")  # fmt: skip
    assert status == 200
    check("Search", body)
    [bob] = body["accounts"]
    assert (bob["acct"], bob["url"]) == ("bob@south.test", "http://south.test/users/bob")
    # Then he is known: by lookup, by id, by the accounts search
    status, found = await _get(north, "/api/v1/accounts/lookup", token, acct="bob@south.test")
    assert (status, found["id"]) == (200, bob["id"])
    status, found = await _get(north, f"/api/v1/accounts/{bob['id']}", token)
    check("Account", found)
    assert "noindex" not in found
    _, found = await _get(north, "/api/v1/accounts/search", token, q="bob")
    assert [a["acct"] for a in found] == ["bob@south.test"]
    # When she follows him, the Follow goes to south and his Accept comes back
    body = await _post(north, f"/api/v1/accounts/{bob['id']}/follow", token)
    assert body["requested"] is True
    await settle(north, south)
    _, [relation] = await _get(north, "/api/v1/accounts/relationships", token, id=bob["id"])
    assert relation["following"] is True
    rows = await south.query("SELECT follower_uri FROM follows WHERE state = 'accepted'")
    assert [row[0] for row in rows] == ["http://north.test/users/alice"]
    # and unfollowing sends the Undo
    body = await _post(north, f"/api/v1/accounts/{bob['id']}/unfollow", token)
    assert body["following"] is False
    await settle(north, south)
    assert await south.query("SELECT 1 FROM follows") == []


async def test_resolve__another_neighbourhood_is_a_group_to_follow(pair):
    north, south, token, _ = pair
    handle = f"{south.settings.neighbourhood_handle}@south.test"
    _, body = await _get(north, "/api/v1/accounts/search", token, q=handle, resolve="true")
    [group] = body
    assert group["group"] is True
    await _post(north, f"/api/v1/accounts/{group['id']}/follow", token)
    await settle(north, south)
    _, [relation] = await _get(north, "/api/v1/accounts/relationships", token, id=group["id"])
    assert relation["following"] is True
    # a listing bob posts now reaches north, and is his status there, and found by its words
    await post_listing(south.client, {"title": "Garden ladder", "category": "tools"})
    await settle(north, south)
    _, body = await _get(north, "/api/v2/search", token, q="bob@south.test", type="accounts")
    [bob] = body["accounts"]
    status, statuses = await _get(north, f"/api/v1/accounts/{bob['id']}/statuses", token)
    assert status == 200
    for status_entity in statuses:
        check("Status", status_entity)
    assert ["Garden ladder" in s["content"] for s in statuses] == [True]
    _, body = await _get(north, "/api/v2/search", token, q="ladder", type="statuses")
    assert [s["account"]["acct"] for s in body["statuses"]] == ["bob@south.test"]


async def test_resolve__a_listings_url_fetches_it_as_a_status(pair):
    north, _, token, drill_url = pair
    status, body = await _get(north, "/api/v2/search", token, q=drill_url, resolve="true")
    assert status == 200
    check("Search", body)
    [drill] = body["statuses"]
    assert "Cordless drill" in drill["content"]
    assert drill["account"]["acct"] == "bob@south.test"
    # now kept: the same status by id
    status, again = await _get(north, f"/api/v1/statuses/{drill['id']}", token)
    assert (status, again["uri"]) == (200, drill["uri"])


async def test_resolve__an_unknown_handle_or_url_finds_nothing(pair):
    north, _, token, _ = pair
    for query in ("nobody@south.test", "http://south.test/listings/nothing-here"):
        status, body = await _get(north, "/api/v2/search", token, q=query, resolve="true")
        assert (status, body["accounts"], body["statuses"]) == (200, [], []), query


async def test_follow_request__from_another_node_authorized_then_blocked(pair):
    north, south, alice_token, _ = pair
    bob_token = await token_for(south.app, "bob")
    await _patch_locked(north, alice_token)
    # Given bob's app on south finds alice and asks to follow her
    _, body = await _get(south, "/api/v2/search", bob_token, q="alice@north.test", resolve="true")
    [alice] = body["accounts"]
    assert alice["locked"] is True
    body = await _post(south, f"/api/v1/accounts/{alice['id']}/follow", bob_token)
    await settle(north, south)
    # When alice's app lists the request and authorizes it
    _, waiting = await _get(north, "/api/v1/follow_requests", alice_token)
    assert [a["acct"] for a in waiting] == ["bob@south.test"]
    body = await _post(north, f"/api/v1/follow_requests/{waiting[0]['id']}/authorize", alice_token)
    assert body["followed_by"] is True
    await settle(north, south)
    # Then the Accept reaches south: bob follows her
    _, [relation] = await _get(south, "/api/v1/accounts/relationships", bob_token, id=alice["id"])
    assert (relation["following"], relation["requested"]) == (True, False)
    # When she blocks him, the Block reaches south: the follow ends and bob sees the block
    body = await _post(north, f"/api/v1/accounts/{waiting[0]['id']}/block", alice_token)
    assert (body["blocking"], body["followed_by"]) == (True, False)
    await settle(north, south)
    _, [relation] = await _get(south, "/api/v1/accounts/relationships", bob_token, id=alice["id"])
    assert (relation["following"], relation["blocked_by"]) == (False, True)


async def _patch_locked(node, token: str) -> None:
    response = await node.client.patch(
        "/api/v1/accounts/update_credentials", data={"locked": "1"}, headers=bearer(token)
    )
    assert response.status == 200, await response.text()


async def test_resolve__a_suspended_domain_is_never_asked(pair):
    north, south, token, drill_url = pair
    await north.app[POOL].execute(
        "INSERT INTO domain_policies (domain, policy, severity) VALUES ('south.test', 'block', "
        "'suspend')"
    )
    for query in ("bob@south.test", drill_url):
        status, body = await _get(north, "/api/v2/search", token, q=query, resolve="true")
        assert (status, body["accounts"], body["statuses"]) == (200, [], []), query
    assert await north.query("SELECT 1 FROM remote_actors WHERE domain = 'south.test'") == []
