"""Local actors: residents, the instance actor and the neighbourhood's Group actor."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from commonsfed.ap.actors import LocalActor
from commonsfed.ap.collections import PAGE_SIZE
from commonsfed.ap.discovery import Usage
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import actors as q
from commonsfed.db import profiles as profiles_q
from commonsfed.federation.keys import GROUP, INSTANCE, node_keys
from commonsfed.services.errors import ServiceError
from commonsfed.services.profiles import resident_actor


class ActorNotFound(ServiceError):
    pass


class ActorGone(ServiceError):
    """The resident left (deleted their account) or was suspended: their id answers 410."""

    def __init__(self, message: str, uri: str, deleted_at: datetime | None = None) -> None:
        super().__init__(message)
        self.uri = uri
        self.deleted_at = deleted_at


def local_uris(settings: Settings) -> LocalUris:
    return LocalUris(settings.base_url)


async def instance_actor(pool: asyncpg.Pool, settings: Settings) -> LocalActor:
    uris = local_uris(settings)
    _, public = await node_keys(pool, INSTANCE)
    return LocalActor(
        uri=uris.instance_actor, type="Application", username=settings.domain,
        name=settings.instance_name, summary="The node itself: it signs the node's requests.",
        public_key_pem=public, url=settings.base_url, published=None,
        manually_approves_followers=True, discoverable=False,
    )


async def group_actor(pool: asyncpg.Pool, settings: Settings) -> LocalActor:
    uris = local_uris(settings)
    _, public = await node_keys(pool, GROUP)
    handle = settings.neighbourhood_handle
    return LocalActor(
        uri=uris.user(handle), type="Group", username=handle, name=settings.instance_name,
        summary=settings.instance_description, public_key_pem=public, url=settings.base_url,
        # with group_follows "manual", another node's Follow waits for an admin (and peers
        # show it as a locked account, as Mastodon shows manuallyApprovesFollowers)
        published=None, manually_approves_followers=settings.group_follows == "manual",
    )


async def local_actor(pool: asyncpg.Pool, settings: Settings, username: str) -> LocalActor:
    """The actor at /users/<username>; ActorNotFound or ActorGone otherwise."""
    if username.lower() == settings.neighbourhood_handle:
        return await group_actor(pool, settings)
    async with pool.acquire() as conn:
        row = await q.get_account_profile(conn, username)
    uris = local_uris(settings)
    if row is not None and row["status"] in ("deleted", "suspended"):
        # before the key: a deleted account's is erased once its farewell is delivered
        raise ActorGone(
            f"@{row['username']} has left this node.", uris.user(row["username"]), row["deleted_at"]
        )
    if row is None or row["status"] == "pending" or not row["public_key_pem"]:
        raise ActorNotFound(f"There is no one called {username} here.")
    uris = local_uris(settings)
    if row is not None and row["status"] in ("deleted", "suspended"):
        # before the key: a deleted account's is erased once its farewell is delivered
        raise ActorGone(
            f"@{row['username']} has left this node.", uris.user(row["username"]), row["deleted_at"]
        )
    if row is None or row["status"] == "pending" or not row["public_key_pem"]:
        raise ActorNotFound(f"There is no one called {username} here.")
    async with pool.acquire() as conn:
        profile = await profiles_q.get_profile(conn, row["id"])
    return resident_actor(settings, row, profile)


async def follows_collection(
    pool: asyncpg.Pool, actor_uri: str, direction: str, page: int | None
) -> tuple[int, list[str]]:
    async with pool.acquire() as conn:
        total = await q.count_follows(conn, actor_uri, direction)
        items = [] if page is None else await q.follows_page(
            conn, actor_uri, direction, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return total, items


async def outbox_collection(
    pool: asyncpg.Pool, actor_uri: str, page: int | None, group: bool = False
) -> tuple[int, list[dict]]:
    """An actor's public activities; the Group's leave out its Announces of listings by
    residents the moderators limited or suspended (services.account_actions)."""
    async with pool.acquire() as conn:
        total = await q.count_outbox(conn, actor_uri, group)
        items = [] if page is None else await q.outbox_page(
            conn, actor_uri, PAGE_SIZE, (page - 1) * PAGE_SIZE, group)
    return total, items


async def usage(pool: asyncpg.Pool, settings: Settings) -> Usage:
    async with pool.acquire() as conn:
        row = await q.usage(conn, settings.base_url)
    return Usage(row["total"], row["month"], row["halfyear"], row["posts"])


