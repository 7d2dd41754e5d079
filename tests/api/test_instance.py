"""What apps read first: the instance (v1 and v2) from the node's live settings, its rules
and peers, and the start-up endpoints with their scopes; the rate limit headers."""

from __future__ import annotations

from commonsfed import __version__
from commonsfed.web.keys import POOL
from tests.api.conftest import bearer, token_for
from tests.api.schema import check
from tests.builders import register_and_login

VERSION = f"4.3.0 (compatible; commonsfed {__version__})"


async def _remote_actor(pool, uri: str, domain: str) -> None:
    await pool.execute(
        """
        INSERT INTO remote_actors (uri, domain, type, preferred_username, inbox, key_id,
                                   public_key_pem, document)
        VALUES ($1, $2, 'Person', 'sam', $1 || '/inbox', $1 || '#main-key', 'pem', '{}')
        """,
        uri, domain,
    )  # fmt: skip


async def test_instance_v2__says_what_the_node_is(make_client):
    # Given an admin, alice, on a node that approves new accounts, with rules and a contact
    await register_and_login(await make_client(), "alice")
    client = await make_client(rules=("Be kind.", "Return what you borrow."),
                               contact_email="admin@elm.example", registration="approval")
    await client.app[POOL].execute("UPDATE accounts SET role = 'admin' WHERE username = 'alice'")
    response = await client.get("/api/v2/instance")
    assert response.status == 200
    body = await response.json()
    check("Instance", body)
    assert body["version"] == VERSION
    assert (body["domain"], body["title"]) == ("localhost", "Elm Street Commons")
    assert body["description"].startswith("Neighbours on Elm Street")
    assert [rule["text"] for rule in body["rules"]] == ["Be kind.", "Return what you borrow."]
    assert body["contact"]["email"] == "admin@elm.example"
    assert body["contact"]["account"]["username"] == "alice"
    assert body["registrations"] == {"enabled": True, "approval_required": True,
                                     "message": None, "url": None}  # fmt: skip
    limits = body["configuration"]
    assert limits["statuses"]["max_media_attachments"] == 4
    assert "image/jpeg" in limits["media_attachments"]["supported_mime_types"]
    assert limits["media_attachments"]["image_size_limit"] == 10 * 1024 * 1024
    assert limits["polls"]["max_options"] == 0
    assert limits["urls"]["streaming"] == "ws://localhost"
    assert body["api_versions"] == {"mastodon": 2}
    assert body["usage"]["users"]["active_month"] == 1


async def test_instance_v1__for_older_apps(client):
    response = await client.get("/api/v1/instance/")
    assert response.status == 200
    body = await response.json()
    check("InstanceV1", body)
    assert (body["uri"], body["version"]) == ("localhost", VERSION)
    assert body["urls"]["streaming_api"] == "ws://localhost"
    assert body["contact_account"] is None  # no admin yet
    assert body["registrations"] is True and body["approval_required"] is False


async def test_instance__follows_the_settings_an_admin_changes(make_client):
    client = await make_client(registration="closed")
    body = await (await client.get("/api/v2/instance")).json()
    assert body["registrations"]["enabled"] is False
    assert (await (await client.get("/api/v1/instance")).json())["registrations"] is False


async def test_instance_rules__numbered(make_client):
    client = await make_client(rules=("Be kind.",))
    response = await client.get("/api/v1/instance/rules")
    [rule] = await response.json()
    check("Rule", rule)
    assert (rule["id"], rule["text"]) == ("1", "Be kind.")


async def test_instance_peers__hide_suspended_domains(client):
    pool = client.app[POOL]
    await _remote_actor(pool, "https://south.example/users/sam", "south.example")
    await _remote_actor(pool, "https://bad.example/users/sam", "bad.example")
    await _remote_actor(pool, "https://limited.example/users/sam", "limited.example")
    await pool.execute("INSERT INTO domain_policies (domain, policy, severity) "
                       "VALUES ('bad.example', 'block', 'suspend'), "
                       "('limited.example', 'block', 'limit')")  # fmt: skip
    response = await client.get("/api/v1/instance/peers")
    assert await response.json() == ["limited.example", "south.example"]
    assert await (await client.get("/api/v1/instance/activity")).json() == []


async def test_start_up__public_endpoints_answer_empty_lists(client):
    for path in ("/api/v1/custom_emojis", "/api/v1/trends", "/api/v1/trends/tags",
                 "/api/v1/trends/statuses", "/api/v1/trends/links"):
        response = await client.get(path)
        assert (response.status, await response.json()) == (200, []), path


