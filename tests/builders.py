"""Builders and small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import asyncpg

from commonsfed.web.sessions import CSRF_FIELD

DEFAULT_PASSWORD = "correct horse battery"
TEST_SECRET = "test-secret-" + "x" * 40
_TOKEN_RE = re.compile(rf'name="{CSRF_FIELD}" value="([^"]+)"')


def run_sync(coro):
    """Run a coroutine to the end on a thread of its own, whatever loop the caller is in."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def server_execute(server_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def csrf_from(html: str) -> str:
    match = _TOKEN_RE.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


async def post_form(client, path: str, data: dict, form_path: str | None = None, **kwargs):
    """POST a form the way a browser does: load the page first, send its CSRF token back."""
    page = await client.get(form_path or path)
    token = csrf_from(await page.text())
    return await client.post(path, data={CSRF_FIELD: token, **data}, **kwargs)


async def register(client, username: str, password: str = DEFAULT_PASSWORD, email: str | None = None):
    return await post_form(client, "/register", {
        "username": username, "email": email or f"{username}@example.org", "password": password,
    })


async def register_and_login(client, username: str, password: str = DEFAULT_PASSWORD):
    response = await register(client, username, password)
    assert response.status == 200, await response.text()
    assert f"@{username}" in await response.text()
    return response


async def log_in(client, username: str, password: str = DEFAULT_PASSWORD):
    return await post_form(client, "/login", {"username": username, "password": password})
