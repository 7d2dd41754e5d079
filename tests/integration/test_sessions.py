"""Sessions and CSRF tokens are made only when a page prints a form.

Every response used to mint a CSRF token, so each one (an inbox's answer to a peer too)
created a session and set an encrypted cookie. The token is now made when a template prints
it, and a request without a session cookie never loads one.
"""

from __future__ import annotations

import re

from commonsfed.web.sessions import COOKIE_NAME, CSRF_FIELD
from tests.builders import csrf_from, log_in, register

TOKENS = re.compile(rf'name="{CSRF_FIELD}" value="([^"]+)"')


async def test_inbox_answer__sets_no_session_cookie(client):
    activity = b'{"id": "http://south.test/a/1", "type": "Like", "actor": "http://south.test/u/a"}'
    response = await client.post(
        "/inbox", data=activity, headers={"Content-Type": "application/activity+json"}
    )

    assert response.status == 401  # unsigned
    assert "Set-Cookie" not in response.headers


async def test_json_error__sets_no_session_cookie(client):
    response = await client.get("/no/such/page", headers={"Accept": "application/json"})

    assert response.status == 404 and "Set-Cookie" not in response.headers


async def test_page_without_a_form__sets_no_session_cookie(client):
    response = await client.get("/")

    assert response.status == 200 and "Set-Cookie" not in response.headers


async def test_page_with_a_form__sets_the_session_cookie_with_its_token(client):
    page = await client.get("/login")

    assert csrf_from(await page.text())
    assert COOKIE_NAME in page.cookies


async def test_page_with_several_forms__prints_one_token(client):
    # Given a resident, logged in (the navigation's log-out form) on a page of forms
    await register(client, "alice")
    await log_in(client, "alice")

    page = await client.get("/follows")

    tokens = TOKENS.findall(await page.text())
    assert len(tokens) > 1 and len(set(tokens)) == 1


async def test_token_of_a_page__is_the_one_the_next_form_needs(client):
    # Given a token printed by one page, and a later page that prints one too
    first = csrf_from(await (await client.get("/login")).text())
    second = csrf_from(await (await client.get("/register")).text())

    # Then the session kept the first token: pages do not invalidate each other's forms
    assert first == second
