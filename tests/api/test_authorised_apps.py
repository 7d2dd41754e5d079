"""Settings, Authorised apps: a resident sees the apps they let in, and revokes one."""

from __future__ import annotations

from commonsfed.web.keys import POOL
from tests.api.conftest import bearer
from tests.api.oauth_flow import authorize_query, code_from_page, consent, register_app
from tests.builders import post_form, register_and_login


async def _authorised_token(client, app) -> str:
    # force_login: the consent page each time, for a token each time
    query = authorize_query(app, force_login="true")
    response = await consent(client, "/oauth/authorize?" + query)
    code = code_from_page(await response.text())
    response = await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": app["redirect_uri"]})  # fmt: skip
    return (await response.json())["access_token"]


async def test_apps_page__lists_what_each_app_may_do(client):
    await register_and_login(client, "alice")
    app = await register_app(client, website="https://toot.example")
    token = await _authorised_token(client, app)
    await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    page = await client.get("/settings/apps")
    text = await page.text()
    assert page.status == 200
    assert "Test app" in text and "https://toot.example" in text
    assert "<code>follow</code>" in text and "Revoke</button>" in text
    assert 'href="/settings/apps" aria-current="page"' in text
    assert "never" not in text  # it was used just now


async def test_apps_page__revoke_ends_every_token_of_the_app(client):
    await register_and_login(client, "alice")
    app = await register_app(client)
    first, second = await _authorised_token(client, app), await _authorised_token(client, app)
    app_id = await client.app[POOL].fetchval("SELECT id FROM oauth_apps")
    response = await post_form(client, "/settings/apps/revoke", {"app": str(app_id)},
                               form_path="/settings/apps")  # fmt: skip
    assert response.status == 200
    assert "can no longer use your account" in await response.text()
    for token in (first, second):
        me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
        assert me.status == 401
    assert "No app uses your account" in await (await client.get("/settings/apps")).text()


async def test_apps_page__cannot_revoke_another_residents_app(make_client):
    alice, bob = await make_client(), await make_client()
    await register_and_login(alice, "alice")
    await register_and_login(bob, "bob")
    app = await register_app(alice)
    token = await _authorised_token(alice, app)
    app_id = await alice.app[POOL].fetchval("SELECT id FROM oauth_apps")
    for value in (str(app_id), "not-a-number"):
        response = await post_form(bob, "/settings/apps/revoke", {"app": value},
                                   form_path="/settings/apps")  # fmt: skip
        assert response.status == 400, value
    me = await alice.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert me.status == 200


async def test_apps_page__needs_a_login(client):
    response = await client.get("/settings/apps", allow_redirects=False)
    assert response.status == 303
