"""Relationships through the client API, on one node: residents following each other and
their neighbourhood, follow requests of a locked resident, followers and following lists,
blocks, mutes and hidden domains."""

from __future__ import annotations

import pytest
from yarl import URL

from commonsfed.services.api_accounts import accounts_for_uris, group_account, group_uri
from commonsfed.web.keys import POOL, SETTINGS
from tests.api.conftest import bearer, token_for
from tests.api.schema import check
from tests.builders import register_and_login


@pytest.fixture
async def people(make_client):
    """alice, bob and carol, residents, each with a client and a token; ids by name."""
    clients, tokens, ids = {}, {}, {}
    for name in ("alice", "bob", "carol"):
        clients[name] = await make_client()
        await register_and_login(clients[name], name)
    app = clients["alice"].app
    for name in clients:
        tokens[name] = await token_for(app, name)
        ids[name] = await app[POOL].fetchval("SELECT id FROM accounts WHERE username = $1", name)
    return clients["alice"], tokens, ids


async def _post(client, path: str, token: str, **kwargs):
    response = await client.post(path, headers=bearer(token), **kwargs)
    return response.status, await response.json()


async def _relationship(client, token: str, account_id: int) -> dict:
    response = await client.get(
        f"/api/v1/accounts/relationships?id[]={account_id}", headers=bearer(token)
    )
    [body] = await response.json()
    check("Relationship", body)
    return body


# --- following -------------------------------------------------------------------------------


async def test_follow__a_resident_follows_another(people):
    client, tokens, ids = people
    status, body = await _post(client, f"/api/v1/accounts/{ids['bob']}/follow", tokens["alice"])
    assert status == 200
    check("Relationship", body)
    assert (body["following"], body["requested"]) == (True, False)
    # bob sees it from his side, and in his followers list
    theirs = await _relationship(client, tokens["bob"], ids["alice"])
    assert theirs["followed_by"] is True
    followers = await (await client.get(f"/api/v1/accounts/{ids['bob']}/followers")).json()
    assert [a["acct"] for a in followers] == ["alice"]
    following = await (await client.get(f"/api/v1/accounts/{ids['alice']}/following")).json()
    assert [a["acct"] for a in following] == ["bob"]
    bob = await (await client.get(f"/api/v1/accounts/{ids['bob']}")).json()
    assert bob["followers_count"] == 1


async def test_follow__twice_is_the_same_and_unfollow_ends_it(people):
    client, tokens, ids = people
    path = f"/api/v1/accounts/{ids['bob']}"
    await _post(client, f"{path}/follow", tokens["alice"])
    status, body = await _post(client, f"{path}/follow", tokens["alice"])
    assert (status, body["following"]) == (200, True)
    status, body = await _post(client, f"{path}/unfollow", tokens["alice"])
    assert (status, body["following"]) == (200, False)
    status, body = await _post(client, f"{path}/unfollow", tokens["alice"])
    assert (status, body["following"]) == (200, False)


async def test_follow__yourself_is_refused(people):
    client, tokens, ids = people
    status, body = await _post(client, f"/api/v1/accounts/{ids['alice']}/follow", tokens["alice"])
    assert status == 403
    assert "yourself" in body["error"]


async def test_follow__an_unknown_id_is_404(people):
    client, tokens, _ = people
    status, body = await _post(client, "/api/v1/accounts/987654/follow", tokens["alice"])
    assert (status, body["error"]) == (404, "Record not found")


async def test_follow__needs_the_follow_scope(people):
    client, _, ids = people
    token = await token_for(client.app, "alice", scopes="read")
    status, _ = await _post(client, f"/api/v1/accounts/{ids['bob']}/follow", token)
    assert status == 403
    granular = await token_for(client.app, "alice", scopes="write:follows")
    status, _ = await _post(client, f"/api/v1/accounts/{ids['bob']}/follow", granular)
    assert status == 200


async def test_follow__the_own_neighbourhood(people):
    client, tokens, _ = people
    group = await group_account(client.app[POOL], client.app[SETTINGS])
    status, body = await _post(client, f"/api/v1/accounts/{group.id}/follow", tokens["alice"])
    assert (status, body["following"]) == (200, True)
    followers = await (await client.get(f"/api/v1/accounts/{group.id}/followers")).json()
    assert [a["acct"] for a in followers] == ["alice"]


