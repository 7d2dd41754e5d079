"""What the client API tells apps about the node: its name, rules, limits, contact and
whom it federates with, from the live settings (so an admin's change shows at once)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from commonsfed.ap.discovery import Usage
from commonsfed.config import Settings
from commonsfed.db import instance as q
from commonsfed.services import actors, api_accounts, photos
from commonsfed.services.api_accounts import AccountView

# what the node takes in a listing's status and its photos (services.photos)
MAX_CHARACTERS = 5000
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


@dataclass(frozen=True)
class InstanceView:
    settings: Settings
    usage: Usage
    contact: AccountView | None
    domain_count: int

    @property
    def max_media(self) -> int:
        return photos.MAX_PHOTOS

    @property
    def max_image_bytes(self) -> int:
        return photos.MAX_UPLOAD_BYTES

    @property
    def max_image_pixels(self) -> int:
        return photos.MAX_PIXELS


async def instance(pool: asyncpg.Pool, settings: Settings) -> InstanceView:
    usage = await actors.usage(pool, settings)
    async with pool.acquire() as conn:
        admin_id = await q.first_admin_id(conn)
        domain_count = len(await q.peers(conn))
    contact = None
    if admin_id is not None:
        contact = await api_accounts.account_by_id(pool, settings, admin_id)
    return InstanceView(settings, usage, contact, domain_count)


async def peers(pool: asyncpg.Pool) -> list[str]:
    async with pool.acquire() as conn:
        return await q.peers(conn)
