"""OAuth 2 as Mastodon offers it: app registration, the authorize page (login first, then
consent), codes with PKCE, the token endpoint's grants, revocation, the server metadata,
and what each refuses."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from commonsfed.web.keys import POOL
from tests.api.conftest import bearer
from tests.api.oauth_flow import (
    OOB,
    authorize_query,
    code_from_page,
    consent,
    pkce_pair,
    query_of,
    register_app,
)
from tests.api.schema import check
from tests.builders import DEFAULT_PASSWORD, post_form, register_and_login

CALLBACK = "https://app.example/callback"


async def _token(client, app, **data):
    body = {"client_id": app["client_id"], "client_secret": app["client_secret"], **data}
    return await client.post("/oauth/token", data=body)


async def _code(client, app, redirect_uri=CALLBACK, **more):
    """alice (logged in) authorises `app`; the code from the redirect."""
    response = await consent(client, "/oauth/authorize?" + authorize_query(app, redirect_uri,
                                                                           **more))  # fmt: skip
    assert response.status == 302, await response.text()
    return query_of(response.headers["Location"])["code"]


# --- registration -----------------------------------------------------------------------------


async def test_apps__a_form_registers_an_app_with_its_secret(client):
    response = await client.post("/api/v1/apps", data={
        "client_name": "Tusky", "redirect_uris": f"{CALLBACK}\n{OOB}", "scopes": "read write",
        "website": "https://tusky.app",
    })  # fmt: skip
    assert response.status == 200
    body = await response.json()
    check("CredentialApplication", body)
    assert body["name"] == "Tusky" and body["website"] == "https://tusky.app"
    assert body["redirect_uris"] == [CALLBACK, OOB]
    assert body["scopes"] == ["read", "write"]
    # the secret is kept hashed: the database never holds it
    stored = await client.app[POOL].fetchval("SELECT client_secret_hash FROM oauth_apps")
    assert body["client_secret"].encode() not in bytes(stored)


async def test_apps__json_with_an_array_of_redirect_uris(client):
    response = await client.post("/api/v1/apps/", json={
        "client_name": "Elk", "redirect_uris": [CALLBACK, "elk://callback"], "scopes": "read",
    })  # fmt: skip
    assert response.status == 200
    assert (await response.json())["redirect_uris"] == [CALLBACK, "elk://callback"]


async def test_apps__without_scopes_gets_read(client):
    body = await register_app(client, scopes="")
    assert body["scopes"] == ["read"]


async def test_apps__an_unknown_scope_is_422(client):
    response = await client.post("/api/v1/apps", data={
        "client_name": "X", "redirect_uris": OOB, "scopes": "read delete:everything"})
    assert response.status == 422
    assert "delete:everything" in (await response.json())["error"]


async def test_apps__bad_redirect_uris_are_422(client):
    for uris in ("", "/relative/path", "https://app.example/cb#fragment", "javascript:alert(1)"):
        response = await client.post("/api/v1/apps", data={
            "client_name": "X", "redirect_uris": uris, "scopes": "read"})
        assert response.status == 422, uris
        assert "redirect_uris" in (await response.json())["error"]


async def test_apps__without_a_name_is_422(client):
    response = await client.post("/api/v1/apps", data={"redirect_uris": OOB})
    assert response.status == 422
    assert "client_name" in (await response.json())["error"]


async def test_apps__verify_credentials_names_the_tokens_app(client):
    app = await register_app(client, scopes="read")
    token = (await (await _token(client, app, grant_type="client_credentials")).json())
    response = await client.get("/api/v1/apps/verify_credentials",
                                headers=bearer(token["access_token"]))  # fmt: skip
    assert response.status == 200
    body = await response.json()
    check("Application", body)
    assert body["name"] == "Test app" and "client_secret" not in body
    assert (await client.get("/api/v1/apps/verify_credentials")).status == 401


# --- the authorize page ------------------------------------------------------------------------


async def test_authorize__asks_a_visitor_to_log_in_first_and_comes_back(client):
    # Given an app, and a visitor who has an account but is not logged in
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    await client.post("/logout", data={})
    client.session.cookie_jar.clear()
    path = "/oauth/authorize?" + authorize_query(app, CALLBACK, state="xyz")
    # When they open the authorize page
    response = await client.get(path, allow_redirects=False)
    # Then they are sent to log in, and back here afterwards, query and all
    assert response.status == 303
    login_url = response.headers["Location"]
    back = query_of(login_url)["next"]
    assert back.startswith("/oauth/authorize?")
    assert query_of(back) == query_of(path)
    page = await client.get(login_url)
    assert f'value="{back.replace("&", "&amp;")}"' in await page.text()
    response = await post_form(client, "/login", {
        "username": "alice", "password": DEFAULT_PASSWORD, "next": back}, form_path=login_url)
    assert response.status == 200
    assert "Authorise Test app?" in await response.text()


async def test_authorize__the_consent_page_names_the_app_and_its_scopes(client):
    app = await register_app(client, redirect_uris=CALLBACK, website="https://app.example")
    await register_and_login(client, "alice")
    page = await client.get("/oauth/authorize?" + authorize_query(app, CALLBACK, "read write"))
    text = await page.text()
    assert page.status == 200
    assert "Test app" in text and "https://app.example" in text
    assert "read everything on your account" in text and "<code>write</code>" in text
    assert "Authorise</button>" in text and "Deny</button>" in text
    # the form may go on to the app's address (browsers apply form-action to the redirect)
    assert "form-action 'self' https://app.example" in page.headers["Content-Security-Policy"]


async def test_authorize__authorising_redirects_with_a_code_and_the_state(client):
    app = await register_app(client, redirect_uris=CALLBACK + "?from=app")
    await register_and_login(client, "alice")
    response = await consent(client, "/oauth/authorize?" + authorize_query(
        app, CALLBACK + "?from=app", state="s t&ate"))  # fmt: skip
    assert response.status == 302
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?from=app&code=")
    assert query_of(location)["state"] == "s t&ate"
    # kept hashed, for ten minutes
    row = await client.app[POOL].fetchrow(
        "SELECT code_hash, expires_at - created_at AS lifetime FROM oauth_codes")
    assert query_of(location)["code"].encode() not in bytes(row["code_hash"])
    assert row["lifetime"].total_seconds() == 600


async def test_authorize__deny_redirects_with_access_denied(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    response = await consent(client, "/oauth/authorize?" + authorize_query(
        app, CALLBACK, state="abc"), decision="deny")  # fmt: skip
    assert response.status == 302
    query = query_of(response.headers["Location"])
    assert (query["error"], query["state"]) == ("access_denied", "abc")
    assert "code" not in query


async def test_authorize__out_of_band_shows_the_code_to_copy(client):
    app = await register_app(client)
    await register_and_login(client, "alice")
    response = await consent(client, "/oauth/authorize?" + authorize_query(app))
    assert response.status == 200
    code = code_from_page(await response.text())
    token = await _token(client, app, grant_type="authorization_code", code=code,
                         redirect_uri=OOB)  # fmt: skip
    assert token.status == 200


async def test_authorize__an_unknown_client_is_a_page_not_a_redirect(client):
    await register_and_login(client, "alice")
    response = await client.get("/oauth/authorize?" + urlencode({
        "client_id": "nope", "redirect_uri": CALLBACK, "response_type": "code"}),
        allow_redirects=False)  # fmt: skip
    assert response.status == 400
    assert "text/html" in response.content_type
    assert "unknown client_id" in await response.text()


async def test_authorize__a_redirect_uri_not_registered_exactly_is_never_used(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    for wrong in (CALLBACK + "/", CALLBACK + "?x=1", "https://evil.example/callback"):
        response = await client.get("/oauth/authorize?" + authorize_query(app, wrong),
                                    allow_redirects=False)  # fmt: skip
        assert response.status == 400, wrong
        assert "Location" not in response.headers
        assert "did not register" in await response.text()


async def test_authorize__a_scope_the_app_did_not_register_goes_back_as_invalid_scope(client):
    app = await register_app(client, redirect_uris=CALLBACK, scopes="read")
    await register_and_login(client, "alice")
    response = await client.get("/oauth/authorize?" + authorize_query(
        app, CALLBACK, "read write", state="q"), allow_redirects=False)  # fmt: skip
    assert response.status == 302
    query = query_of(response.headers["Location"])
    assert (query["error"], query["state"]) == ("invalid_scope", "q")


async def test_authorize__an_unknown_scope_is_invalid_scope(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    response = await client.get("/oauth/authorize?" + authorize_query(
        app, CALLBACK, "read launch:rockets"), allow_redirects=False)  # fmt: skip
    assert query_of(response.headers["Location"])["error"] == "invalid_scope"


async def test_authorize__a_granular_scope_within_the_apps_is_allowed(client):
    app = await register_app(client, redirect_uris=CALLBACK, scopes="read write")
    await register_and_login(client, "alice")
    code = await _code(client, app, scope="read:accounts")
    token = await _token(client, app, grant_type="authorization_code", code=code,
                         redirect_uri=CALLBACK)  # fmt: skip
    assert (await token.json())["scope"] == "read:accounts"


async def test_authorize__response_type_other_than_code_is_refused(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    query = authorize_query(app, CALLBACK).replace("response_type=code", "response_type=token")
    response = await client.get("/oauth/authorize?" + query, allow_redirects=False)
    assert query_of(response.headers["Location"])["error"] == "unsupported_response_type"


async def test_authorize__pkce_plain_or_no_method_is_refused(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    _verifier, challenge = pkce_pair()
    for method in ({"code_challenge_method": "plain"}, {}):
        response = await client.get("/oauth/authorize?" + authorize_query(
            app, CALLBACK, code_challenge=challenge, **method), allow_redirects=False)  # fmt: skip
        query = query_of(response.headers["Location"])
        assert query["error"] == "invalid_request", method
        assert "S256" in query["error_description"]


async def test_authorize__the_consent_form_needs_its_csrf_token(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    response = await client.post("/oauth/authorize", data={
        "client_id": app["client_id"], "redirect_uri": CALLBACK, "response_type": "code",
        "scope": "read", "decision": "authorize"}, allow_redirects=False)  # fmt: skip
    assert response.status == 403
    assert await client.app[POOL].fetchval("SELECT count(*) FROM oauth_codes") == 0


# --- the token endpoint ---------------------------------------------------------------------------


async def test_token__a_code_with_its_pkce_verifier_is_a_token(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    verifier, challenge = pkce_pair()
    code = await _code(client, app, code_challenge=challenge, code_challenge_method="S256")
    response = await _token(client, app, grant_type="authorization_code", code=code,
                            redirect_uri=CALLBACK, code_verifier=verifier)  # fmt: skip
    assert response.status == 200
    body = await response.json()
    check("Token", body)
    assert (body["token_type"], body["scope"]) == ("Bearer", "read write follow")
    assert response.headers["Cache-Control"] == "no-store"
    me = await client.get("/api/v1/accounts/verify_credentials",
                          headers=bearer(body["access_token"]))  # fmt: skip
    assert (await me.json())["username"] == "alice"


async def test_token__a_wrong_or_missing_code_verifier_is_invalid_grant(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    for verifier in ("x" * 50, None):
        _right, challenge = pkce_pair()
        code = await _code(client, app, code_challenge=challenge, code_challenge_method="S256")
        extra = {"code_verifier": verifier} if verifier else {}
        response = await _token(client, app, grant_type="authorization_code", code=code,
                                redirect_uri=CALLBACK, **extra)  # fmt: skip
        assert response.status == 400
        body = await response.json()
        assert body["error"] == "invalid_grant" and "code_verifier" in body["error_description"]


async def test_token__a_code_used_twice_is_refused_the_second_time(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    code = await _code(client, app)
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    assert (await _token(client, app, **exchange)).status == 200
    again = await _token(client, app, **exchange)
    assert again.status == 400
    assert (await again.json())["error"] == "invalid_grant"


async def test_token__an_expired_code_is_refused(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    code = await _code(client, app)
    await client.app[POOL].execute("UPDATE oauth_codes SET expires_at = now() - interval '1 s'")
    response = await _token(client, app, grant_type="authorization_code", code=code,
                            redirect_uri=CALLBACK)  # fmt: skip
    assert (response.status, (await response.json())["error"]) == (400, "invalid_grant")


async def test_token__another_redirect_uri_or_another_app_cannot_use_the_code(client):
    app = await register_app(client, redirect_uris=f"{CALLBACK} {OOB}")
    other = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    code = await _code(client, app)
    wrong_uri = await _token(client, app, grant_type="authorization_code", code=code,
                             redirect_uri=OOB)  # fmt: skip
    assert (await wrong_uri.json())["error"] == "invalid_grant"
    code = await _code(client, app)
    wrong_app = await _token(client, other, grant_type="authorization_code", code=code,
                             redirect_uri=CALLBACK)  # fmt: skip
    assert (await wrong_app.json())["error"] == "invalid_grant"


async def test_token__without_the_client_secret_is_invalid_client(client):
    app = await register_app(client)
    for body in ({"client_id": app["client_id"]},
                 {"client_id": app["client_id"], "client_secret": "wrong"}):
        response = await client.post("/oauth/token",
                                     data={**body, "grant_type": "client_credentials"})
        assert response.status == 401
        assert (await response.json())["error"] == "invalid_client"


async def test_token__client_credentials_in_http_basic_and_json(client):
    app = await register_app(client, scopes="read write")
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    response = await client.post("/oauth/token", json={"grant_type": "client_credentials",
                                 "scope": "read"}, headers={"Authorization": f"Basic {basic}"})
    assert response.status == 200
    token = (await response.json())["access_token"]
    # an app's own token reads the public API, but speaks for nobody
    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert me.status == 422


async def test_token__an_unknown_grant_type_is_refused(client):
    app = await register_app(client)
    response = await _token(client, app, grant_type="implicit")
    assert (await response.json())["error"] == "unsupported_grant_type"
    response = await _token(client, app)
    assert (await response.json())["error"] == "invalid_request"


async def test_token__the_password_grant_is_off_by_default(client):
    app = await register_app(client)
    await register_and_login(client, "alice")
    response = await _token(client, app, grant_type="password", username="alice",
                            password="correct horse battery", scope="read")  # fmt: skip
    assert response.status == 400
    assert (await response.json())["error"] == "unsupported_grant_type"
    metadata = await (await client.get("/.well-known/oauth-authorization-server")).json()
    assert "password" not in metadata["grant_types_supported"]


async def test_token__the_password_grant_when_the_node_allows_it(make_client):
    client = await make_client(oauth_password_grant=True)
    app = await register_app(client)
    await register_and_login(client, "alice")
    by_name = await _token(client, app, grant_type="password", username="alice",
                           password="correct horse battery", scope="read")  # fmt: skip
    assert by_name.status == 200
    # Mastodon asks apps for the e-mail address
    by_email = await _token(client, app, grant_type="password", username="alice@example.org",
                            password="correct horse battery", scope="read")  # fmt: skip
    assert by_email.status == 200
    wrong = await _token(client, app, grant_type="password", username="alice",
                         password="wrong", scope="read")  # fmt: skip
    assert (wrong.status, (await wrong.json())["error"]) == (400, "invalid_grant")
    metadata = await (await client.get("/.well-known/oauth-authorization-server")).json()
    assert "password" in metadata["grant_types_supported"]


async def test_token__password_guesses_are_throttled_like_the_login_page(make_client):
    client = await make_client(oauth_password_grant=True)
    app = await register_app(client)
    await register_and_login(client, "alice")
    statuses = []
    for _ in range(12):
        response = await _token(client, app, grant_type="password", username="alice",
                                password="wrong", scope="read")  # fmt: skip
        statuses.append(response.status)
    assert statuses[0] == 400 and statuses[-1] == 429
    right = await _token(client, app, grant_type="password", username="alice",
                         password="correct horse battery", scope="read")  # fmt: skip
    assert right.status == 429


# --- revocation and metadata --------------------------------------------------------------------


async def test_revoke__ends_the_token(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    code = await _code(client, app)
    token = (await (await _token(client, app, grant_type="authorization_code", code=code,
                                 redirect_uri=CALLBACK)).json())["access_token"]  # fmt: skip
    response = await client.post("/oauth/revoke", data={
        "client_id": app["client_id"], "client_secret": app["client_secret"], "token": token})
    assert (response.status, await response.json()) == (200, {})
    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert me.status == 401


async def test_revoke__another_apps_token_is_left_alone(client):
    app = await register_app(client)
    other = await register_app(client)
    token = (await (await _token(client, app, grant_type="client_credentials")).json())
    response = await client.post("/oauth/revoke", data={
        "client_id": other["client_id"], "client_secret": other["client_secret"],
        "token": token["access_token"]})  # fmt: skip
    assert (response.status, await response.json()) == (200, {})
    still = await client.get("/api/v1/apps/verify_credentials",
                             headers=bearer(token["access_token"]))  # fmt: skip
    assert still.status == 200
    unproven = await client.post("/oauth/revoke", data={"client_id": app["client_id"],
                                                        "token": token["access_token"]})
    assert unproven.status == 401


async def test_metadata__as_mastodon_serves_it(client):
    response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status == 200
    body = await response.json()
    assert body["issuer"] == "http://localhost/"
    assert body["authorization_endpoint"] == "http://localhost/oauth/authorize"
    assert body["token_endpoint"] == "http://localhost/oauth/token"
    assert body["revocation_endpoint"] == "http://localhost/oauth/revoke"
    assert body["app_registration_endpoint"] == "http://localhost/api/v1/apps"
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["grant_types_supported"] == ["authorization_code", "client_credentials"]
    assert {"read", "write:statuses", "follow", "push"} <= set(body["scopes_supported"])
    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_password_grant__an_admin_turns_it_on_while_the_node_runs(client):
    # Given an admin, and an app, on a node started with the password grant off
    await register_and_login(client, "alice")
    await client.app[POOL].execute("UPDATE accounts SET role = 'admin' WHERE username = 'alice'")
    app = await register_app(client)
    login = {"grant_type": "password", "username": "alice", "password": DEFAULT_PASSWORD}
    assert (await _token(client, app, **login)).status == 400
    # When the admin switches it on in the node's settings
    page = await client.get("/admin/settings")
    assert 'name="oauth_password_grant"' in await page.text()
    response = await post_form(client, "/admin/settings", {
        "instance_name": "Elm Street Commons", "instance_description": "Elm Street shares.",
        "rules": "", "contact_email": "", "registration": "open", "federation": "open",
        "group_follows": "auto", "oauth_password_grant": "true"})  # fmt: skip
    assert response.status == 200
    # Then apps may use it at once, and the metadata says so
    assert (await _token(client, app, **login)).status == 200
    metadata = await (await client.get("/.well-known/oauth-authorization-server")).json()
    assert "password" in metadata["grant_types_supported"]


async def test_token__a_code_used_twice_ends_the_token_it_gave(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    code = await _code(client, app)
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    token = (await (await _token(client, app, **exchange)).json())["access_token"]
    assert (await _token(client, app, **exchange)).status == 400
    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert me.status == 401


async def test_token__a_refused_try_uses_the_code_up(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    verifier, challenge = pkce_pair()
    code = await _code(client, app, code_challenge=challenge, code_challenge_method="S256")
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    assert (await _token(client, app, **exchange, code_verifier="y" * 43)).status == 400
    right = await _token(client, app, **exchange, code_verifier=verifier)
    assert (right.status, (await right.json())["error"]) == (400, "invalid_grant")


async def test_authorize__a_challenge_that_is_no_s256_digest_or_a_method_alone(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    for pkce in ({"code_challenge": "short", "code_challenge_method": "S256"},
                 {"code_challenge_method": "S256"}):
        response = await client.get("/oauth/authorize?" + authorize_query(app, CALLBACK, **pkce),
                                    allow_redirects=False)  # fmt: skip
        assert query_of(response.headers["Location"])["error"] == "invalid_request", pkce


async def test_authorize__a_bad_client_is_told_before_any_login(client):
    response = await client.get("/oauth/authorize?" + urlencode({
        "client_id": "nope", "redirect_uri": CALLBACK, "response_type": "code"}),
        allow_redirects=False)  # fmt: skip
    assert response.status == 400
    assert "Location" not in response.headers


async def test_token__a_body_that_is_not_json_is_invalid_request(client):
    response = await client.post("/oauth/token", data=b"{not json",
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert (await response.json())["error"] == "invalid_request"


async def test_login__comes_back_only_to_a_path_of_this_site(client):
    await register_and_login(client, "alice")
    await client.post("/logout", data={})
    client.session.cookie_jar.clear()
    for sneaky in ("//evil.example/x", "/\t/evil.example", "/\\evil.example", "/\n/evil.example",
                   "https://evil.example/"):
        page = await client.get("/login?" + urlencode({"next": sneaky}))
        response = await post_form(client, "/login", {
            "username": "alice", "password": DEFAULT_PASSWORD, "next": sneaky},
            form_path="/login", allow_redirects=False)  # fmt: skip
        assert response.status == 303, sneaky
        assert response.headers["Location"] == "/", sneaky
        assert "evil" not in await page.text()
        await client.post("/logout", data={})
        client.session.cookie_jar.clear()


async def test_authorize__an_app_granted_before_gets_its_code_without_the_consent_page(client):
    # Given alice let the app read and write, and it has its token
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    code = await _code(client, app, scope="read write")
    assert (await _token(client, app, grant_type="authorization_code", code=code,
                         redirect_uri=CALLBACK)).status == 200  # fmt: skip

    # When the app asks again for as much or less
    again = await client.get("/oauth/authorize?" + authorize_query(
        app, CALLBACK, scope="read", state="two"), allow_redirects=False)  # fmt: skip

    # Then it goes straight back to the app with a code that works, as Mastodon does
    assert again.status == 302, await again.text()
    back = query_of(again.headers["Location"])
    assert back["state"] == "two"
    token = await _token(client, app, grant_type="authorization_code", code=back["code"],
                         redirect_uri=CALLBACK)  # fmt: skip
    assert (await token.json())["scope"] == "read"
    # but asking for more, or with force_login, shows the consent page
    for query in ({"scope": "read write follow"}, {"scope": "read", "force_login": "true"}):
        page = await client.get("/oauth/authorize?" + authorize_query(app, CALLBACK, **query))
        assert page.status == 200 and 'name="decision"' in await page.text()


async def test_authorize__after_the_resident_revoked_the_app_asks_again(client):
    app = await register_app(client, redirect_uris=CALLBACK)
    await register_and_login(client, "alice")
    code = await _code(client, app)
    body = await (await _token(client, app, grant_type="authorization_code", code=code,
                               redirect_uri=CALLBACK)).json()  # fmt: skip
    revoked = await client.post("/oauth/revoke", data={
        "client_id": app["client_id"], "client_secret": app["client_secret"],
        "token": body["access_token"]})  # fmt: skip
    assert revoked.status == 200

    page = await client.get("/oauth/authorize?" + authorize_query(app, CALLBACK))

    assert page.status == 200 and 'name="decision"' in await page.text()