async def test_follow__a_locked_resident_is_asked_and_decides(people):
    client, tokens, ids = people
    await client.app[POOL].execute(
        "UPDATE accounts SET manually_approves_followers = true WHERE username = 'bob'"
    )
    status, body = await _post(client, f"/api/v1/accounts/{ids['bob']}/follow", tokens["alice"])
    assert (status, body["following"], body["requested"]) == (200, False, True)
    await _post(client, f"/api/v1/accounts/{ids['bob']}/follow", tokens["carol"])
    # bob sees two requests, and the count on his own account
    response = await client.get("/api/v1/follow_requests", headers=bearer(tokens["bob"]))
    waiting = await response.json()
    assert sorted(a["acct"] for a in waiting) == ["alice", "carol"]
    me = await (await client.get(
        "/api/v1/accounts/verify_credentials", headers=bearer(tokens["bob"])
    )).json()  # fmt: skip
    assert me["source"]["follow_requests_count"] == 2
    # When he lets alice in and turns carol away
    status, body = await _post(
        client, f"/api/v1/follow_requests/{ids['alice']}/authorize", tokens["bob"]
    )
    assert (status, body["followed_by"]) == (200, True)
    status, body = await _post(client, f"/api/v1/follow_requests/{ids['carol']}/reject",
                               tokens["bob"])  # fmt: skip
    assert (status, body["requested_by"], body["followed_by"]) == (200, False, False)
    # Then alice follows him, carol does not, and no request is left
    assert (await _relationship(client, tokens["alice"], ids["bob"]))["following"] is True
    assert (await _relationship(client, tokens["carol"], ids["bob"]))["requested"] is False
    response = await client.get("/api/v1/follow_requests", headers=bearer(tokens["bob"]))
    assert await response.json() == []


async def test_follow_requests__authorizing_no_request_is_404(people):
    client, tokens, ids = people
    status, _ = await _post(client, f"/api/v1/follow_requests/{ids['carol']}/authorize",
                            tokens["bob"])  # fmt: skip
    assert status == 404


async def test_followers__paged_by_the_follows_with_a_link_header(people):
    client, tokens, ids = people
    for name in ("bob", "carol"):
        await _post(client, f"/api/v1/accounts/{ids['alice']}/follow", tokens[name])
    response = await client.get(f"/api/v1/accounts/{ids['alice']}/followers?limit=1")
    first = await response.json()
    assert [a["acct"] for a in first] == ["carol"]
    older = URL(response.headers["Link"].split(";")[0].strip("<>"))
    second = await (await client.get(older.path_qs)).json()
    assert [a["acct"] for a in second] == ["bob"]


async def test_relationships__many_ids_unknown_ones_left_out(people):
    client, tokens, ids = people
    await _post(client, f"/api/v1/accounts/{ids['bob']}/follow", tokens["alice"])
    response = await client.get(
        f"/api/v1/accounts/relationships?id[]={ids['bob']}&id[]={ids['carol']}&id[]=999999&id[]=x",
        headers=bearer(tokens["alice"]),
    )
    body = await response.json()
    assert [(r["id"], r["following"]) for r in body] == [
        (str(ids["bob"]), True), (str(ids["carol"]), False)]  # fmt: skip
    assert (await client.get("/api/v1/accounts/relationships?id[]=1")).status == 401


# --- blocks, mutes, hidden domains -----------------------------------------------------------


async def test_block__ends_follows_and_shows_both_ways(people):
    client, tokens, ids = people
    await _post(client, f"/api/v1/accounts/{ids['alice']}/follow", tokens["bob"])
    status, body = await _post(client, f"/api/v1/accounts/{ids['bob']}/block", tokens["alice"])
    assert (status, body["blocking"], body["followed_by"]) == (200, True, False)
    assert (await _relationship(client, tokens["bob"], ids["alice"]))["blocked_by"] is True
    # bob may not follow her again
    status, _ = await _post(client, f"/api/v1/accounts/{ids['alice']}/follow", tokens["bob"])
    assert status == 403
    listed = await (await client.get("/api/v1/blocks", headers=bearer(tokens["alice"]))).json()
    assert [a["acct"] for a in listed] == ["bob"]
    status, body = await _post(client, f"/api/v1/accounts/{ids['bob']}/unblock", tokens["alice"])
    assert (status, body["blocking"]) == (200, False)


async def test_mute__listed_and_undone_but_never_lifts_a_block(people):
    client, tokens, ids = people
    status, body = await _post(client, f"/api/v1/accounts/{ids['bob']}/mute", tokens["alice"])
    assert (status, body["muting"], body["blocking"]) == (200, True, False)
    listed = await (await client.get("/api/v1/mutes", headers=bearer(tokens["alice"]))).json()
    assert [a["acct"] for a in listed] == ["bob"]
    await _post(client, f"/api/v1/accounts/{ids['carol']}/block", tokens["alice"])
    status, body = await _post(client, f"/api/v1/accounts/{ids['carol']}/unmute", tokens["alice"])
    assert (status, body["blocking"]) == (200, True)
    status, body = await _post(client, f"/api/v1/accounts/{ids['bob']}/unmute", tokens["alice"])
    assert (status, body["muting"]) == (200, False)


async def test_block__yourself_is_422_and_needs_its_scope(people):
    client, tokens, ids = people
    status, body = await _post(client, f"/api/v1/accounts/{ids['alice']}/block", tokens["alice"])
    assert status == 422
    token = await token_for(client.app, "alice", scopes="write:follows")
    status, _ = await _post(client, f"/api/v1/accounts/{ids['bob']}/block", token)
    assert status == 403


