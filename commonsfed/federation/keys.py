"""Key pairs for local actors, and the node's own actors' keys kept in the database."""

from __future__ import annotations

import asyncio

import asyncpg

from commonsfed import signatures
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import actors as q

INSTANCE, GROUP = "instance", "group"


async def new_key_pair() -> tuple[str, str]:
    """(private PEM, public PEM) for a new actor; RSA generation takes a while, so in a thread."""

    def generate() -> tuple[str, str]:
        key = signatures.generate_private_key()
        return signatures.private_key_to_pem(key), signatures.public_key_to_pem(key)

    return await asyncio.to_thread(generate)


async def node_keys(pool: asyncpg.Pool, role: str) -> tuple[str, str]:
    """(private PEM, public PEM) of the instance or group actor, made on first use."""
    async with pool.acquire() as conn:
        keys = await q.get_node_keys(conn, role)
        if keys is None:
            private, public = await new_key_pair()
            await q.insert_node_keys(conn, role, private, public)
            keys = await q.get_node_keys(conn, role)
    return keys


class NoSigningKey(Exception):
    """The actor is not local, or has no key (suspended, or left the node and its farewell
    has been delivered)."""


async def signing_key_pem(conn: asyncpg.Connection, settings: Settings, actor_uri: str) -> str:
    """The private key (PEM) a local actor signs its deliveries with."""
    uris = LocalUris(settings.base_url)
    if actor_uri == uris.instance_actor:
        return await _node_key(conn, INSTANCE)
    username = uris.local_username(actor_uri)
    if username == settings.neighbourhood_handle:
        return await _node_key(conn, GROUP)
    pem = await q.get_private_key_of_username(conn, username) if username else None
    if pem is None:
        raise NoSigningKey(f"{actor_uri} is not a local actor with a key")
    return pem


async def _node_key(conn: asyncpg.Connection, role: str) -> str:
    keys = await q.get_node_keys(conn, role)
    if keys is None:
        raise NoSigningKey(f"the {role} actor has no key yet")
    return keys[0]