async def test_start_up__a_residents_endpoints_need_a_token_and_scope(client, alice_token):
    paths = ("/api/v1/filters", "/api/v2/filters", "/api/v1/lists", "/api/v1/announcements",
             "/api/v1/followed_tags", "/api/v2/suggestions")
    for path in paths:
        assert (await client.get(path)).status == 401, path
        response = await client.get(path, headers=bearer(alice_token))
        assert (response.status, await response.json()) == (200, []), path
    write_only = await token_for(client.app, "alice", scopes="write")
    for path in paths:
        assert (await client.get(path, headers=bearer(write_only))).status == 403, path


async def test_preferences__a_residents_defaults(client, alice_token):
    response = await client.get("/api/v1/preferences", headers=bearer(alice_token))
    body = await response.json()
    check("Preferences", body)
    assert body["posting:default:visibility"] == "public"
    assert body["posting:default:language"] is None
    assert body["reading:expand:media"] == "default"
    assert (await client.get("/api/v1/preferences")).status == 401


async def test_markers__saved_and_read_back(client, alice_token):
    # a form, as Mastodon.py posts it
    response = await client.post("/api/v1/markers", headers=bearer(alice_token),
                                 data={"home[last_read_id]": "103206604258487607"})
    assert response.status == 200
    # JSON, as browser apps post it
    response = await client.post("/api/v1/markers", headers=bearer(alice_token),
                                 json={"home": {"last_read_id": "103206604258487700"},
                                       "notifications": {"last_read_id": "35098814"}})
    assert response.status == 200
    response = await client.get("/api/v1/markers?timeline[]=home&timeline[]=notifications",
                                headers=bearer(alice_token))  # fmt: skip
    body = await response.json()
    check("Marker", body["home"])
    assert (body["home"]["last_read_id"], body["home"]["version"]) == ("103206604258487700", 2)
    assert body["notifications"]["last_read_id"] == "35098814"


async def test_markers__bad_input_is_422_and_saves_nothing(client, alice_token):
    for data in ({}, {"home[last_read_id]": "not-an-id"},
                 {"home[last_read_id]": "1", "notifications[last_read_id]": "x" * 50}):
        response = await client.post("/api/v1/markers", headers=bearer(alice_token), data=data)
        assert response.status == 422, data
    assert await client.app[POOL].fetchval("SELECT count(*) FROM api_markers") == 0
    read_only = await token_for(client.app, "alice", scopes="read")
    response = await client.post("/api/v1/markers", headers=bearer(read_only),
                                 data={"home[last_read_id]": "1"})
    assert response.status == 403


# --- rate limits ----------------------------------------------------------------------------------


async def test_rate_limit__every_answer_carries_the_headers(client, alice_token):
    first = await client.get("/api/v1/instance")
    second = await client.get("/api/v1/instance")
    assert first.headers["X-RateLimit-Limit"] == "300"
    remaining = int(first.headers["X-RateLimit-Remaining"])
    assert int(second.headers["X-RateLimit-Remaining"]) == remaining - 1
    assert first.headers["X-RateLimit-Reset"].endswith("Z")
    # errors too, and a token counts apart from its address
    error = await client.get("/api/v1/preferences")
    assert error.status == 401 and "X-RateLimit-Remaining" in error.headers
    mine = await client.get("/api/v1/preferences", headers=bearer(alice_token))
    assert mine.headers["X-RateLimit-Remaining"] == "299"


async def test_rate_limit__past_the_limit_is_429_with_retry_after(make_client):
    client = await make_client(api_rate_limit=3)
    statuses = [(await client.get("/api/v1/instance")).status for _ in range(3)]
    response = await client.get("/api/v1/instance")
    assert statuses == [200, 200, 200]
    assert response.status == 429
    assert await response.json() == {"error": "Too many requests"}
    assert 1 <= int(response.headers["Retry-After"]) <= 300
    assert response.headers["X-RateLimit-Remaining"] == "0"


async def test_rate_limit__registration_and_tokens_have_a_stricter_limit(make_client):
    client = await make_client(auth_rate_limit=2)
    form = {"client_name": "X", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}
    statuses = [(await client.post("/api/v1/apps", data=form)).status for _ in range(2)]
    assert statuses == [200, 200]
    assert (await client.post("/api/v1/apps", data=form)).status == 429
    token = await client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert token.status == 429
    assert token.headers["X-RateLimit-Limit"] == "2"
    # the rest of the API is still open to this address
    assert (await client.get("/api/v1/instance")).status == 200