async def test_domain_blocks__hidden_listed_and_shown_again(people):
    client, tokens, _ = people
    headers = bearer(tokens["alice"])
    response = await client.post("/api/v1/domain_blocks", data={"domain": "spam.example"},
                                 headers=headers)  # fmt: skip
    assert (response.status, await response.json()) == (200, {})
    listed = await (await client.get("/api/v1/domain_blocks", headers=headers)).json()
    assert listed == ["spam.example"]
    response = await client.delete("/api/v1/domain_blocks", json={"domain": "spam.example"},
                                   headers=headers)  # fmt: skip
    assert response.status == 200
    assert await (await client.get("/api/v1/domain_blocks", headers=headers)).json() == []


async def test_domain_blocks__a_bad_domain_is_422_and_none_is_400(people):
    client, tokens, _ = people
    headers = bearer(tokens["alice"])
    response = await client.post("/api/v1/domain_blocks", data={"domain": "not a domain"},
                                 headers=headers)  # fmt: skip
    assert response.status == 422
    assert (await client.post("/api/v1/domain_blocks", headers=headers)).status == 400


async def test_suspended__cannot_be_followed_nor_found_and_shows_no_lists(people):
    client, tokens, ids = people
    await _post(client, f"/api/v1/accounts/{ids['carol']}/follow", tokens["bob"])
    await client.app[POOL].execute(
        "UPDATE accounts SET status = 'suspended' WHERE username = 'bob'"
    )
    status, _ = await _post(client, f"/api/v1/accounts/{ids['bob']}/follow", tokens["alice"])
    assert status == 403
    following = await (await client.get(f"/api/v1/accounts/{ids['bob']}/following")).json()
    assert following == []
    response = await client.get("/api/v1/accounts/search?q=bob", headers=bearer(tokens["alice"]))
    assert await response.json() == []


async def test_followers__a_page_of_40_accounts_is_a_handful_of_queries(people):
    # Given 40 people from another server following alice (and bob, and the Group)
    client, tokens, ids = people
    pool, settings = client.app[POOL], client.app[SETTINGS]
    alice = "http://localhost/users/alice"
    uris = [f"https://far.example/users/p{n}" for n in range(40)]
    await pool.executemany(
        """
        INSERT INTO remote_actors (uri, domain, type, preferred_username, inbox, key_id,
                                   public_key_pem, document)
        VALUES ($1, 'far.example', 'Person', $2, $1 || '/inbox', $1 || '#key', 'x', '{}')
        """,
        [(uri, uri.rpartition("/")[2]) for uri in uris],
    )
    await pool.executemany(
        "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, 'accepted')",
        [(uri, alice) for uri in uris],
    )
    wanted = [*uris, "http://localhost/users/bob", group_uri(settings)]
    # When their accounts are read for one page
    queries = []
    async with pool.acquire() as conn:
        conn.add_query_logger(queries.append)
        found = await accounts_for_uris(conn, settings, wanted)
        conn.remove_query_logger(queries.append)
    # Then all 42 come in a few queries, not one (or more) each (asyncpg's own look-ups
    # of the types it meets for the first time left aside)
    ours = [q.query for q in queries if "typeinfo" not in q.query and "set_config" not in q.query]
    assert len(found) == 42
    assert len(ours) <= 6, [query[:60] for query in ours]
    response = await client.get(f"/api/v1/accounts/{ids['alice']}/followers?limit=40")
    assert len(await response.json()) == 40


async def test_accounts_search__following_only_the_followed(people):
    client, tokens, ids = people
    await _post(client, f"/api/v1/accounts/{ids['carol']}/follow", tokens["alice"])
    response = await client.get(
        "/api/v1/accounts/search?q=c&following=true",
        headers=bearer(tokens["alice"]),
    )
    assert [a["acct"] for a in await response.json()] == ["carol"]
    response = await client.get(
        "/api/v1/accounts/search?q=b&following=true", headers=bearer(tokens["alice"])
    )
    assert await response.json() == []


async def _notification_types(client, token: str) -> list[tuple[str, str]]:
    response = await client.get("/api/v1/notifications", headers=bearer(token))
    return [(item["type"], item["account"]["username"]) for item in await response.json()]


async def test_follow__the_followed_resident_is_notified_until_it_ends(people):
    client, tokens, ids = people
    await _post(client, f"/api/v1/accounts/{ids['bob']}/follow", tokens["alice"])
    assert await _notification_types(client, tokens["bob"]) == [("follow", "alice")]
    await _post(client, f"/api/v1/accounts/{ids['bob']}/unfollow", tokens["alice"])
    assert await _notification_types(client, tokens["bob"]) == []


async def test_follow__a_locked_residents_request_notification_goes_once_answered(people):
    client, tokens, ids = people
    await client.app[POOL].execute(
        "UPDATE accounts SET manually_approves_followers = true WHERE username = 'bob'"
    )
    await _post(client, f"/api/v1/accounts/{ids['bob']}/follow", tokens["alice"])
    assert await _notification_types(client, tokens["bob"]) == [("follow_request", "alice")]
    status, _ = await _post(
        client, f"/api/v1/follow_requests/{ids['alice']}/authorize", tokens["bob"]
    )
    assert status == 200
    assert await _notification_types(client, tokens["bob"]) == []
