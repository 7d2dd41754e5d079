"""Helpers for the statuses, media, favourites and bookmarks tests: residents with tokens,
statuses posted through the API."""

from __future__ import annotations

import aiohttp

from commonsfed.services import accounts
from commonsfed.web.keys import POOL, SETTINGS
from tests.api.conftest import bearer, token_for
from tests.builders import DEFAULT_PASSWORD, photo_bytes

DRILL = "#offer #lend #tools Cordless drill\nWith two batteries.\nWhere: Elm Street 4"


async def resident(app, name: str, scopes: str = "read write follow push") -> dict[str, str]:
    """A new resident `name` (confirmed by an admin) and the headers of a token of theirs."""
    await accounts.register(app[POOL], app[SETTINGS], username=name, email=f"{name}@example.org",
                            password=DEFAULT_PASSWORD, by_admin=True)  # fmt: skip
    return bearer(await token_for(app, name, scopes))


async def upload(client, headers, content: bytes | None = None, description: str = "A photo",
                 path: str = "/api/v2/media"):  # fmt: skip
    data = aiohttp.FormData()
    data.add_field("file", content if content is not None else photo_bytes(),
                   filename="photo.jpg", content_type="image/jpeg")  # fmt: skip
    data.add_field("description", description)
    return await client.post(path, data=data, headers=headers)


async def post_status(client, headers, status: str = DRILL, **params):
    return await client.post("/api/v1/statuses", json={"status": status, **params},
                             headers=headers)  # fmt: skip


async def posted(client, headers, status: str = DRILL, **params) -> dict:
    response = await post_status(client, headers, status, **params)
    assert response.status == 200, await response.text()
    return await response.json()
