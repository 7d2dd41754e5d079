"""The client API's ground: bearer tokens and scopes, the web session ignored, JSON errors,
CORS, trailing slashes, and the first entities checked against Mastodon's documentation."""

from __future__ import annotations

from yarl import URL

from commonsfed.web.keys import POOL
from tests.api.conftest import bearer, token_for
from tests.api.schema import check
from tests.builders import photo_bytes, post_form, post_listing, register_and_login


async def test_verify_credentials__the_token_speaks_for_its_resident(client, alice_token):
    response = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(alice_token))
    assert response.status == 200
    body = await response.json()
    check("CredentialAccount", body)
    assert (body["username"], body["acct"]) == ("alice", "alice")
    assert body["url"] == "http://localhost/users/alice"


async def test_verify_credentials__without_a_token_is_401_in_json(client, alice_token):
    # Given a browser logged in as alice (the client keeps her session cookie)
    # When it calls the API without a token
    response = await client.get("/api/v1/accounts/verify_credentials")
    # Then the session counts for nothing: only a token speaks for a resident
    assert response.status == 401
    assert response.content_type == "application/json"
    assert "error" in await response.json()


async def test_verify_credentials__an_unknown_token_is_401(client, alice_token):
    response = await client.get(
        "/api/v1/accounts/verify_credentials", headers=bearer(alice_token + "x")
    )
    assert response.status == 401
    assert (await response.json())["error"] == "The access token is invalid"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_verify_credentials__a_token_without_the_scope_is_403(client, alice_token):
    token = await token_for(client.app, "alice", scopes="write")
    response = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert response.status == 403
    assert (await response.json())["error"] == "This action is outside the authorized scopes"


async def test_verify_credentials__a_granular_scope_is_enough(client, alice_token):
    token = await token_for(client.app, "alice", scopes="read:accounts")
    response = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert response.status == 200


async def test_verify_credentials__an_apps_own_token_has_no_resident(client, alice_token):
    token = await token_for(client.app, None)
    response = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert response.status == 422
    assert "authenticated user" in (await response.json())["error"]


async def test_token__of_a_suspended_resident_stops_working(client, alice_token):
    await client.app[POOL].execute(
        "UPDATE accounts SET status = 'suspended' WHERE username = 'alice'"
    )
    response = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(alice_token))
    assert response.status == 401


async def test_routes__answer_with_a_trailing_slash_too(client, alice_token):
    response = await client.get("/api/v1/accounts/verify_credentials/", headers=bearer(alice_token))
    assert response.status == 200


async def test_errors__an_unknown_id_is_404_record_not_found(client, alice_token):
    for path in ("/api/v1/statuses/12345", "/api/v1/accounts/99999999999999999999"[:36]):
        response = await client.get(path, headers=bearer(alice_token))
        assert response.status == 404, path
        assert (await response.json())["error"] == "Record not found"


async def test_errors__an_id_beyond_bigint_is_404_not_a_crash(client, alice_token):
    response = await client.get("/api/v1/statuses/9999999999999999999")
    assert response.status == 404
    assert response.content_type == "application/json"


async def test_errors__a_wrong_method_is_json(client, alice_token):
    response = await client.post("/api/v1/accounts/verify_credentials", headers=bearer(alice_token))
    # no CSRF page: the API is not a form
    assert response.status == 405
    assert "error" in await response.json()


async def test_cors__a_preflight_is_answered_for_any_origin(client):
    response = await client.options(
        "/api/v1/accounts/verify_credentials",
        headers={
            "Origin": "https://elk.zone",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


async def test_cors__answers_carry_the_headers_browser_apps_read(client, alice_token):
    response = await client.get(
        "/api/v1/accounts/verify_credentials",
        headers={**bearer(alice_token), "Origin": "https://elk.zone"},
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Link" in response.headers["Access-Control-Expose-Headers"]


async def test_cors__web_pages_get_none(client):
    response = await client.get("/about", headers={"Origin": "https://elk.zone"})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_status__a_listing_here_is_a_status_with_its_photo_and_tag(client, alice_token):
    # Given alice's offer with a photo, posted on the web
    response = await post_listing(
        client, {"kind": "give", "category": "tools", "title": "Cordless drill",
                 "alt_1": "A green drill"},
        photos=[("photo_1", "drill.jpg", photo_bytes())],
    )  # fmt: skip
    assert response.status == 303, await response.text()
    uid = URL(response.headers["Location"]).path.rpartition("/")[2]
    status_id = await client.app[POOL].fetchval(
        "SELECT status_id FROM listings WHERE uid = $1", uid
    )
    # When an app reads its status, with no token at all
    response = await client.get(f"/api/v1/statuses/{status_id}")
    # Then it is the listing: its readable HTML, photo with alt text, category, page
    assert response.status == 200
    body = await response.json()
    check("Status", body)
    assert body["id"] == str(status_id)
    assert "Cordless drill" in body["content"]
    assert body["url"] == f"http://localhost/listings/{uid}"
    assert [tag["name"] for tag in body["tags"]] == ["tools"]
    [photo] = body["media_attachments"]
    assert photo["description"] == "A green drill"
    assert photo["url"].startswith("http://localhost/media/")
    assert body["account"]["username"] == "alice"
    assert body["visibility"] == "public"


async def test_status__an_answer_is_a_direct_status_for_the_two_sides_only(make_client):
    # Given alice's listing, answered by bob on the web; carol is a third resident
    alice, bob, carol = await make_client(), await make_client(), await make_client()
    for browser, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        await register_and_login(browser, name)
    response = await post_listing(alice, {"title": "Spare chairs"})
    uid = URL(response.headers["Location"]).path.rpartition("/")[2]
    response = await post_form(
        bob,
        f"/listings/{uid}/answers",
        {"message": "Two, please?"},
        form_path=f"/listings/{uid}/answers",
        allow_redirects=False,
    )
    assert response.status == 303
    pool = alice.app[POOL]
    listing_status = await pool.fetchval("SELECT status_id FROM listings WHERE uid = $1", uid)
    message_status = await pool.fetchval("SELECT status_id FROM messages")
    path = f"/api/v1/statuses/{message_status}"
    # When each of them reads the answer's status through the API
    as_alice = await alice.get(path, headers=bearer(await token_for(alice.app, "alice")))
    as_carol = await carol.get(path, headers=bearer(await token_for(carol.app, "carol")))
    anonymous = await carol.get(path)
    # Then the listing's author sees bob's direct reply to her listing, mentioning her
    assert as_alice.status == 200
    body = await as_alice.json()
    check("Status", body)
    assert (body["visibility"], body["account"]["username"]) == ("direct", "bob")
    assert body["in_reply_to_id"] == str(listing_status)
    assert [m["username"] for m in body["mentions"]] == ["alice"]
    assert "Two, please?" in body["content"]
    # and nobody else learns that it exists
    assert (as_carol.status, anonymous.status) == (404, 404)
