"""Fixtures for the client API tests: a resident's bearer token, made the way the token
endpoint makes one (services.oauth), and a client that sends it."""

from __future__ import annotations

import pytest

from commonsfed.services import oauth
from commonsfed.web.keys import POOL
from tests.builders import register_and_login


async def token_for(app, username: str | None, scopes: str = "read write follow push") -> str:
    """A token of a new app for the resident `username` (None: the app's own token)."""
    pool = app[POOL]
    registered, _secret = await oauth.register_app(
        pool, "Test app", ["urn:ietf:wg:oauth:2.0:oob"], scopes.split()
    )
    account_id = None
    if username is not None:
        account_id = await pool.fetchval("SELECT id FROM accounts WHERE username = $1", username)
        assert account_id is not None, f"no resident {username}"
    async with pool.acquire() as conn:
        return await oauth.issue_token(conn, registered.id, account_id, scopes.split())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def alice_token(client):
    """A token for the resident alice, whom `client` (a browser) is logged in as."""
    await register_and_login(client, "alice")
    return await token_for(client.app, "alice")
