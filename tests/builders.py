"""Builders and small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import asyncpg

from commonsfed.web.sessions import CSRF_FIELD

DEFAULT_PASSWORD = "correct horse battery"
# map tiles for tests: a loopback port nobody serves, so no page a test opens asks the
# Internet for them (see services.places and static/map.js)
LOOPBACK_TILES = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
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


async def server_fetchval(server_url: str, query: str):
    conn = await asyncpg.connect(server_url)
    try:
        return await conn.fetchval(query)
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


# --- listings ------------------------------------------------------------------------------

LISTING_DEFAULTS = {
    "purpose": "offer",
    "kind": "give",
    "title": "A bag of apples",
    "category": "food",
    "place": "Corner of Elm Street and Oak Lane",
}


def photo_bytes(
    fmt: str = "JPEG", size: tuple[int, int] = (800, 600), exif=None, color: str = "green"
) -> bytes:
    """A small real image, made with Pillow (JPEG can carry `exif`, a PIL.Image.Exif)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    image = Image.new("RGBA" if fmt == "PNG" else "RGB", size, color)
    image.save(out, fmt, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


async def post_listing(
    client,
    fields: dict | None = None,
    photos=(),
    *,
    path: str = "/listings/new",
    form_path: str | None = None,
):
    """POST the listing form as a browser does: multipart, with the form page's CSRF token.

    `photos`: (field, filename, bytes) tuples, e.g. ("photo_1", "drill.jpg", photo_bytes()),
    with alt texts as fields ("alt_1"). Returns the response without following redirects.
    """
    import aiohttp

    values = {**LISTING_DEFAULTS, **(fields or {})}
    page = await client.get(
        form_path or f"/listings/new?purpose={values['purpose']}&kind={values['kind']}"
    )
    data = aiohttp.FormData(default_to_multipart=True)
    data.add_field(CSRF_FIELD, csrf_from(await page.text()))
    for name, value in values.items():
        data.add_field(name, str(value))
    for field, filename, content in photos:
        data.add_field(field, content, filename=filename, content_type="application/octet-stream")
    return await client.post(path, data=data, allow_redirects=False)


# --- profiles ------------------------------------------------------------------------------


async def post_profile(client, fields: dict[str, str], avatar: bytes | None = None,
                       *, csrf: bool = True):  # fmt: skip
    """POST the profile form (/settings/profile) as a browser does: multipart, with the form
    page's CSRF token (left out with csrf=False). Returns the response; when the profile is
    saved, the page it redirects to, as a browser follows it."""
    import aiohttp

    page = await (await client.get("/settings/profile")).text()
    data = aiohttp.FormData(default_to_multipart=True)
    if csrf:
        data.add_field(CSRF_FIELD, csrf_from(page))
    for name, value in fields.items():
        data.add_field(name, value)
    if avatar is not None:
        data.add_field("avatar", avatar, filename="me.jpg", content_type="image/jpeg")
    response = await client.post("/settings/profile", data=data, allow_redirects=False)
    if response.status == 303:  # saved: the page it goes to says so once (web.flash)
        return await client.get(response.headers["Location"])
    return response
